package hpa

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetricsv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// defaultMetricWindow is the window upstream assumes for a custom metric that
// reports none.
const defaultMetricWindow = time.Minute

// SpecFromV2 converts an autoscaling/v2 HPA spec. Quantities become
// milli-units; selectors are rendered as upstream prints them in messages. It
// applies no defaults (Evaluate does) and fails, wrapping ErrInvalidSpec, on a
// metric whose source is missing for its type.
func SpecFromV2(s autoscalingv2.HorizontalPodAutoscalerSpec) (Spec, error) {
	out := Spec{MinReplicas: s.MinReplicas, MaxReplicas: s.MaxReplicas}
	if len(s.Metrics) > 0 {
		out.Metrics = make([]MetricSpec, len(s.Metrics))
	}
	for i, m := range s.Metrics {
		ms, err := metricFromV2(m)
		if err != nil {
			return Spec{}, fmt.Errorf("%w: spec.metrics[%d]: %v", ErrInvalidSpec, i, err)
		}
		out.Metrics[i] = ms
	}
	if b := s.Behavior; b != nil {
		out.Behavior = &Behavior{ScaleUp: rulesFromV2(b.ScaleUp), ScaleDown: rulesFromV2(b.ScaleDown)}
	}
	return out, nil
}

func metricFromV2(m autoscalingv2.MetricSpec) (MetricSpec, error) {
	out := MetricSpec{Type: MetricSourceType(m.Type)}
	missing := func() (MetricSpec, error) { return MetricSpec{}, fmt.Errorf("type %s without its source", m.Type) }
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if m.Resource == nil {
			return missing()
		}
		out.Name, out.Target = string(m.Resource.Name), targetFromV2(m.Resource.Target)
	case autoscalingv2.ContainerResourceMetricSourceType:
		if m.ContainerResource == nil {
			return missing()
		}
		out.Name, out.Container, out.Target = string(m.ContainerResource.Name), m.ContainerResource.Container, targetFromV2(m.ContainerResource.Target)
	case autoscalingv2.PodsMetricSourceType:
		if m.Pods == nil {
			return missing()
		}
		out.Name, out.Selector, out.Target = m.Pods.Metric.Name, selectorString(m.Pods.Metric.Selector), targetFromV2(m.Pods.Target)
	case autoscalingv2.ObjectMetricSourceType:
		if m.Object == nil {
			return missing()
		}
		o := m.Object
		out.Name, out.Selector, out.Target = o.Metric.Name, selectorString(o.Metric.Selector), targetFromV2(o.Target)
		out.Object = ObjectReference{APIVersion: o.DescribedObject.APIVersion, Kind: o.DescribedObject.Kind, Name: o.DescribedObject.Name}
	case autoscalingv2.ExternalMetricSourceType:
		if m.External == nil {
			return missing()
		}
		out.Name, out.Selector, out.Target = m.External.Metric.Name, selectorString(m.External.Metric.Selector), targetFromV2(m.External.Target)
	}
	return out, nil
}

// selectorString renders a selector as upstream's %+v does in metric names
// and messages; nil renders as "" (printed as "nil").
func selectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%+v", s)
}

func targetFromV2(t autoscalingv2.MetricTarget) MetricTarget {
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

func rulesFromV2(r *autoscalingv2.HPAScalingRules) *ScalingRules {
	if r == nil {
		return nil
	}
	out := &ScalingRules{StabilizationWindowSeconds: r.StabilizationWindowSeconds}
	if r.SelectPolicy != nil {
		sp := SelectPolicy(*r.SelectPolicy)
		out.SelectPolicy = &sp
	}
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

// PodFromV1 converts what the HPA reads of a pod: phase, deletion, the Ready
// condition, the start time, and the requests of its containers followed by
// its sidecars (init containers with restartPolicy Always) and of the pod.
func PodFromV1(p *corev1.Pod) Pod {
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
		out.Containers = append(out.Containers, Container{Name: c.Name, Requests: resourcesFromV1(c.Resources.Requests)})
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out.Containers = append(out.Containers, Container{Name: c.Name, Requests: resourcesFromV1(c.Resources.Requests), Sidecar: true})
		}
	}
	if p.Spec.Resources != nil {
		out.PodRequests = resourcesFromV1(p.Spec.Resources.Requests)
	}
	return out
}

