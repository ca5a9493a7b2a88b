package hpa

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetricsv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Converter turns the Kubernetes objects a controller holds for one HPA
// (the HPA from an informer, the pods its target selects from a pod
// informer, the metrics APIs' answers) into Evaluate's Spec and Input, sync
// after sync, without converting again what has not changed and without
// allocating per pod in the steady state.
//
// A controller keeps one Converter per HPA and, at every sync, calls Spec,
// then Pods, then one of ResourceMetric, PodsMetric, ObjectMetric or
// ExternalMetric per spec metric, and passes the results to Evaluate. The
// results give the same Evaluate outcome as SpecFromV2, PodsFromV1 and the
// other converters on the same objects.
//
// Caching is exact: a converted pod is reused only while its UID and
// resourceVersion are unchanged (the API server changes resourceVersion on
// every write; informers never modify their objects), and the converted
// spec only while the HPA's UID and resourceVersion are. Objects without a
// UID or resourceVersion (hand-built ones) are converted every time. Pods
// not listed in a sync are forgotten, so the cache holds at most the pods
// of the last sync.
//
// The returned slices and Spec are owned by the Converter: they stay valid
// until the next call of the same method (for the metric methods, with the
// same index) and must not be modified. The zero Converter is ready to use.
// A Converter is not safe for concurrent use.
type Converter struct {
	spec    Spec
	specKey cvKey
	specErr error

	pods    []Pod
	byName  map[string]*cvEntry
	order   []*cvEntry // the cached pods in the order Pods returns them
	sync    uint64
	layout  uint64 // changes whenever Pods' result changes its names or order
	hadDups bool   // the last result carried duplicate names at its end
	// templates are container lists already handed out: pods of one
	// template share one, which lets Evaluate compute their request once.
	templates [][]Container

	// memo maps a metrics list's index to a pod position: metrics lists
	// name the same pods in the same order sync after sync, and one list
	// often serves two metrics (cpu and memory).
	memoNames  []string
	memoPos    []int32
	memoLayout uint64

	usage cvUsage

	present  []bool
	inputs   [][]PodSample
	values   [][]int64
	extra    map[string]int
	extraLst []PodSample
}

// cvUsage holds the per-pod sums of several resources read from one
// resource metrics listing in one pass, so that a second metric on the same
// listing in the same sync (memory after cpu) reads no map again.
type cvUsage struct {
	sync  uint64
	first *metricsv1beta1.PodMetrics
	n     int
	conts []*metricsv1beta1.ContainerMetrics // each item's first container: the identity check
	res   []corev1.ResourceName              // the resources summed, learned from the calls
	vals  []int64                            // vals[j*len(res)+r]
	ok    []bool
}

// cvMaxFused bounds how many resources one pass sums.
const cvMaxFused = 8

type cvKey struct {
	uid types.UID
	rv  string
}

// cvEntry is one cached pod, found by name; key says which object version
// pod was converted from.
type cvEntry struct {
	name  string
	key   cvKey
	pod   Pod
	seen  uint64 // the sync in which the pod was last listed
	fresh uint64 // the sync in which it was last converted
	pos   int    // its index in that sync's result
}

func cacheable(uid types.UID, rv string) bool { return uid != "" && rv != "" }

// Spec converts h.Spec as SpecFromV2 does, reusing the previous result
// while h's UID and resourceVersion are unchanged. A nil h is refused like
// an empty spec would not be: it returns an error wrapping ErrInvalidSpec.
func (c *Converter) Spec(h *autoscalingv2.HorizontalPodAutoscaler) (Spec, error) {
	if h == nil {
		return Spec{}, &cvFieldError{msg: "spec: Required value: nil HorizontalPodAutoscaler"}
	}
	k := cvKey{h.UID, h.ResourceVersion}
	if cacheable(k.uid, k.rv) && k == c.specKey {
		return c.spec, c.specErr
	}
	c.spec, c.specErr = SpecFromV2(h.Spec)
	c.specKey = cvKey{}
	if cacheable(k.uid, k.rv) {
		c.specKey = k
	}
	return c.spec, c.specErr
}

