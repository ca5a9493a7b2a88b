package hpa

import (
	"fmt"
	"slices"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetricsv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// cvDefaultCustomWindow is the window upstream's custom metrics client
// assumes for a value that reports none (metricServerDefaultMetricWindow).
const cvDefaultCustomWindow = time.Minute

// SpecFromV2 converts an autoscaling/v2 HPA spec into a Spec. Quantities
// become milli-units (Quantity.MilliValue), tolerances floats
// (AsApproximateFloat64), selectors the %+v text upstream prints in metric
// names. An empty metric list gets the API server's default,
// DefaultMetrics (cpu utilization 80 %); the other defaults are Evaluate's.
// A metric whose source struct is nil for its type, or a target value set
// to zero or less (which a Spec cannot hold, 0 meaning unset), is refused
// with an error wrapping ErrInvalidSpec, worded as the API server words it;
// a metric of an unknown type is kept for Validate (and Evaluate) to report.
func SpecFromV2(s autoscalingv2.HorizontalPodAutoscalerSpec) (Spec, error) {
	out := Spec{MinReplicas: cvCopyInt32(s.MinReplicas), MaxReplicas: s.MaxReplicas}
	if len(s.Metrics) == 0 {
		out.Metrics = DefaultMetrics()
	} else {
		out.Metrics = make([]MetricSpec, len(s.Metrics))
	}
	for i := range s.Metrics {
		m, field := cvMetricFromV2(&s.Metrics[i])
		if field != "" {
			return Spec{}, &cvFieldError{msg: fmt.Sprintf("spec.metrics[%d].%s: Required value: must populate information for the given metric source", i, field)}
		}
		if msg := cvTargetProblem(&s.Metrics[i]); msg != "" {
			return Spec{}, &cvFieldError{msg: fmt.Sprintf("spec.metrics[%d].%s", i, msg)}
		}
		out.Metrics[i] = m
	}
	if b := s.Behavior; b != nil {
		out.Behavior = &Behavior{ScaleUp: cvRulesFromV2(b.ScaleUp), ScaleDown: cvRulesFromV2(b.ScaleDown)}
	}
	return out, nil
}

// cvTargetProblem words the API server's error for a target value that is
// set but not positive (its path below spec.metrics[i]), or returns "".
func cvTargetProblem(m *autoscalingv2.MetricSpec) string {
	var src string
	var t *autoscalingv2.MetricTarget
	switch {
	case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
		src, t = "resource", &m.Resource.Target
	case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
		src, t = "containerResource", &m.ContainerResource.Target
	case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
		src, t = "pods", &m.Pods.Target
	case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
		src, t = "object", &m.Object.Target
	case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
		src, t = "external", &m.External.Target
	default:
		return ""
	}
	switch {
	case t.Value != nil && t.Value.Sign() != 1:
		return fmt.Sprintf("%s.target.value: Invalid value: %s: must be positive", src, t.Value.String())
	case t.AverageValue != nil && t.AverageValue.Sign() != 1:
		return fmt.Sprintf("%s.target.averageValue: Invalid value: %s: must be positive", src, t.AverageValue.String())
	case t.AverageUtilization != nil && *t.AverageUtilization < 1:
		return fmt.Sprintf("%s.target.averageUtilization: Invalid value: %d: must be greater than 0", src, *t.AverageUtilization)
	}
	return ""
}

// cvMetricFromV2 converts one metric; on a missing source it returns the
// name of the missing field instead.
func cvMetricFromV2(m *autoscalingv2.MetricSpec) (MetricSpec, string) {
	out := MetricSpec{Type: MetricSourceType(m.Type)}
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if m.Resource == nil {
			return out, "resource"
		}
		out.Name, out.Target = string(m.Resource.Name), cvTargetFromV2(m.Resource.Target)
	case autoscalingv2.ContainerResourceMetricSourceType:
		c := m.ContainerResource
		if c == nil {
			return out, "containerResource"
		}
		out.Name, out.Container, out.Target = string(c.Name), c.Container, cvTargetFromV2(c.Target)
	case autoscalingv2.PodsMetricSourceType:
		if m.Pods == nil {
			return out, "pods"
		}
		cvIdentify(&out, m.Pods.Metric, m.Pods.Target)
	case autoscalingv2.ObjectMetricSourceType:
		o := m.Object
		if o == nil {
			return out, "object"
		}
		cvIdentify(&out, o.Metric, o.Target)
		out.Object = ObjectReference{APIVersion: o.DescribedObject.APIVersion, Kind: o.DescribedObject.Kind, Name: o.DescribedObject.Name}
	case autoscalingv2.ExternalMetricSourceType:
		if m.External == nil {
			return out, "external"
		}
		cvIdentify(&out, m.External.Metric, m.External.Target)
	}
	return out, ""
}

