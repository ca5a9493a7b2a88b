package hpa_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/hpa"
)

func TestApplyStatus(t *testing.T) {
	spec := cvV2Spec()
	spec.Metrics = spec.Metrics[:1]
	spec.Behavior = nil
	earlier := metav1.NewTime(evT0.Add(-time.Hour))
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Generation: 4}, Spec: spec}
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 9, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
		{Type: "ScalingLimited", Status: corev1.ConditionFalse, Reason: "DesiredWithinRange", LastTransitionTime: earlier},
		{Type: "AbleToScale", Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", LastTransitionTime: earlier},
		{Type: "ScaledToZero", Status: corev1.ConditionFalse, Reason: "NotScaledToZero", LastTransitionTime: earlier},
	}}
	r := hpa.Result{CurrentReplicas: 3, DesiredReplicas: 5, Rescale: true, RemoveScaledToZero: true,
		CurrentMetrics: []hpa.MetricStatus{{Spec: evCPU(60), Current: hpa.MetricValue{AverageUtilization: 90, AverageValue: 450}}},
		Conditions: []hpa.Condition{
			{Type: hpa.AbleToScale, Status: hpa.ConditionTrue, Reason: hpa.ReasonSucceededRescale, Message: "m1"},
			{Type: hpa.ScalingActive, Status: hpa.ConditionTrue, Reason: hpa.ReasonValidMetricFound, Message: "m2"},
			{Type: hpa.ScalingLimited, Status: hpa.ConditionTrue, Reason: hpa.ReasonScaleUpLimit, Message: "m3"},
		}}
	hpa.ApplyStatus(h, r, evT0)
	st := &h.Status
	if st.ObservedGeneration == nil || *st.ObservedGeneration != 4 {
		t.Errorf("observedGeneration = %v, want 4 (HPAGeneration is on in 1.37)", st.ObservedGeneration)
	}
	if st.CurrentReplicas != 3 || st.DesiredReplicas != 5 || st.LastScaleTime == nil || !st.LastScaleTime.Time.Equal(evT0) {
		t.Errorf("replicas/scale time: %+v", st)
	}
	types := []string{}
	for _, c := range st.Conditions {
		types = append(types, string(c.Type))
	}
	if d := cmp.Diff([]string{"ScalingLimited", "AbleToScale", "ScalingActive"}, types); d != "" {
		t.Errorf("condition order (-want +got): %s", d)
	}
	if !st.Conditions[1].LastTransitionTime.Equal(&earlier) || st.Conditions[0].LastTransitionTime.Time != evT0 || st.Conditions[1].Reason != "SucceededRescale" {
		t.Errorf("transition times: unchanged status must keep its time, a flip takes now: %+v", st.Conditions)
	}
	m := st.CurrentMetrics[0]
	if m.Resource == nil || *m.Resource.Current.AverageUtilization != 90 || m.Resource.Current.AverageValue.String() != "450m" {
		t.Errorf("current metric = %+v", m)
	}

	stopped := r
	stopped.Stopped, stopped.Rescale, stopped.DesiredReplicas = true, false, 3
	stopped.CurrentMetrics = []hpa.MetricStatus{{}}
	h2 := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: spec,
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 7}}
	hpa.ApplyStatus(h2, stopped, evT0)
	st2 := h2.Status
	if st2.ObservedGeneration == nil || *st2.ObservedGeneration != 2 {
		t.Errorf("a stopped evaluation writes observedGeneration too (upstream's setCurrentReplicasAndMetricsInStatus): %v", st2.ObservedGeneration)
	}
	if st2.DesiredReplicas != 7 || st2.LastScaleTime != nil || st2.CurrentMetrics[0].Type != "" {
		t.Errorf("stopped evaluation: %+v", st2)
	}
}

func TestApplyStatusMetricShapes(t *testing.T) {
	spec := cvV2Spec()
	ks, err := hpa.SpecFromV2(spec)
	if err != nil {
		t.Fatal(err)
	}
	m := ks.Metrics
	r := hpa.Result{CurrentMetrics: []hpa.MetricStatus{
		{Spec: m[0], Current: hpa.MetricValue{AverageUtilization: 50, AverageValue: 250}},
		{Spec: m[1], Current: hpa.MetricValue{AverageValue: 1 << 30 * 1000}},
		{Spec: m[2], Current: hpa.MetricValue{AverageValue: 90_000}},
		{Spec: m[3], Current: hpa.MetricValue{Value: 1500_000}},
		{Spec: m[4], Current: hpa.MetricValue{AverageValue: 400}},
	}}
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: spec}
	hpa.ApplyStatus(h, r, evT0)
	st := h.Status
	got := []string{
		st.CurrentMetrics[0].Resource.Current.AverageValue.String(),
		st.CurrentMetrics[1].ContainerResource.Current.AverageValue.String(),
		st.CurrentMetrics[2].Pods.Current.AverageValue.String(),
		st.CurrentMetrics[3].Object.Current.Value.String(),
		st.CurrentMetrics[4].External.Current.AverageValue.String(),
	}
	if d := cmp.Diff([]string{"250m", "1Gi", "90", "1500", "400m"}, got); d != "" {
		t.Errorf("quantities (-want +got): %s", d)
	}
	if st.CurrentMetrics[4].External.Metric.Selector == nil || st.CurrentMetrics[3].Object.DescribedObject.Name != "web" {
		t.Errorf("identities not carried over: %+v", st.CurrentMetrics)
	}
	if st.CurrentMetrics[1].ContainerResource.Current.AverageUtilization != nil {
		t.Error("AverageValue target reports a utilization")
	}
}

// The status fields follow the computation upstream ran, which is chosen by
// the target field that is set, not by the target type.
func TestApplyStatusFollowsTargetField(t *testing.T) {
	v2 := autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5, Metrics: []autoscalingv2.MetricSpec{
		{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, Value: cvQ("10")}}},
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageValue: cvQ("200m")}}},
	}}
	ks, err := hpa.SpecFromV2(v2)
	if err != nil {
		t.Fatal(err)
	}
	r := hpa.Result{CurrentMetrics: []hpa.MetricStatus{
		{Spec: ks.Metrics[0], Current: hpa.MetricValue{Value: 30_000}},
		{Spec: ks.Metrics[1], Current: hpa.MetricValue{AverageValue: 150}},
	}}
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: v2}
	hpa.ApplyStatus(h, r, evT0)
	ext, res := h.Status.CurrentMetrics[0].External, h.Status.CurrentMetrics[1].Resource
	if ext.Current.Value == nil || ext.Current.Value.String() != "30" || ext.Current.AverageValue != nil {
		t.Errorf("External with only value set took the Value path upstream; status = %+v", ext.Current)
	}
	if res.Current.AverageUtilization != nil || res.Current.AverageValue.String() != "150m" {
		t.Errorf("Resource with averageValue set took the raw path upstream; status = %+v", res.Current)
	}
}

func TestScaledToZeroFromStatus(t *testing.T) {
	st := autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: "ScaledToZero", Status: corev1.ConditionTrue}}}
	if !hpa.ScaledToZeroFromStatus(st) || hpa.ScaledToZeroFromStatus(autoscalingv2.HorizontalPodAutoscalerStatus{}) {
		t.Error("ScaledToZeroFromStatus")
	}
}