// Pods converts the pods the target's selector matches, as a pod lister
// returns them (nil entries are skipped). Each pod is converted as PodFromV1
// does, or taken from the cache when its UID and resourceVersion are those
// it was converted from.
//
// The result is in a stable order: pods seen in earlier syncs keep their
// relative order, new ones follow in list order. A lister's order is that
// of a map and changes from call to call, so upstream's order is no more
// defined than this one; the arithmetic does not depend on it (only which
// pod a "missing request" error names, when several lack one).
func (c *Converter) Pods(list []*corev1.Pod) []Pod {
	if c.byName == nil {
		c.byName = make(map[string]*cvEntry, len(list))
	}
	c.sync++
	var dups []Pod
	live, added := 0, false
	for _, p := range list {
		if p == nil {
			continue
		}
		e := c.byName[p.Name]
		if e != nil && e.seen == c.sync {
			// The same name twice in one list (not possible within one
			// namespace): converted afresh and put last; as
			// PodSamplesFromMetrics does, only the first occurrence gets
			// the name's sample.
			dups = append(dups, PodFromV1(p))
			continue
		}
		if e == nil {
			e = &cvEntry{name: p.Name}
			c.byName[p.Name] = e
			c.order = append(c.order, e)
			added = true
		}
		k := cvKey{p.UID, p.ResourceVersion}
		if !cacheable(k.uid, k.rv) || e.key != k {
			e.pod = PodFromV1(p)
			e.pod.Containers = c.shareContainers(e.pod.Containers)
			e.key = k
			if !cacheable(k.uid, k.rv) {
				e.key = cvKey{}
			}
			e.fresh = c.sync
		}
		e.seen = c.sync
		live++
	}
	if len(c.byName) > live {
		// Forget the pods not listed this time.
		kept := c.order[:0]
		for _, e := range c.order {
			if e.seen == c.sync {
				kept = append(kept, e)
			} else {
				delete(c.byName, e.name)
			}
		}
		clear(c.order[len(kept):])
		c.order = kept
		added = true
	}
	if !added && len(dups) == 0 && !c.hadDups && len(c.pods) == len(c.order) {
		// Same pods in the same places: rewrite only the reconverted ones.
		for _, e := range c.order {
			if e.fresh == c.sync {
				c.pods[e.pos] = e.pod
			}
		}
		return c.pods
	}
	out := c.pods[:0]
	for _, e := range c.order {
		e.pos = len(out)
		out = append(out, e.pod)
	}
	out = append(out, dups...)
	c.hadDups = len(dups) > 0
	c.layout++
	c.pods = out
	return out
}

// cvMaxTemplates bounds the container lists kept for sharing.
const cvMaxTemplates = 8

// shareContainers returns an equal container list handed out before, or
// keeps cs as one.
func (c *Converter) shareContainers(cs []Container) []Container {
	for _, t := range c.templates {
		if containersEqual(t, cs) {
			return t
		}
	}
	if len(cs) > 0 {
		if len(c.templates) == cvMaxTemplates {
			copy(c.templates, c.templates[1:])
			c.templates = c.templates[:cvMaxTemplates-1]
		}
		c.templates = append(c.templates, cs)
	}
	return cs
}

func containersEqual(a, b []Container) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Name != y.Name || x.Sidecar != y.Sidecar || len(x.Requests) != len(y.Requests) {
			return false
		}
		for j := range x.Requests {
			if x.Requests[j] != y.Requests[j] {
				return false
			}
		}
	}
	return true
}