func cvIdentify(out *MetricSpec, id autoscalingv2.MetricIdentifier, t autoscalingv2.MetricTarget) {
	out.Name, out.Selector, out.Target = id.Name, cvSelectorString(id.Selector), cvTargetFromV2(t)
}

// cvSelectorString renders a selector as upstream's %+v does in metric names
// and messages (the generated String method); nil renders as "", which the
// arithmetic prints as "nil".
func cvSelectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return ""
	}
	return s.String()
}

func cvTargetFromV2(t autoscalingv2.MetricTarget) MetricTarget {
	out := MetricTarget{Type: MetricTargetType(t.Type)}
	if t.Value != nil {
		out.Value = t.Value.MilliValue()
	}
	if t.AverageValue != nil {
		out.AverageValue = t.AverageValue.MilliValue()
	}
	if t.AverageUtilization != nil {
		out.AverageUtilization = *t.AverageUtilization
	}
	return out
}

func cvRulesFromV2(r *autoscalingv2.HPAScalingRules) *ScalingRules {
	if r == nil {
		return nil
	}
	out := &ScalingRules{StabilizationWindowSeconds: cvCopyInt32(r.StabilizationWindowSeconds)}
	if r.SelectPolicy != nil {
		sp := SelectPolicy(*r.SelectPolicy)
		out.SelectPolicy = &sp
	}
	// nil stays nil ("use the defaults"); an empty list stays empty, which
	// Validate refuses as the API server does.
	if r.Policies != nil {
		out.Policies = make([]Policy, len(r.Policies))
		for i, p := range r.Policies {
			out.Policies[i] = Policy{Type: PolicyType(p.Type), Value: p.Value, PeriodSeconds: p.PeriodSeconds}
		}
	}
	if r.Tolerance != nil {
		t := r.Tolerance.AsApproximateFloat64()
		out.Tolerance = &t
	}
	return out
}

// cvCopyInt32 copies a pointer's value so that a Spec shares no memory with
// the API object it came from.
func cvCopyInt32(p *int32) *int32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// PodFromV1 converts what the HPA reads of a pod: phase, deletion, the Ready
// condition's status and lastTransitionTime, status.startTime, the requests
// of its regular containers followed by those of its sidecars (init
// containers with restartPolicy Always; other init containers are left out,
// as upstream sums only these), and the pod-level requests. A nil pod gives
// the zero Pod.
func PodFromV1(p *corev1.Pod) Pod {
	if p == nil {
		return Pod{}
	}
	out := Pod{Name: p.Name, Phase: PodPhase(p.Status.Phase), Deleting: p.DeletionTimestamp != nil}
	if p.Status.StartTime != nil {
		out.StartTime = p.Status.StartTime.Time
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Ready, out.ReadyTransition = ConditionStatus(c.Status), c.LastTransitionTime.Time
			break
		}
	}
	out.Containers = make([]Container, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		out.Containers = append(out.Containers, Container{Name: c.Name, Requests: cvResourcesFromV1(c.Resources.Requests)})
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out.Containers = append(out.Containers, Container{Name: c.Name, Requests: cvResourcesFromV1(c.Resources.Requests), Sidecar: true})
		}
	}
	out.PodRequests = cvPodLevelRequests(p)
	return out
}

