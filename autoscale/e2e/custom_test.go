package e2e_test

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Pods, Object and External metrics through the custom and external
// metrics APIs behind the aggregation layer. Two pods at 30 rps against
// 10 ask for 6, the queue (120 against 100) for 3, the object metric for 1:
// the maximum, 6, is cut to maxReplicas 4. Then every metric drops and the
// external one disappears: with a metric missing the HPA must not scale
// down, and says so with ScalingActive=False FailedGetExternalMetric.
func TestCustomAndExternalMetricsWithADisappearingMetric(t *testing.T) {
	c, ns, kube := withDeployment(t, "autoscale-e2e-custom", "web", 2, "100m")
	ctx := t.Context()
	var pods []string
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(list.Items) != 2 {
			return false, nil
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.Status.Phase != corev1.PodRunning {
				return false, nil
			}
			pods = append(pods, p.Name)
		}
		return true, nil
	}); err != nil {
		t.Fatalf("pods not running: %v", err)
	}
	m := c.Metrics()
	deployments := schema.GroupResource{Group: "apps", Resource: "deployments"}
	for _, p := range pods {
		m.SetPodMetric(ns, p, "rps", resource.MustParse("30"))
	}
	m.SetObjectMetric(deployments, ns, "web", "queue_length", resource.MustParse("30"))
	queue := map[string]string{"queue": "jobs"}
	m.SetExternalMetric(ns, "sqs_messages", queue, resource.MustParse("120"))

	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: i32(1), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "rps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("10")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "queue_length"},
					DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("100")}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "sqs_messages", Selector: &metav1.LabelSelector{MatchLabels: queue}},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("100")}}},
			}}}
	if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := startPA(ctx, t, c, ns)
	defer stop()
	waitReplicas(ctx, t, kube, ns, "web", 4, 2*time.Minute)
	condition := func(reason string) wait.ConditionWithContextFunc {
		return func(ctx context.Context) (bool, error) {
			got, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, cnd := range got.Status.Conditions {
				if cnd.Type == autoscalingv2.ScalingActive && cnd.Reason == reason {
					return true, nil
				}
			}
			return false, nil
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, condition("ValidMetricFound")); err != nil {
		t.Fatalf("no ValidMetricFound: %v", err)
	}
	// Everything calms down, and the external metric disappears.
	list, _ := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	for _, p := range list.Items {
		m.SetPodMetric(ns, p.Name, "rps", resource.MustParse("1"))
	}
	m.SetObjectMetric(deployments, ns, "web", "queue_length", resource.MustParse("1"))
	m.DeleteExternalMetric(ns, "sqs_messages", queue)
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 30*time.Second, true, condition("FailedGetExternalMetric")); err != nil {
		t.Fatalf("no FailedGetExternalMetric: %v", err)
	}
	// Several sync periods later the count still stands.
	time.Sleep(20 * time.Second)
	if r := replicas(ctx, t, kube, ns, "web"); r != 4 {
		t.Fatalf("scaled down to %d while a metric was missing", r)
	}
	if ok, _ := condition("FailedGetExternalMetric")(ctx); !ok {
		t.Fatal("the missing metric's condition went away")
	}
}

func qty(s string) *resource.Quantity { q := resource.MustParse(s); return &q }
