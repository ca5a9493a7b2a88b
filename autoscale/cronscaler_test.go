package autoscale_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/schedule"
)

var webRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}

func mustSchedule(t testing.TB, spec schedule.Spec) *schedule.Schedule {
	t.Helper()
	s, err := schedule.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tokyoJobs: 5 replicas from 10:00, 1 from 12:00, every day in Asia/Tokyo
// (01:00 and 03:00 UTC).
func tokyoJobs(t testing.TB) *schedule.Schedule {
	return mustSchedule(t, schedule.Spec{TimeZone: "Asia/Tokyo", Rules: []schedule.RuleSpec{
		{Name: "peak", Cron: "0 10 * * *", Bounds: schedule.Exact(5)},
		{Name: "calm", Cron: "0 12 * * *", Bounds: schedule.Exact(1)}}})
}

func newCron(t *testing.T, e *env, mutate ...func(*autoscale.CronScalerConfig)) *autoscale.CronScaler {
	t.Helper()
	cfg := autoscale.CronScalerConfig{Clients: e.clients(), Clock: e.clock, Recorder: e.events,
		Targets: []autoscale.CronTarget{{Name: "web", Namespace: ns, ScaleTargetRef: webRef, Schedule: tokyoJobs(t)}}}
	for _, m := range mutate {
		m(&cfg)
	}
	cs, err := autoscale.NewCronScaler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Run in a synctest bubble (virtual time from 2000-01-01 00:00 UTC, the
// real clock): the count changes exactly at each transition, and a scaler
// stopped across a transition applies the rule in force when it restarts.
func TestCronScalerRunChangesReplicasAtTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 2)
		run := func() (stop func()) {
			cs := newCron(t, e, func(c *autoscale.CronScalerConfig) { c.Clock = nil; c.Resync = 24 * time.Hour })
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- cs.Run(ctx) }()
			return func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}
		}
		at := func(d time.Duration, want int32) {
			t.Helper()
			time.Sleep(time.Until(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)))
			synctest.Wait()
			if got := e.current(); got != want {
				t.Fatalf("at %v: replicas %d, want %d", time.Now().UTC(), got, want)
			}
		}
		stop := run()
		at(time.Second, 1) // 09:00 in Tokyo: yesterday's 12:00 job is in force
		at(time.Hour-time.Second, 1)
		at(time.Hour, 5) // 10:00 Tokyo
		at(3*time.Hour-time.Second, 5)
		at(3*time.Hour, 1) // 12:00 Tokyo
		stop()
		// Down across the next day's 10:00 (01:00 UTC): restarted at 02:00 UTC.
		at(25*time.Hour+30*time.Minute, 1)
		stop = run()
		at(26*time.Hour, 5)
		stop()
	})
}

func TestCronScalerBoundsAnOwningHPAAndRestoresIt(t *testing.T) {
	h := cpuHPA("web")
	e := newEnv(t, 2, h)
	e.clock.SetTime(time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)) // 10:30 in Tokyo: "peak" (exactly 5)
	cs := newCron(t, e)
	d, err := cs.Sync(t.Context(), ns+"/web")
	if err != nil {
		t.Fatal(err)
	}
	got := e.hpa(t, "web")
	if *got.Spec.MinReplicas != 5 || got.Spec.MaxReplicas != 5 || d.Reason != autoscale.ReasonBoundedHPA {
		t.Fatalf("HPA bounds %d..%d, decision %+v", *got.Spec.MinReplicas, got.Spec.MaxReplicas, d)
	}
	var saved autoscale.HPABounds
	if err := json.Unmarshal([]byte(got.Annotations[autoscale.AnnotationOriginalBounds]), &saved); err != nil ||
		*saved.MinReplicas != 1 || saved.MaxReplicas != 10 {
		t.Fatalf("saved originals %q: %v", got.Annotations[autoscale.AnnotationOriginalBounds], err)
	}
	if len(e.updates) != 0 {
		t.Fatalf("replicas written under an HPA: %v", e.updates)
	}
	// A second sync in the same rule writes nothing.
	e.kube.ClearActions()
	if _, err := cs.Sync(t.Context(), ns+"/web"); err != nil || len(e.writes()) != 0 {
		t.Fatalf("second sync: %v, writes %v", err, e.writes())
	}
	// The HPA mode has no "no rule" time with two jobs; a window schedule has.
	e2 := newEnv(t, 2, got)
	e2.clock.SetTime(time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC))
	cs2 := newCron(t, e2, func(c *autoscale.CronScalerConfig) {
		c.Targets[0].Schedule = mustSchedule(t, schedule.Spec{Rules: []schedule.RuleSpec{{Name: "day", Start: "0 8 * * *", End: "0 18 * * *", Bounds: schedule.Floor(5)}}})
	})
	if d, err := cs2.Sync(t.Context(), ns+"/web"); err != nil || d.Reason != autoscale.ReasonRestoredHPA {
		t.Fatalf("restore: %+v, %v", d, err)
	}
	restored := e2.hpa(t, "web")
	if *restored.Spec.MinReplicas != 1 || restored.Spec.MaxReplicas != 10 || restored.Annotations[autoscale.AnnotationOriginalBounds] != "" {
		t.Fatalf("restored HPA: %d..%d, annotations %v", *restored.Spec.MinReplicas, restored.Spec.MaxReplicas, restored.Annotations)
	}
}