// ResourceInputFromMetrics converts a resource metrics API listing into the
// MetricInput of one Resource or ContainerResource metric: the samples of
// PodSamplesFromMetrics and, in Listed, how many items the API returned,
// so that Evaluate words "nothing returned" and "nothing usable" as
// upstream does.
func ResourceInputFromMetrics(pods []Pod, list []metricsv1beta1.PodMetrics, resource ResourceName, container string) MetricInput {
	return MetricInput{Samples: PodSamplesFromMetrics(pods, list, resource, container), Listed: len(list)}
}

// cvPodLevelRequests is what upstream's HPA takes as a pod's requests when
// the pod sets pod-level requests of a supported resource (cpu, memory,
// hugepages-*): component-helpers' PodRequests with default options, i.e.
// the containers' aggregate (regular containers plus sidecars, or the
// largest init-container phase if higher), overridden by the pod-level
// values, plus the pod overhead. nil when no pod-level request is set.
func cvPodLevelRequests(p *corev1.Pod) Resources {
	if p.Spec.Resources == nil {
		return nil
	}
	set := false
	for name := range p.Spec.Resources.Requests {
		set = set || cvPodLevelSupported(name)
	}
	if !set {
		return nil
	}
	reqs := corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		cvAddResources(reqs, c.Resources.Requests)
	}
	sidecars, inits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range p.Spec.InitContainers {
		var use corev1.ResourceList
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cvAddResources(reqs, c.Resources.Requests)
			cvAddResources(sidecars, c.Resources.Requests)
			use = sidecars
		} else {
			use = corev1.ResourceList{}
			cvAddResources(use, c.Resources.Requests)
			cvAddResources(use, sidecars)
		}
		cvMaxResources(inits, use)
	}
	cvMaxResources(reqs, inits)
	for name, q := range p.Spec.Resources.Requests {
		if cvPodLevelSupported(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	cvAddResources(reqs, p.Spec.Overhead)
	return cvResourcesFromV1(reqs)
}

func cvPodLevelSupported(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func cvAddResources(to, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := to[name]; ok {
			cur.Add(q)
			to[name] = cur
		} else {
			to[name] = q.DeepCopy()
		}
	}
}

func cvMaxResources(to, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := to[name]; !ok || q.Cmp(cur) > 0 {
			to[name] = q.DeepCopy()
		}
	}
}

// PodsFromV1 converts a pod list, keeping its order.
func PodsFromV1(pods []corev1.Pod) []Pod {
	out := make([]Pod, len(pods))
	for i := range pods {
		out[i] = PodFromV1(&pods[i])
	}
	return out
}

