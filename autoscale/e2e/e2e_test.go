package e2e_test

import (
	"context"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }

func i32(v int32) *int32 { return &v }

// deployment is n pods of app requesting 1 CPU, each starting with cpu usage.
func deployment(ns, app string, n int32, cpu string) *appsv1.Deployment {
	labels := map[string]string{"app": app}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: testcluster.UsageAnnotations(resource.MustParse(cpu), resource.MustParse("64Mi"))},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}}}
}

// withDeployment gives a test a fresh namespace with a 32-CPU kwok node
// (deleted at the end) and a Deployment of n pods of app, each using cpu.
func withDeployment(t *testing.T, node, app string, n int32, cpu string) (*testcluster.Cluster, string, kubernetes.Interface) {
	t.Helper()
	c := testcluster.Shared(t)
	ns := c.Namespace(t)
	kube := c.AdminClient()
	if _, err := c.AddNode(t.Context(), testcluster.NodeSpec{Name: node, CPU: resource.MustParse("32")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteNode(context.Background(), node) })
	if _, err := kube.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, app, n, cpu), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return c, ns, kube
}

func replicas(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string) int32 {
	t.Helper()
	d, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// waitReplicas waits until the Deployment's spec.replicas is want.
func waitReplicas(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string, want int32, timeout time.Duration) time.Time {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == want, nil
	})
	if err != nil {
		t.Fatalf("%s/%s: replicas %d, want %d within %v: %v", ns, name, replicas(ctx, t, kube, ns, name), want, timeout, err)
	}
	return time.Now()
}

func startPA(ctx context.Context, t *testing.T, c *testcluster.Cluster, ns string) (stop func()) {
	t.Helper()
	clients, err := autoscale.ClientsForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	pa, err := autoscale.NewPodAutoscaler(autoscale.PodAutoscalerConfig{Clients: clients, Namespace: ns,
		HPA: syncEvery(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pa.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// Resource metrics end to end: kwok's emulated kubelet → metrics-server →
// aggregation layer → PodAutoscaler → the Deployment's scale. Two pods at
// 80 % of a 50 % target go to ceil(2 × 1.6) = 4 (maxReplicas 4); at 10 %
// they come back down to 1, but only once the 60 s scale-down window has
// passed since the last high recommendation — also across a restart of
// the controller in the middle of the window.
func TestResourceMetricsScaleUpDownAcrossRestart(t *testing.T) {
	c, ns, kube := withDeployment(t, "autoscale-e2e-resource", "web", 2, "800m")
	ctx := t.Context()
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: i32(1), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(50)}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(60)}}}}
	if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := startPA(ctx, t, c, ns)
	waitReplicas(ctx, t, kube, ns, "web", 4, 3*time.Minute)
	got, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || got.Status.DesiredReplicas != 4 || got.Annotations[autoscale.AnnotationState] == "" {
		t.Fatalf("HPA after scale-up: %+v, %v", got.Status, err)
	}
	// Every replica, old and new, now uses 100m (10 %): the recommendation drops to 1.
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := c.SetPodsUsage(ctx, ns, "app=web", resource.MustParse("100m"), resource.MustParse("64Mi"))
		return err == nil && n == 4, nil
	}); err != nil {
		t.Fatal(err)
	}
	low := time.Now()
	time.Sleep(20 * time.Second)
	stop() // restart in the middle of the window
	if r := replicas(ctx, t, kube, ns, "web"); r != 4 {
		t.Fatalf("scaled down to %d before the window passed", r)
	}
	stop = startPA(ctx, t, c, ns)
	defer stop()
	// The last high recommendation is no earlier than low: no scale-down before low + 60 s.
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Until(low.Add(55*time.Second)), true, func(ctx context.Context) (bool, error) {
		return replicas(ctx, t, kube, ns, "web") != 4, nil
	}); err == nil {
		t.Fatalf("scaled down %v after the usage fell, inside the 60 s window", time.Since(low))
	}
	down := waitReplicas(ctx, t, kube, ns, "web", 1, 3*time.Minute)
	t.Logf("scale-down %v after the usage fell", down.Sub(low))
	got, _ = kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	for _, cnd := range got.Status.Conditions {
		t.Logf("condition %s=%s %s: %s", cnd.Type, cnd.Status, cnd.Reason, cnd.Message)
	}
}

func syncEvery(d time.Duration) hpa.Config {
	c := hpa.DefaultConfig()
	c.SyncPeriod = d
	return c
}
