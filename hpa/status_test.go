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
	st := autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 9, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
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
	hpa.ApplyStatus(&st, spec, r, evT0)
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
	st2 := autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 7}
	hpa.ApplyStatus(&st2, spec, stopped, evT0)
	if st2.DesiredReplicas != 7 || st2.LastScaleTime != nil || st2.CurrentMetrics[0].Type != "" {
		t.Errorf("stopped evaluation: %+v", st2)
	}
}

func TestApplyStatusMetricShapes(t *testing.T) {
	spec := cvV2Spec()
	r := hpa.Result{CurrentMetrics: []hpa.MetricStatus{
		{Spec: hpa.MetricSpec{Type: hpa.ResourceMetric}, Current: hpa.MetricValue{AverageUtilization: 50, AverageValue: 250}},
		{Spec: hpa.MetricSpec{Type: hpa.ContainerResourceMetric}, Current: hpa.MetricValue{AverageValue: 1 << 30 * 1000}},
		{Spec: hpa.MetricSpec{Type: hpa.PodsMetric}, Current: hpa.MetricValue{AverageValue: 90_000}},
		{Spec: hpa.MetricSpec{Type: hpa.ObjectMetric}, Current: hpa.MetricValue{Value: 1500_000}},
		{Spec: hpa.MetricSpec{Type: hpa.ExternalMetric}, Current: hpa.MetricValue{AverageValue: 400}},
	}}
	var st autoscalingv2.HorizontalPodAutoscalerStatus
	hpa.ApplyStatus(&st, spec, r, evT0)
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

func TestScaledToZeroFromStatus(t *testing.T) {
	st := autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: "ScaledToZero", Status: corev1.ConditionTrue}}}
	if !hpa.ScaledToZeroFromStatus(st) || hpa.ScaledToZeroFromStatus(autoscalingv2.HorizontalPodAutoscalerStatus{}) {
		t.Error("ScaledToZeroFromStatus")
	}
}
