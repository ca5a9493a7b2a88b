package hpa

import (
	"errors"
	"fmt"
	"math"
)

// calcResult is one per-pod metric's outcome: the proposal and the values
// upstream reports in the status.
type calcResult struct {
	replicas    int32
	utilization int32 // percent of request (Utilization targets)
	raw         int64 // average value in milli-units
}

// Upstream's replica-calculator errors.
var (
	errNoPods            = errors.New("no pods returned by selector while calculating replica count")
	errNoTargeted        = errors.New("did not receive metrics for targeted pods (pods might be unready)")
	errNoKnownPods       = errors.New("no metrics returned matched known pods")
	errNoAPIMetrics      = errors.New("no metrics returned from resource metrics API")
	errNoCustomMetrics   = errors.New("no metrics returned from custom metrics API")
	errNoExternalMetrics = errors.New("no metrics returned from external metrics API")
)

// sampleIndex finds pods' samples. Samples listed in pod order (the layout
// the converters produce, missing pods simply skipped) are matched by a single
// forward walk with no allocation; any other order falls back to a map.
type sampleIndex struct {
	samples []PodSample
	next    int
	byName  map[string]int
}

func (x *sampleIndex) find(name string) *PodSample {
	if x.byName != nil {
		if k, ok := x.byName[name]; ok {
			// A sample goes to one pod: a name listed twice (impossible
			// within a namespace) takes it once, as in the walk below.
			delete(x.byName, name)
			return &x.samples[k]
		}
		return nil
	}
	if x.next < len(x.samples) && x.samples[x.next].Pod == name {
		x.next++
		return &x.samples[x.next-1]
	}
	return nil
}

// podScan is what upstream's groupPods and its metric maps amount to, as
// sums: ready pods' samples, the superfluous samples of pods not listed, and
// the requests the fill-in step needs.
type podScan struct {
	ready, unready, missing int
	matched                 int   // listed pods that have a sample
	unmatched               int   // listed pods the lookup found no sample for
	matchedUsage            int64 // Σ of their samples
	readyUsage, readyReq    int64
	missingReq, missingFill int64 // Σ requests, Σ request×fallback/100 of missing pods
	unreadyReq              int64
	superCount              int
	superUsage              int64
	reqErr                  error // first missing request, in pod order
}

// scanPods classifies every listed pod and sums what the calculation needs.
// withRequests also reads requests (Utilization targets) and fallback is the
// percentage of its request a missing pod is assumed to use on a scale-down.
func scanPods(c *Config, in *Input, samples []PodSample, res ResourceName, container string, withRequests bool, fallback int64) podScan {
	x := sampleIndex{samples: samples}
	s := scanWith(c, in, &x, res, container, withRequests, fallback)
	if s.unmatched > 0 && x.next < len(samples) {
		// Not in pod order: a pod the walk found no sample for (counted
		// missing, or unready or ignored, whose sample upstream drops) may
		// own a later sample.
		x = sampleIndex{samples: samples, byName: make(map[string]int, len(samples))}
		for i := range samples {
			x.byName[samples[i].Pod] = i
		}
		s = scanWith(c, in, &x, res, container, withRequests, fallback)
	}
	var all int64
	for i := range samples {
		all += samples[i].Value
	}
	s.superCount, s.superUsage = len(samples)-s.matched, all-s.matchedUsage
	return s
}

func scanWith(c *Config, in *Input, x *sampleIndex, res ResourceName, container string, withRequests bool, fallback int64) podScan {
	var s podScan
	cpu := res == ResourceCPU
	initCut := in.Now.Add(-c.CPUInitializationPeriod)
	// Pods built from one template often share their container list; a
	// request computed for one such list holds for the next pod using it.
	var memo requestMemo
	for i := range in.Pods {
		p := &in.Pods[i]
		smp := x.find(p.Name)
		if smp != nil {
			s.matched++
			s.matchedUsage += smp.Value
		} else {
			s.unmatched++
		}
		var req int64
		if withRequests && s.reqErr == nil {
			if v, ok := memo.get(p); ok {
				req = v
			} else {
				var err error
				if req, err = podRequest(c, p, res, container); err != nil {
					s.reqErr = err
				} else {
					memo.set(p, req)
				}
			}
		}
		switch classifyAt(c, in.Now, initCut, p, smp, cpu) {
		case podReady:
			s.ready++
			s.readyUsage += smp.Value
			s.readyReq += req
		case podUnready:
			s.unready++
			s.unreadyReq += req
		case podMissing:
			s.missing++
			s.missingReq += req
			s.missingFill += req * fallback / 100
		}
	}
	return s
}

// requestMemo remembers the request computed for one pod's container and
// pod-level request slices (the same backing arrays mean the same values).
type requestMemo struct {
	conts   *Container
	ncont   int
	podReq  *Quantity
	npodReq int
	value   int64
	valid   bool
}

func (m *requestMemo) key(p *Pod) (*Container, int, *Quantity, int) {
	var c *Container
	var q *Quantity
	if len(p.Containers) > 0 {
		c = &p.Containers[0]
	}
	if len(p.PodRequests) > 0 {
		q = &p.PodRequests[0]
	}
	return c, len(p.Containers), q, len(p.PodRequests)
}

func (m *requestMemo) get(p *Pod) (int64, bool) {
	if !m.valid {
		return 0, false
	}
	c, n, q, k := m.key(p)
	if c == nil || c != m.conts || n != m.ncont || q != m.podReq || k != m.npodReq {
		return 0, false
	}
	return m.value, true
}

func (m *requestMemo) set(p *Pod, v int64) {
	m.conts, m.ncont, m.podReq, m.npodReq = m.key(p)
	m.value, m.valid = v, true
}