// ResourceMetric converts a resource metrics API (metrics.k8s.io) listing
// into the MetricInput of the Resource or ContainerResource metric at index
// i of the spec, read as PodSamplesFromMetrics reads it and matched against
// the pods of the last Pods call. Listed is len(list). i selects the reused
// buffer; indexes outside [0, 1024) get a fresh one.
func (c *Converter) ResourceMetric(i int, list []metricsv1beta1.PodMetrics, resource ResourceName, container string) MetricInput {
	slots := c.resetSlots(i, len(list))
	res := corev1.ResourceName(resource)
	if container != "" {
		for j := range list {
			m := &list[j]
			if v, ok := cvPodUsage(m, res, container); ok {
				c.place(j, PodSample{Pod: m.Name, Value: v, Timestamp: m.Timestamp.Time, Window: m.Window.Duration}, slots)
			}
		}
		return MetricInput{Samples: c.collect(i, slots), Listed: len(list)}
	}
	r := c.usage.read(c.sync, list, res)
	u := &c.usage
	k := len(u.res)
	for j := range list {
		if x := j*k + r; u.ok[x] {
			m := &list[j]
			c.place(j, PodSample{Pod: m.Name, Value: u.vals[x], Timestamp: m.Timestamp.Time, Window: m.Window.Duration}, slots)
		}
	}
	return MetricInput{Samples: c.collect(i, slots), Listed: len(list)}
}

// PodsMetric converts a Pods metric read from the custom metrics API
// (custom.metrics.k8s.io) into the MetricInput of the metric at index i, as
// PodSamplesFromCustomMetrics does, ordered like the pods of the last Pods
// call.
func (c *Converter) PodsMetric(i int, list []custommetricsv1beta2.MetricValue) MetricInput {
	slots := c.resetSlots(i, len(list))
	for j := range list {
		v := &list[j]
		w := cvDefaultCustomWindow
		if v.WindowSeconds != nil {
			w = time.Duration(*v.WindowSeconds) * time.Second
		}
		c.place(j, PodSample{Pod: v.DescribedObject.Name, Value: v.Value.MilliValue(), Timestamp: v.Timestamp.Time, Window: w}, slots)
	}
	return MetricInput{Samples: c.collect(i, slots)}
}

// ObjectMetric converts the value of an Object metric, as
// ObjectInputFromCustomMetric does. It allocates nothing.
func (c *Converter) ObjectMetric(v *custommetricsv1beta2.MetricValue) MetricInput {
	if v == nil {
		return MetricInput{}
	}
	return ObjectInputFromCustomMetric(*v)
}

// ExternalMetric converts the series an External metric at index i
// returned, as ExternalInputFromMetrics does, into a reused buffer.
// Indexes outside [0, 1024) get a fresh buffer.
func (c *Converter) ExternalMetric(i int, list []externalmetricsv1beta1.ExternalMetricValue) MetricInput {
	if len(list) == 0 {
		return MetricInput{}
	}
	var vals []int64
	if reusable(i) {
		for len(c.values) <= i {
			c.values = append(c.values, nil)
		}
		vals = c.values[i][:0]
	}
	for j := range list {
		vals = append(vals, list[j].Value.MilliValue())
	}
	if reusable(i) {
		c.values[i] = vals
	}
	return MetricInput{Values: vals, Timestamp: list[0].Timestamp.Time}
}

// read makes sure u holds res summed over the containers of every item of
// list (the sum PodSamplesFromMetrics takes for a Resource metric) and
// returns its column. The sums are reused while the sync is the same and
// list is the same listing: same first element, same length, and each
// item's containers the same slice (a newly decoded listing has new ones).
// Otherwise every resource asked for so far is summed again in one pass
// over the listing, so the usage maps are read once per sync.
func (u *cvUsage) read(sync uint64, list []metricsv1beta1.PodMetrics, res corev1.ResourceName) int {
	r := -1
	for i, x := range u.res {
		if x == res {
			r = i
		}
	}
	if r >= 0 && u.same(sync, list) {
		return r
	}
	if r < 0 {
		if len(u.res) == cvMaxFused {
			u.res = u.res[:0]
		}
		u.res = append(u.res, res)
		r = len(u.res) - 1
	}
	u.sync, u.n = sync, len(list)
	u.first = nil
	if len(list) > 0 {
		u.first = &list[0]
	}
	u.conts = u.conts[:0]
	u.vals = u.vals[:0]
	u.ok = u.ok[:0]
	for j := range list {
		m := &list[j]
		var first *metricsv1beta1.ContainerMetrics
		if len(m.Containers) > 0 {
			first = &m.Containers[0]
		}
		u.conts = append(u.conts, first)
		for _, name := range u.res {
			v, ok := cvPodUsage(m, name, "")
			u.vals = append(u.vals, v)
			u.ok = append(u.ok, ok)
		}
	}
	return r
}

