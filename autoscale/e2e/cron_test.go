package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/schedule"
)

// cronAt is the cron expression firing daily at t's wall time in loc.
func cronAt(t time.Time, loc *time.Location) string {
	l := t.In(loc)
	return fmt.Sprintf("%d %d * * *", l.Minute(), l.Hour())
}

// A schedule in Asia/Kolkata (UTC+05:30): exactly 3 replicas from T1 to
// T2, exactly 4 from T2 to T3. The scaler changes replicas at T1, not
// before; stopped across T2, it applies the rule in force (4) when it
// restarts; an HPA then created on the target is bounded to 4..4 instead of
// its replicas being written, and gets its own 1..10 back when the last
// window closes at T3.
func TestCronNonUTCCatchUpAndHPABounding(t *testing.T) {
	c, ns, kube := withDeployment(t, "autoscale-e2e-cron", "web", 2, "100m")
	ctx := t.Context()
	loc, err := schedule.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now().Add(45 * time.Second).Truncate(time.Minute).Add(time.Minute)
	t2 := t1.Add(time.Minute) // the scaler is down across it
	t3 := t2.Add(time.Minute)
	sched, err := schedule.New(schedule.Spec{TimeZone: "Asia/Kolkata", Rules: []schedule.RuleSpec{
		{Name: "three", Start: cronAt(t1, loc), End: cronAt(t2, loc), Bounds: schedule.Exact(3)},
		{Name: "four", Start: cronAt(t2, loc), End: cronAt(t3, loc), Bounds: schedule.Exact(4)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	run := func() func() {
		clients, err := autoscale.ClientsForConfig(c.Config())
		if err != nil {
			t.Fatal(err)
		}
		cs, err := autoscale.NewCronScaler(autoscale.CronScalerConfig{Clients: clients, Resync: 5 * time.Second,
			Targets: []autoscale.CronTarget{{Name: "web", Namespace: ns, Schedule: sched,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cs.Run(ctx) }()
		return func() { cancel(); <-done }
	}
	stop := run()
	// Before T1 no rule is in force: the count stays 2.
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Until(t1.Add(-time.Second)), true, func(ctx context.Context) (bool, error) {
		return replicas(ctx, t, kube, ns, "web") != 2, nil
	}); err == nil {
		t.Fatalf("replicas changed before %v", t1)
	}
	at := waitReplicas(ctx, t, kube, ns, "web", 3, 30*time.Second)
	t.Logf("3 replicas %v after T1", at.Sub(t1))
	// Down across T2: the restarted scaler applies the rule in force.
	time.Sleep(time.Until(t2.Add(-15 * time.Second)))
	stop()
	time.Sleep(time.Until(t2.Add(15 * time.Second)))
	if r := replicas(ctx, t, kube, ns, "web"); r != 3 {
		t.Fatalf("replicas %d while the scaler was down", r)
	}
	stop = run()
	defer stop()
	waitReplicas(ctx, t, kube, ns, "web", 4, 20*time.Second)
	// An HPA takes the target: the scaler bounds it instead of writing replicas.
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: i32(1), MaxReplicas: 10,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(50)}}}}}}
	if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bounds := func(min, max int32) wait.ConditionWithContextFunc {
		return func(ctx context.Context) (bool, error) {
			got, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
			return err == nil && got.Spec.MinReplicas != nil && *got.Spec.MinReplicas == min && got.Spec.MaxReplicas == max, nil
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 20*time.Second, true, bounds(4, 4)); err != nil {
		t.Fatalf("HPA not bounded to 4..4: %v", err)
	}
	// The window closes at T3: the HPA's own bounds come back.
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Until(t3.Add(20*time.Second)), true, bounds(1, 10)); err != nil {
		t.Fatalf("HPA bounds not restored after %v: %v", t3, err)
	}
	got, _ := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if _, ok := got.Annotations[autoscale.AnnotationOriginalBounds]; ok {
		t.Fatal("the originals annotation survived the restore")
	}
}