func TestCronScalerErrors(t *testing.T) {
	t.Run("scale get fails", func(t *testing.T) {
		e := newEnv(t, 2)
		e.getScaleErrs = []error{apierrors.NewInternalError(errors.New("down"))}
		d, err := newCron(t, e).Sync(t.Context(), ns+"/web")
		if err == nil || d.RequeueAfter <= 0 {
			t.Fatalf("Sync = %+v, %v", d, err)
		}
		if ev := e.drain(); !hasEvent(ev, "Warning FailedGetScale") {
			t.Fatalf("events = %q", ev)
		}
	})
	t.Run("scale update forbidden", func(t *testing.T) {
		e := newEnv(t, 2)
		e.updateScaleErrs = []error{apierrors.NewForbidden(deployments, "web", errors.New("no"))}
		if _, err := newCron(t, e).Sync(t.Context(), ns+"/web"); !apierrors.IsForbidden(err) {
			t.Fatalf("err = %v", err)
		}
		if ev := e.drain(); !hasEvent(ev, "Warning FailedRescale") {
			t.Fatalf("events = %q", ev)
		}
	})
	t.Run("HPA update conflict is retried", func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"))
		e.clock.SetTime(time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC))
		conflicts := 1
		e.kube.PrependReactor("update", "horizontalpodautoscalers", func(clienttesting.Action) (bool, runtime.Object, error) {
			if conflicts > 0 {
				conflicts--
				return true, nil, apierrors.NewConflict(deployments, "web", errors.New("modified"))
			}
			return false, nil, nil
		})
		if _, err := newCron(t, e).Sync(t.Context(), ns+"/web"); err != nil {
			t.Fatal(err)
		}
		if h := e.hpa(t, "web"); *h.Spec.MinReplicas != 5 {
			t.Fatalf("min %d after a retried conflict", *h.Spec.MinReplicas)
		}
	})
	t.Run("dry run writes nothing", func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"))
		e.clock.SetTime(time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC))
		if _, err := newCron(t, e, func(c *autoscale.CronScalerConfig) { c.DryRun = true }).Sync(t.Context(), ns+"/web"); err != nil {
			t.Fatal(err)
		}
		if w := e.writes(); len(w) != 0 {
			t.Fatalf("dry run wrote %v", w)
		}
		if ev := e.drain(); !hasEvent(ev, "Normal BoundedHPA") || !strings.Contains(ev[0], "dry run") {
			t.Fatalf("events = %q", ev)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		e := newEnv(t, 1)
		if _, err := autoscale.NewCronScaler(autoscale.CronScalerConfig{Clients: e.clients(),
			Targets: []autoscale.CronTarget{{Name: "web", ScaleTargetRef: webRef}}}); !errors.Is(err, autoscale.ErrInvalidConfig) {
			t.Fatalf("no schedule: %v", err)
		}
	})
}

func TestCronTargetFromCronHPA(t *testing.T) {
	var obj schedule.CronHPA
	if err := json.Unmarshal([]byte(`{"metadata":{"name":"web","namespace":"shop"},"spec":{
		"scaleTargetRef":{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","name":"web"},
		"jobs":[{"name":"up","schedule":"0 0 10 * * *","targetSize":5},{"name":"down","schedule":"0 0 12 * * *","targetSize":1}]}}`), &obj); err != nil {
		t.Fatal(err)
	}
	ct, _, err := autoscale.CronTargetFromCronHPA(obj, "Asia/Shanghai", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, 2, cpuHPA("web"))
	e.clock.SetTime(time.Date(2026, 3, 2, 2, 30, 0, 0, time.UTC)) // 10:30 in Shanghai
	cs := newCron(t, e, func(c *autoscale.CronScalerConfig) { c.Targets = []autoscale.CronTarget{ct} })
	if _, err := cs.Sync(t.Context(), "shop/web"); err != nil {
		t.Fatal(err)
	}
	if h := e.hpa(t, "web"); *h.Spec.MinReplicas != 5 || h.Spec.MaxReplicas != 5 {
		t.Fatalf("HPA named by the CronHPA: %d..%d", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
}
