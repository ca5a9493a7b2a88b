package hpa

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplyStatus writes r into h.Status the way upstream's controller does
// after a reconcile: observedGeneration = metadata.generation (the
// HPAGeneration gate, on in 1.37); currentReplicas; desiredReplicas (kept
// as it was when r.Stopped); currentMetrics, one per spec metric (an empty
// entry for a metric that failed, as upstream); lastScaleTime = now on a
// rescale; and the conditions r sets, merged like upstream's setCondition: a
// condition keeps its place and its lastTransitionTime while its status does
// not change, new ones are appended. The metric identities (selectors,
// described objects) are h.Spec's. A nil h is ignored.
func ApplyStatus(h *autoscalingv2.HorizontalPodAutoscaler, r Result, now time.Time) {
	if h == nil {
		return
	}
	st, spec := &h.Status, &h.Spec
	gen := h.Generation
	st.ObservedGeneration = &gen
	st.CurrentReplicas = r.CurrentReplicas
	if !r.Stopped {
		st.DesiredReplicas = r.DesiredReplicas
	}
	st.CurrentMetrics = nil
	if r.CurrentMetrics != nil {
		st.CurrentMetrics = make([]autoscalingv2.MetricStatus, len(r.CurrentMetrics))
		for i := range r.CurrentMetrics {
			if i < len(spec.Metrics) && r.CurrentMetrics[i].Spec.Type != "" {
				st.CurrentMetrics[i] = metricStatusToV2(spec.Metrics[i], r.CurrentMetrics[i].Spec.path(), r.CurrentMetrics[i].Current)
			}
		}
	}
	if r.Rescale {
		t := metav1.NewTime(now)
		st.LastScaleTime = &t
	}
	for _, c := range r.Conditions {
		st.Conditions = setConditionV2(st.Conditions, c, now)
	}
	if r.RemoveScaledToZero {
		kept := st.Conditions[:0]
		for _, c := range st.Conditions {
			if c.Type != autoscalingv2.HorizontalPodAutoscalerConditionType(ScaledToZero) {
				kept = append(kept, c)
			}
		}
		st.Conditions = kept
	}
}

func setConditionV2(list []autoscalingv2.HorizontalPodAutoscalerCondition, c Condition, now time.Time) []autoscalingv2.HorizontalPodAutoscalerCondition {
	typ := autoscalingv2.HorizontalPodAutoscalerConditionType(c.Type)
	i := 0
	for i < len(list) && list[i].Type != typ {
		i++
	}
	if i == len(list) {
		list = append(list, autoscalingv2.HorizontalPodAutoscalerCondition{Type: typ})
	}
	cur := &list[i]
	if cur.Status != corev1.ConditionStatus(c.Status) {
		cur.LastTransitionTime = metav1.NewTime(now)
	}
	cur.Status, cur.Reason, cur.Message = corev1.ConditionStatus(c.Status), string(c.Reason), c.Message
	return list
}

// metricStatusToV2 builds one currentMetrics entry from the spec metric's
// identity and the computed value; path is the computation that ran, which
// decides the fields written, as upstream. Memory averages use binary
// suffixes, as upstream (and metrics-server) print them.
func metricStatusToV2(m autoscalingv2.MetricSpec, path targetPath, v MetricValue) autoscalingv2.MetricStatus {
	out := autoscalingv2.MetricStatus{Type: m.Type}
	switch {
	case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
		out.Resource = &autoscalingv2.ResourceMetricStatus{Name: m.Resource.Name, Current: resourceValue(m.Resource.Name, path, v)}
	case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
		c := m.ContainerResource
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{Name: c.Name, Container: c.Container, Current: resourceValue(c.Name, path, v)}
	case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
		out.Pods = &autoscalingv2.PodsMetricStatus{Metric: m.Pods.Metric, Current: autoscalingv2.MetricValueStatus{AverageValue: milli(v.AverageValue)}}
	case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
		o := &autoscalingv2.ObjectMetricStatus{DescribedObject: m.Object.DescribedObject, Metric: m.Object.Metric}
		if path == pathValue {
			o.Current.Value = milli(v.Value)
		} else {
			o.Current.AverageValue = milli(v.AverageValue)
		}
		out.Object = o
	case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
		e := &autoscalingv2.ExternalMetricStatus{Metric: m.External.Metric}
		if path == pathAverageValue {
			e.Current.AverageValue = milli(v.AverageValue)
		} else {
			e.Current.Value = milli(v.Value)
		}
		out.External = e
	}
	return out
}

func resourceValue(name corev1.ResourceName, path targetPath, v MetricValue) autoscalingv2.MetricValueStatus {
	format := resource.DecimalSI
	if name == corev1.ResourceMemory {
		format = resource.BinarySI
	}
	q := resource.NewMilliQuantity(v.AverageValue, format)
	out := autoscalingv2.MetricValueStatus{AverageValue: q}
	if path == pathUtilization {
		u := v.AverageUtilization
		out.AverageUtilization = &u
	}
	return out
}

func milli(v int64) *resource.Quantity { return resource.NewMilliQuantity(v, resource.DecimalSI) }

// ScaledToZeroFromStatus reports whether an HPA status carries
// ScaledToZero=True, for Input.ScaledToZero.
func ScaledToZeroFromStatus(st autoscalingv2.HorizontalPodAutoscalerStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == autoscalingv2.HorizontalPodAutoscalerConditionType(ScaledToZero) {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
