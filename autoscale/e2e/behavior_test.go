package e2e_test

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A scale-up policy limits the steps on the real control plane: one pod at
// 90 % of a 10 % target asks for 9 replicas, but a Pods policy of one pod
// per 15 s (no stabilization) lets the Deployment grow by one replica at a
// time, no faster than one step per period, and the HPA says so with
// upstream's ScalingLimited=True/ScaleUpLimit while it is held back.
func TestBehaviorPolicyLimitsSteps(t *testing.T) {
	c, ns, kube := withDeployment(t, "autoscale-e2e-behavior", "steps", 1, "900m")
	ctx := t.Context()
	const period = 15 * time.Second
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "steps", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: i32(1), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "steps"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(10)}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: i32(0),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: int32(period / time.Second)}}}}}}
	if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := startPA(ctx, t, c, ns)
	defer stop()

	type step struct {
		at time.Time
		to int32
	}
	var steps []step
	last := int32(1)
	limited := false
	deadline := time.Now().Add(4 * time.Minute)
	for last < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("replicas %d after 4 minutes, steps %v", last, steps)
		}
		time.Sleep(250 * time.Millisecond)
		if r := replicas(ctx, t, kube, ns, "steps"); r != last {
			steps = append(steps, step{time.Now(), r})
			if r != last+1 {
				t.Fatalf("replicas went %d → %d: the policy allows one pod per %v", last, r, period)
			}
			last = r
		}
		if !limited && last > 1 && last < 4 {
			got, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "steps", metav1.GetOptions{})
			if err == nil {
				for _, cnd := range got.Status.Conditions {
					if cnd.Type == autoscalingv2.ScalingLimited && cnd.Status == corev1.ConditionTrue && cnd.Reason == "ScaleUpLimit" {
						limited = true
					}
				}
			}
		}
	}
	// A step may come no sooner than one period after the previous one
	// (less the 250 ms polling resolution).
	for i := 1; i < len(steps); i++ {
		if gap := steps[i].at.Sub(steps[i-1].at); gap < period-500*time.Millisecond {
			t.Errorf("step to %d came %v after the step to %d; the policy's period is %v", steps[i].to, gap, steps[i-1].to, period)
		}
	}
	if !limited {
		t.Error("the HPA never reported ScalingLimited=True/ScaleUpLimit while the policy held it back")
	}
	for i, st := range steps {
		if i > 0 {
			t.Logf("step to %d, %v after the previous one", st.to, st.at.Sub(steps[i-1].at).Round(time.Millisecond))
		}
	}
}
