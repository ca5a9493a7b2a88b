package testcluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/internal/testcluster"
)

// TestControllerManagerHPAController turns kube-controller-manager's own HPA controller on for
// one test (the switch a differential test uses) and checks that it scales a Deployment from
// kwok-reported CPU read through metrics-server and the aggregation layer.
func TestControllerManagerHPAController(t *testing.T) {
	c := testcluster.Shared(t)
	ns := c.Namespace(t)
	cs := c.AdminClient()
	addNode(t, c, "hpa-0")
	// Each pod requests 100m and uses 250m: 250% of its request against a 100% target, so the
	// HPA formula asks for ceil(1 * 2.5) = 3 replicas.
	d := deployment("hpa-target", "hpa-0", 1, "250m", "32Mi")
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPods(t, cs, ns, d, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	target := int32(100)
	minReplicas := int32(1)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hpa-target"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hpa-target"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    5,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   "cpu",
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target},
				},
			}},
		},
	}
	if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(t.Context(), hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Off by default: while metrics-server collected the pod's first metrics, nothing wrote the
	// HPA's status.
	if err := c.WaitPodMetrics(ctx, ns, "app=hpa-target"); err != nil {
		t.Fatal(err)
	}
	h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(t.Context(), "hpa-target", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Status.Conditions) != 0 || h.Status.DesiredReplicas != 0 {
		t.Fatalf("the HPA has a status before the built-in controller was turned on: %+v", h.Status)
	}

	if err := c.StartControllerManager(t.Context(), testcluster.ControllerManagerOptions{
		HPA: &testcluster.HPAControllerOptions{SyncPeriod: 3 * time.Second},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.StartControllerManager(context.Background(), testcluster.ControllerManagerOptions{}); err != nil {
			t.Errorf("restart the controller manager without its HPA controller: %v", err)
		}
	})
	started := time.Now()
	poll(t, "kube-controller-manager's HPA scales to 3", time.Second, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		h, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "hpa-target", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		msg := fmt.Sprintf("current %d desired %d conditions %v", h.Status.CurrentReplicas, h.Status.DesiredReplicas, h.Status.Conditions)
		return h.Status.DesiredReplicas == 3, msg, nil
	})
	runningPods(t, cs, ns, d, 3)
	t.Logf("scaled by the built-in HPA controller %s after it started", time.Since(started).Round(100*time.Millisecond))
}