// PodsFromV1 converts a pod list, keeping its order.
func PodsFromV1(pods []corev1.Pod) []Pod {
	out := make([]Pod, len(pods))
	for i := range pods {
		out[i] = PodFromV1(&pods[i])
	}
	return out
}

func resourcesFromV1(rl corev1.ResourceList) Resources {
	if len(rl) == 0 {
		return nil
	}
	out := make(Resources, 0, len(rl))
	for name, q := range rl {
		out = append(out, Quantity{Name: ResourceName(name), Milli: q.MilliValue()})
	}
	return out
}

// PodSamplesFromMetrics converts resource metrics API results as upstream's
// metrics client does: with no container named, a pod's value is the sum over
// its containers, and a pod with no containers, or with a container lacking
// the resource, has no sample (it becomes "missing"); with a container named,
// the value is that container's, and a pod without it has no sample.
//
// The samples come in the order of pods (the layout Evaluate matches without
// building an index), followed by samples of pods not in the list, which
// upstream also counts.
func PodSamplesFromMetrics(pods []Pod, list []metricsv1beta1.PodMetrics, res ResourceName, container string) []PodSample {
	byName := make(map[string]PodSample, len(list))
	order := make([]string, 0, len(list))
	for i := range list {
		m := &list[i]
		v, ok := podUsage(m, res, container)
		if !ok {
			continue
		}
		if _, dup := byName[m.Name]; !dup {
			order = append(order, m.Name)
		}
		byName[m.Name] = PodSample{Pod: m.Name, Value: v, Timestamp: m.Timestamp.Time, Window: m.Window.Duration}
	}
	return alignSamples(pods, byName, order)
}

func podUsage(m *metricsv1beta1.PodMetrics, res ResourceName, container string) (int64, bool) {
	if container != "" {
		for _, c := range m.Containers {
			if c.Name == container {
				q, ok := c.Usage[corev1.ResourceName(res)]
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
		q, ok := c.Usage[corev1.ResourceName(res)]
		if !ok {
			return 0, false
		}
		sum += q.MilliValue()
	}
	return sum, true
}

// alignSamples orders samples by pods, then the rest in their original order.
func alignSamples(pods []Pod, byName map[string]PodSample, order []string) []PodSample {
	out := make([]PodSample, 0, len(byName))
	used := make(map[string]bool, len(pods))
	for i := range pods {
		if s, ok := byName[pods[i].Name]; ok && !used[pods[i].Name] {
			out = append(out, s)
			used[pods[i].Name] = true
		}
	}
	for _, name := range order {
		if !used[name] {
			out = append(out, byName[name])
		}
	}
	return out
}

// PodSamplesFromCustomMetrics converts a Pods metric from the custom metrics
// API (one value per pod, keyed by the described object's name), ordered like
// pods as PodSamplesFromMetrics. A value without a window gets upstream's
// default of one minute.
func PodSamplesFromCustomMetrics(pods []Pod, list []custommetricsv1beta2.MetricValue) []PodSample {
	byName := make(map[string]PodSample, len(list))
	order := make([]string, 0, len(list))
	for _, v := range list {
		w := defaultMetricWindow
		if v.WindowSeconds != nil {
			w = time.Duration(*v.WindowSeconds) * time.Second
		}
		name := v.DescribedObject.Name
		if _, dup := byName[name]; !dup {
			order = append(order, name)
		}
		byName[name] = PodSample{Pod: name, Value: v.Value.MilliValue(), Timestamp: v.Timestamp.Time, Window: w}
	}
	return alignSamples(pods, byName, order)
}

// ObjectInputFromCustomMetric converts an Object metric's value.
func ObjectInputFromCustomMetric(v custommetricsv1beta2.MetricValue) MetricInput {
	return MetricInput{Value: v.Value.MilliValue(), Timestamp: v.Timestamp.Time}
}

// ExternalInputFromMetrics converts an External metric's series; Evaluate
// sums them. The timestamp is the first series', as upstream reports.
func ExternalInputFromMetrics(list []externalmetricsv1beta1.ExternalMetricValue) MetricInput {
	in := MetricInput{Values: make([]int64, len(list))}
	for i, v := range list {
		in.Values[i] = v.Value.MilliValue()
	}
	if len(list) > 0 {
		in.Timestamp = list[0].Timestamp.Time
	}
	return in
}