func (u *cvUsage) same(sync uint64, list []metricsv1beta1.PodMetrics) bool {
	if u.sync != sync || u.n != len(list) || len(list) == 0 || u.first != &list[0] {
		return false
	}
	for j := range list {
		var first *metricsv1beta1.ContainerMetrics
		if len(list[j].Containers) > 0 {
			first = &list[j].Containers[0]
		}
		if u.conts[j] != first {
			return false
		}
	}
	return true
}

// resetSlots returns the sample buffer of metric i with one empty slot per
// pod of the last Pods call, and readies the list-index memo for a list of
// n items.
func (c *Converter) resetSlots(i, n int) []PodSample {
	np := len(c.pods)
	var slots []PodSample
	if reusable(i) {
		for len(c.inputs) <= i {
			c.inputs = append(c.inputs, nil)
		}
		slots = c.inputs[i]
	}
	if cap(slots) < np {
		slots = make([]PodSample, np, np+np/8)
	}
	slots = slots[:np]
	clear(slots)
	if cap(c.present) < np {
		c.present = make([]bool, np)
	}
	c.present = c.present[:np]
	clear(c.present)
	clear(c.extra)
	c.extraLst = c.extraLst[:0]
	if c.memoLayout != c.layout {
		c.memoNames, c.memoPos, c.memoLayout = c.memoNames[:0], c.memoPos[:0], c.layout
	}
	for len(c.memoNames) < n {
		c.memoNames = append(c.memoNames, "")
		c.memoPos = append(c.memoPos, -1)
	}
	return slots
}

// place records smp, item j of its list, for the pod it names: the last
// one listed wins, as upstream's map; a name that is not a listed pod is
// kept aside, in first-seen order, as a superfluous sample upstream also
// counts. The position of item j is remembered while the pods' layout
// holds, so a list naming the same pods in the same order as before is
// matched without a map lookup.
func (c *Converter) place(j int, smp PodSample, slots []PodSample) {
	name := smp.Pod
	pos := -1
	if c.memoNames[j] == name && c.memoPos[j] >= 0 {
		pos = int(c.memoPos[j])
	} else if e := c.byName[name]; e != nil && e.seen == c.sync && e.pos < len(slots) {
		pos = e.pos
		c.memoNames[j], c.memoPos[j] = e.name, int32(pos)
	}
	if pos >= 0 {
		slots[pos], c.present[pos] = smp, true
		return
	}
	if k, ok := c.extra[name]; ok {
		c.extraLst[k] = smp
		return
	}
	if c.extra == nil {
		c.extra = make(map[string]int)
	}
	c.extra[name] = len(c.extraLst)
	c.extraLst = append(c.extraLst, smp)
}

// collect lays the samples out as Evaluate matches them in one pass: the
// pods' order first (pods without a sample skipped), then the superfluous
// ones. It compacts slots, the buffer of metric i, in place.
func (c *Converter) collect(i int, slots []PodSample) []PodSample {
	w := 0
	for pos := range slots {
		if c.present[pos] {
			if w != pos {
				slots[w] = slots[pos]
			}
			w++
		}
	}
	clear(slots[w:])
	out := append(slots[:w], c.extraLst...)
	if reusable(i) {
		c.inputs[i] = out
	}
	return out
}

// cvMaxIndex bounds the metric indexes that get a reused buffer; others
// (negative, or absurd) get a fresh one.
const cvMaxIndex = 1024

func reusable(i int) bool { return i >= 0 && i < cvMaxIndex }