// podRequest is a pod's request of res, as upstream's calculateRequests: the
// named container's; with the gate on, no container named and pod-level
// requests set, the pod's requests as PodFromV1 computed them (a resource
// missing there fails the metric); otherwise the sum over the containers and
// sidecars, where a container without the request fails the metric.
func podRequest(c *Config, p *Pod, res ResourceName, container string) (int64, error) {
	if container == "" && c.PodLevelResources && len(p.PodRequests) > 0 {
		if v, ok := p.PodRequests.Get(res); ok {
			return v, nil
		}
		return 0, fmt.Errorf("missing pod-level request for %s in Pod %s", res, p.Name)
	}
	var sum int64
	found := false
	for i := range p.Containers {
		ct := &p.Containers[i]
		if container != "" && ct.Name != container {
			continue
		}
		found = true
		v, ok := ct.Requests.Get(res)
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", res, ct.Name, p.Name)
		}
		sum += v
	}
	if container != "" && !found {
		return 0, fmt.Errorf("container %s not found in Pod %s", container, p.Name)
	}
	return sum, nil
}

// utilizationReplicas is upstream's GetResourceReplicas (Utilization targets).
func utilizationReplicas(c *Config, tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input, res ResourceName) (calcResult, error) {
	if err := resourceFetchErr(m, res); err != nil {
		return calcResult{}, err
	}
	if len(in.Pods) == 0 {
		return calcResult{}, errNoPods
	}
	target := int64(spec.Target.AverageUtilization)
	s := scanPods(c, in, m.Samples, res, spec.Container, true, max(100, target))
	if s.ready+s.superCount <= 0 {
		return calcResult{}, errNoTargeted
	}
	if s.reqErr != nil {
		return calcResult{}, s.reqErr
	}
	if s.readyReq == 0 {
		return calcResult{}, errNoKnownPods
	}
	util := int32(s.readyUsage * 100 / s.readyReq)
	ratio := float64(util) / float64(target)
	out := calcResult{replicas: in.SpecReplicas, utilization: util, raw: s.readyUsage / int64(s.ready)}

	withUnready := s.unready > 0 && ratio > 1
	if !withUnready && s.missing == 0 {
		if !tol.isWithin(ratio) {
			out.replicas = clampInt32(math.Ceil(ratio * float64(s.ready)))
		}
		return out, nil
	}
	usage, req, n := s.readyUsage, s.readyReq, s.ready+s.superCount
	if s.missing > 0 && ratio != 1 {
		req, n = req+s.missingReq, n+s.missing
		if ratio < 1 {
			usage += s.missingFill
		}
	}
	if withUnready {
		req, n = req+s.unreadyReq, n+s.unready
	}
	if req == 0 {
		// Only negative requests (which the API server refuses) get here;
		// upstream's second GetResourceUtilizationRatio fails the same way.
		return calcResult{}, errNoKnownPods
	}
	newRatio := float64(int32(usage*100/req)) / float64(target)
	out.replicas = recheck(tol, in.SpecReplicas, ratio, newRatio, n)
	return out, nil
}

// rawResourceReplicas is upstream's GetRawResourceReplicas (AverageValue on a resource).
func rawResourceReplicas(c *Config, tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input, res ResourceName) (calcResult, error) {
	if err := resourceFetchErr(m, res); err != nil {
		return calcResult{}, err
	}
	return plainReplicas(c, tol, m, in, res, spec.Target.AverageValue)
}

func resourceFetchErr(m *MetricInput, res ResourceName) error {
	switch {
	case m.Err != nil:
		return fmt.Errorf("unable to get metrics for resource %s: %w", res, m.Err)
	case len(m.Samples) == 0 && m.Listed == 0:
		// The API returned no item at all. Items that gave no usable sample
		// (a container or resource missing) go on, and end in errNoTargeted.
		return fmt.Errorf("unable to get metrics for resource %s: %w", res, errNoAPIMetrics)
	}
	return nil
}

// plainReplicas is upstream's calcPlainMetricReplicas: averages with no
// requests (Pods metrics, resource AverageValue). res selects the CPU
// readiness rules; Pods metrics pass "".
func plainReplicas(c *Config, tol Tolerances, m *MetricInput, in *Input, res ResourceName, target int64) (calcResult, error) {
	if len(in.Pods) == 0 {
		return calcResult{}, errNoPods
	}
	s := scanPods(c, in, m.Samples, res, "", false, 0)
	n := s.ready + s.superCount
	if n <= 0 {
		return calcResult{}, errNoTargeted
	}
	total := s.readyUsage + s.superUsage
	usage := total / int64(n)
	ratio := float64(usage) / float64(target)
	out := calcResult{replicas: in.SpecReplicas, raw: usage}

	withUnready := s.unready > 0 && ratio > 1
	if !withUnready && s.missing == 0 {
		if !tol.isWithin(ratio) {
			out.replicas = clampInt32(math.Ceil(ratio * float64(s.ready)))
		}
		return out, nil
	}
	if s.missing > 0 && ratio != 1 {
		n += s.missing
		if ratio < 1 {
			total += target * int64(s.missing)
		}
	}
	if withUnready {
		n += s.unready
	}
	newRatio := float64(total/int64(n)) / float64(target)
	out.replicas = recheck(tol, in.SpecReplicas, ratio, newRatio, n)
	return out, nil
}

// recheck is the second look after filling in missing and unready pods: keep
// the current count when the new ratio is within tolerance, flips direction,
// or would move the count the wrong way (the rolling-update surge guard).
func recheck(tol Tolerances, current int32, ratio, newRatio float64, n int) int32 {
	if tol.isWithin(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current
	}
	replicas := clampInt32(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) {
		return current
	}
	return replicas
}