// cvResourcesFromV1 converts a ResourceList, sorted by name so that the
// result does not depend on map order.
func cvResourcesFromV1(rl corev1.ResourceList) Resources {
	if len(rl) == 0 {
		return nil
	}
	out := make(Resources, 0, len(rl))
	for name, q := range rl {
		out = append(out, Quantity{Name: ResourceName(name), Milli: q.MilliValue()})
	}
	slices.SortFunc(out, func(a, b Quantity) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return out
}

// PodSamplesFromMetrics converts a resource metrics API (metrics.k8s.io)
// listing into the samples of one Resource or ContainerResource metric, as
// upstream's metrics client reads it:
//
//   - container == "": a pod's value is the sum of resource over all its
//     containers; a pod with no containers, or with any container lacking
//     the resource, gets no sample (the arithmetic then counts it missing);
//   - container != "": a pod's value is that container's; a pod without the
//     container, or whose container lacks the resource, gets no sample.
//
// Timestamp and Window are the PodMetrics'. When a pod is listed twice the
// last entry wins, as upstream's map does.
//
// Layout: the samples of pods present in pods come first, in the order of
// pods (pods without a sample are skipped, so samples[i] need not be
// pods[i]); then the samples of pods not in pods, in list order. Upstream
// counts those superfluous samples too. This is the layout Evaluate matches
// against Input.Pods in one pass, without building an index.
//
// Prefer ResourceInputFromMetrics, which also records how many items the
// API returned, so that a listing with no usable item is reported as
// upstream reports it.
func PodSamplesFromMetrics(pods []Pod, list []metricsv1beta1.PodMetrics, resource ResourceName, container string) []PodSample {
	samples := make([]PodSample, 0, len(list))
	for i := range list {
		m := &list[i]
		if v, ok := cvPodUsage(m, corev1.ResourceName(resource), container); ok {
			samples = append(samples, PodSample{Pod: m.Name, Value: v, Timestamp: m.Timestamp.Time, Window: m.Window.Duration})
		}
	}
	return cvAlign(pods, samples)
}

func cvPodUsage(m *metricsv1beta1.PodMetrics, res corev1.ResourceName, container string) (int64, bool) {
	if container != "" {
		for _, c := range m.Containers {
			if c.Name == container {
				q, ok := c.Usage[res]
				return q.MilliValue(), ok
			}
		}
		return 0, false
	}
	if len(m.Containers) == 0 {
		return 0, false
	}
	var sum int64
	for _, c := range m.Containers {
		q, ok := c.Usage[res]
		if !ok {
			return 0, false
		}
		sum += q.MilliValue()
	}
	return sum, true
}

// cvAlign deduplicates samples by pod (the last wins, like upstream's map)
// and orders them: pods' order first, then the rest in their first-seen order.
func cvAlign(pods []Pod, samples []PodSample) []PodSample {
	last := make(map[string]int, len(samples))
	for i := range samples {
		last[samples[i].Pod] = i
	}
	out := make([]PodSample, 0, len(last))
	for i := range pods {
		if j, ok := last[pods[i].Name]; ok {
			out = append(out, samples[j])
			delete(last, pods[i].Name) // a pod listed twice takes its sample once
		}
	}
	// What is left in last are pods outside pods.
	for i := range samples {
		name := samples[i].Pod
		if j, ok := last[name]; ok {
			out = append(out, samples[j])
			delete(last, name)
		}
	}
	return out
}

// PodSamplesFromCustomMetrics converts a Pods metric read from the custom
// metrics API (custom.metrics.k8s.io, one value per pod): the pod is the
// described object's name, the value in milli-units, and a value without
// windowSeconds gets upstream's default window of one minute. When a pod is
// listed twice the last value wins, as upstream's map does; samples keep the
// list's order otherwise (Evaluate then matches them by name).
func PodSamplesFromCustomMetrics(list []custommetricsv1beta2.MetricValue) []PodSample {
	samples := make([]PodSample, 0, len(list))
	for i := range list {
		v := &list[i]
		w := cvDefaultCustomWindow
		if v.WindowSeconds != nil {
			w = time.Duration(*v.WindowSeconds) * time.Second
		}
		samples = append(samples, PodSample{Pod: v.DescribedObject.Name, Value: v.Value.MilliValue(), Timestamp: v.Timestamp.Time, Window: w})
	}
	return cvAlign(nil, samples)
}

// ObjectInputFromCustomMetric converts the value of an Object metric read
// from the custom metrics API: the value in milli-units and its timestamp.
func ObjectInputFromCustomMetric(v custommetricsv1beta2.MetricValue) MetricInput {
	return MetricInput{Value: v.Value.MilliValue(), Timestamp: v.Timestamp.Time}
}

// ExternalInputFromMetrics converts the series an External metric returned
// (external.metrics.k8s.io): their values in milli-units, which Evaluate
// sums, and the first series' timestamp, which is what upstream's external
// metrics client reports. An empty list gives no Values, which Evaluate
// reports as upstream does ("no metrics returned from external metrics API").
func ExternalInputFromMetrics(list []externalmetricsv1beta1.ExternalMetricValue) MetricInput {
	if len(list) == 0 {
		return MetricInput{}
	}
	in := MetricInput{Values: make([]int64, len(list)), Timestamp: list[0].Timestamp.Time}
	for i := range list {
		in.Values[i] = list[i].Value.MilliValue()
	}
	return in
}
