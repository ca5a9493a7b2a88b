package e2e_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/internal/testcluster"
)

// change is one replica change of a Deployment, at a time since the run's start.
type change struct {
	at       time.Duration
	replicas int32
}

// differentialRun creates web + its HPA in a fresh namespace, runs the
// usage sequence (2 pods at 80 % of a 50 % target; 70 s later every pod at
// 10 %) and records the replica changes and the final conditions.
func differentialRun(t *testing.T, c *testcluster.Cluster, ns, node string, withPA bool) ([]change, []string) {
	ctx := t.Context()
	kube := c.AdminClient()
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", 2, "800m"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: i32(1), MaxReplicas: 4,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(50)}}}}}}
	start := time.Now()
	if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if withPA {
		cfg := hpa.DefaultConfig()
		cfg.SyncPeriod, cfg.DownscaleStabilizationWindow = 5*time.Second, 30*time.Second
		cfg.ScaleToZero = true // HPAScaleToZero is on by default in kube-controller-manager 1.37
		clients, err := autoscale.ClientsForConfig(c.Config())
		if err != nil {
			t.Fatal(err)
		}
		pa, err := autoscale.NewPodAutoscaler(autoscale.PodAutoscalerConfig{Clients: clients, Namespace: ns, HPA: cfg})
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- pa.Run(pctx) }()
		defer func() { cancel(); <-done }()
	}
	var (
		mu      sync.Mutex
		changes []change
		last    int32 = 2
	)
	rctx, stopRec := context.WithCancel(ctx)
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		wait.UntilWithContext(rctx, func(ctx context.Context) {
			d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err == nil && *d.Spec.Replicas != last {
				mu.Lock()
				last = *d.Spec.Replicas
				changes = append(changes, change{time.Since(start).Round(time.Second), last})
				mu.Unlock()
			}
		}, 500*time.Millisecond)
	}()
	time.Sleep(time.Until(start.Add(70 * time.Second)))
	if _, err := c.SetPodsUsage(ctx, ns, "app=web", resource.MustParse("100m"), resource.MustParse("64Mi")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(start.Add(150 * time.Second)))
	stopRec()
	<-recDone
	got, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conds []string
	for _, cnd := range got.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s %s", cnd.Type, cnd.Status, cnd.Reason))
	}
	return changes, conds
}

// The same Deployment, HPA and usage sequence, scaled once by
// kube-controller-manager's own HPA controller and once by PodAutoscaler
// (the other one off), with the same settings (sync period 5 s, downscale
// stabilization 30 s): the replica sequences and the final conditions
// (type, status, reason) match, and each change comes within one sync
// period plus one metrics-server resolution (5 s + 10 s) of the other's.
func TestDifferentialAgainstTheHPAController(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()
	node := "autoscale-e2e-differential"
	if _, err := c.AddNode(ctx, testcluster.NodeSpec{Name: node, CPU: resource.MustParse("32")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteNode(context.Background(), node) })

	if err := c.StartControllerManager(ctx, testcluster.ControllerManagerOptions{
		HPA: &testcluster.HPAControllerOptions{SyncPeriod: 5 * time.Second, DownscaleStabilization: 30 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	upstream, upConds := differentialRun(t, c, c.Namespace(t), node, false)
	if err := c.StartControllerManager(ctx, testcluster.ControllerManagerOptions{}); err != nil { // its HPA controller off again
		t.Fatal(err)
	}
	ours, ourConds := differentialRun(t, c, c.Namespace(t), node, true)
	t.Logf("kube-controller-manager: %v, %v", upstream, upConds)
	t.Logf("PodAutoscaler:           %v, %v", ours, ourConds)

	if len(upstream) == 0 || len(upstream) != len(ours) {
		t.Fatalf("replica sequences differ: upstream %v, ours %v", upstream, ours)
	}
	const slack = 15 * time.Second
	for i := range upstream {
		u, o := upstream[i], ours[i]
		if u.replicas != o.replicas || u.at-o.at > slack || o.at-u.at > slack {
			t.Fatalf("change %d: upstream %d at %v, ours %d at %v", i, u.replicas, u.at, o.replicas, o.at)
		}
	}
	if fmt.Sprint(upConds) != fmt.Sprint(ourConds) {
		t.Fatalf("final conditions differ:\nupstream %v\nours     %v", upConds, ourConds)
	}
}
