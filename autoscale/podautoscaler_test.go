package autoscale_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/schedule"
)

var deployments = schema.GroupResource{Group: "apps", Resource: "deployments"}

func newPA(t *testing.T, e *env, mutate ...func(*autoscale.PodAutoscalerConfig)) *autoscale.PodAutoscaler {
	t.Helper()
	cfg := e.config()
	for _, m := range mutate {
		m(&cfg)
	}
	pa, err := autoscale.NewPodAutoscaler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pa
}

func syncKey(t *testing.T, pa *autoscale.PodAutoscaler, key string) error {
	t.Helper()
	gone, err := pa.Sync(t.Context(), key)
	if gone {
		t.Fatalf("Sync(%s): gone", key)
	}
	return err
}

func wantCondition(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason string) {
	t.Helper()
	if s, r := condition(h, typ); s != status || r != reason {
		t.Fatalf("%s = %s %s, want %s %s (conditions %+v)", typ, s, r, status, reason, h.Status.Conditions)
	}
}

func TestScaleUpWritesScaleStatusStateAndEvent(t *testing.T) {
	e := newEnv(t, 2, cpuHPA("web"))
	e.cpu = 900 // 90 % of request against 50 %: ceil(2 × 1.8) = 4
	pa := newPA(t, e)
	if err := syncKey(t, pa, ns+"/web"); err != nil {
		t.Fatal(err)
	}
	if got := e.current(); got != 4 {
		t.Fatalf("replicas = %d, want 4", got)
	}
	h := e.hpa(t, "web")
	if h.Status.DesiredReplicas != 4 || h.Status.CurrentReplicas != 2 || h.Status.LastScaleTime == nil {
		t.Fatalf("status = %+v", h.Status)
	}
	wantCondition(t, h, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale")
	wantCondition(t, h, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound")
	if len(h.Status.CurrentMetrics) != 1 || *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != 90 {
		t.Fatalf("currentMetrics = %+v", h.Status.CurrentMetrics)
	}
	var st hpa.State
	if err := json.Unmarshal([]byte(h.Annotations[autoscale.AnnotationState]), &st); err != nil || len(st.Recommendations) == 0 {
		t.Fatalf("state annotation %q: %v", h.Annotations[autoscale.AnnotationState], err)
	}
	ev := e.drain()
	if !hasEvent(ev, "Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target") {
		t.Fatalf("events = %q", ev)
	}
}

func TestFailedGetScale(t *testing.T) {
	cases := []struct {
		name   string
		ref    autoscalingv2.CrossVersionObjectReference
		getErr error
	}{
		{name: "API error", ref: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			getErr: apierrors.NewInternalError(errors.New("etcd is down"))},
		{name: "forbidden", ref: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			getErr: apierrors.NewForbidden(deployments, "web", errors.New("no RBAC for deployments/scale"))},
		{name: "kind without scale subresource", ref: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "ConfigMap", Name: "web"}},
		{name: "target not found", ref: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			getErr: apierrors.NewNotFound(deployments, "web")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := cpuHPA("web")
			h.Spec.ScaleTargetRef = tc.ref
			e := newEnv(t, 2, h)
			if tc.getErr != nil {
				e.getScaleErrs = []error{tc.getErr}
			}
			err := syncKey(t, newPA(t, e), ns+"/web")
			if err == nil {
				t.Fatal("Sync succeeded")
			}
			if tc.getErr != nil && !errors.Is(err, tc.getErr) {
				t.Fatalf("err = %v, want it to wrap %v", err, tc.getErr)
			}
			wantCondition(t, e.hpa(t, "web"), autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale")
			if ev := e.drain(); !hasEvent(ev, "Warning FailedGetScale") {
				t.Fatalf("events = %q", ev)
			}
			if len(e.updates) != 0 {
				t.Fatalf("scale written: %v", e.updates)
			}
		})
	}
}

func TestFailedUpdateScale(t *testing.T) {
	for _, uerr := range []error{
		apierrors.NewForbidden(deployments, "web", errors.New("cannot update deployments/scale")),
		apierrors.NewInternalError(errors.New("boom")),
	} {
		e := newEnv(t, 2, cpuHPA("web"))
		e.cpu = 900
		e.updateScaleErrs = []error{uerr}
		err := syncKey(t, newPA(t, e), ns+"/web")
		if !errors.Is(err, uerr) {
			t.Fatalf("err = %v, want it to wrap %v", err, uerr)
		}
		h := e.hpa(t, "web")
		wantCondition(t, h, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale")
		if h.Status.LastScaleTime != nil {
			t.Fatal("lastScaleTime set by a failed rescale")
		}
		if ev := e.drain(); !hasEvent(ev, "Warning FailedRescale New size: 4") {
			t.Fatalf("events = %q", ev)
		}
		if e.current() != 2 {
			t.Fatalf("replicas = %d", e.current())
		}
	}
}

func TestScaleUpdateConflictIsRetried(t *testing.T) {
	e := newEnv(t, 2, cpuHPA("web"))
	e.cpu = 900
	e.updateScaleErrs = []error{apierrors.NewConflict(deployments, "web", errors.New("the object has been modified"))}
	if err := syncKey(t, newPA(t, e), ns+"/web"); err != nil {
		t.Fatal(err)
	}
	if e.current() != 4 || len(e.updates) != 1 {
		t.Fatalf("replicas %d after updates %v, want 4 after one retried update", e.current(), e.updates)
	}
}

func TestScaleUpdateConflictAfterConcurrentResizeIsNotForced(t *testing.T) {
	e := newEnv(t, 2, cpuHPA("web"))
	e.cpu = 900
	e.updateScaleErrs = []error{apierrors.NewConflict(deployments, "web", errors.New("the object has been modified"))}
	e.onUpdate = func() {
		e.mu.Lock()
		e.replicas = 7 // someone else resized meanwhile
		e.mu.Unlock()
		e.onUpdate = nil
	}
	if err := syncKey(t, newPA(t, e), ns+"/web"); err == nil {
		t.Fatal("Sync overwrote a concurrent resize")
	}
	if e.current() != 7 || len(e.updates) != 0 {
		t.Fatalf("replicas %d, updates %v: the decision made from 2 replicas was written over 7", e.current(), e.updates)
	}
	wantCondition(t, e.hpa(t, "web"), autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale")
}

func TestMetricsUnavailable(t *testing.T) {
	unavailable := apierrors.NewServiceUnavailable("the server is currently unable to handle the request")
	t.Run("resource", func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"))
		e.podMetricsErr = unavailable
		err := syncKey(t, newPA(t, e), ns+"/web")
		if !errors.Is(err, unavailable) {
			t.Fatalf("err = %v", err)
		}
		h := e.hpa(t, "web")
		wantCondition(t, h, autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric")
		ev := e.drain()
		if !hasEvent(ev, "Warning FailedGetResourceMetric") || !hasEvent(ev, "Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1)") {
			t.Fatalf("events = %q", ev)
		}
		// As upstream, the event carries the error the condition's message wraps.
		for _, c := range h.Status.Conditions {
			if c.Reason == "FailedGetResourceMetric" && !hasEvent(ev, "Warning FailedGetResourceMetric "+strings.TrimPrefix(c.Message, "the HPA was unable to compute the replica count: ")) {
				t.Fatalf("condition message %q, events %q", c.Message, ev)
			}
		}
		if len(e.updates) != 0 {
			t.Fatalf("scaled on no metrics: %v", e.updates)
		}
	})
	t.Run("no resource client", func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"))
		pa := newPA(t, e, func(c *autoscale.PodAutoscalerConfig) { c.Clients.Resource = nil })
		if err := syncKey(t, pa, ns+"/web"); err == nil {
			t.Fatal("no error without a resource metrics client")
		}
		wantCondition(t, e.hpa(t, "web"), autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetResourceMetric")
	})
	t.Run("custom and external", func(t *testing.T) {
		h := cpuHPA("web")
		h.Spec.Metrics = []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "rps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("10")}}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("100")}}},
		}
		e := newEnv(t, 2, h)
		fail := func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, unavailable }
		e.custom.AddReactor("*", "*", fail)
		e.external.AddReactor("*", "*", fail)
		if err := syncKey(t, newPA(t, e), ns+"/web"); err == nil {
			t.Fatal("no error")
		}
		// The first failed metric's reason is the condition's (upstream).
		wantCondition(t, e.hpa(t, "web"), autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetPodsMetric")
		ev := e.drain()
		if !hasEvent(ev, "Warning FailedGetPodsMetric") || !hasEvent(ev, "Warning FailedGetExternalMetric") {
			t.Fatalf("events = %q", ev)
		}
	})
}

func TestSelectorProblems(t *testing.T) {
	t.Run("required", func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"))
		e.selector = ""
		syncKey(t, newPA(t, e), ns+"/web")
		wantCondition(t, e.hpa(t, "web"), autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector")
		if ev := e.drain(); !hasEvent(ev, "Warning SelectorRequired") {
			t.Fatalf("events = %q", ev)
		}
	})
	t.Run("ambiguous", func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"), cpuHPA("web-too"))
		pa := newPA(t, e)
		syncKey(t, pa, ns+"/web")
		syncKey(t, pa, ns+"/web-too")
		wantCondition(t, e.hpa(t, "web-too"), autoscalingv2.ScalingActive, corev1.ConditionFalse, "AmbiguousSelector")
		// The wording is hpa.AmbiguousSelectorError's; the keys are ours.
		if ev := e.drain(); !hasEvent(ev, "Warning AmbiguousSelector pods by selector app=web are controlled by") || !strings.Contains(ev[0], "[shop/web shop/web-too]") {
			t.Fatalf("events = %q", ev)
		}
	})
}

func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t, 2, cpuHPA("web"))
	e.cpu = 900
	pa := newPA(t, e, func(c *autoscale.PodAutoscalerConfig) { c.DryRun = true })
	if err := syncKey(t, pa, ns+"/web"); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 0 || len(e.updates) != 0 {
		t.Fatalf("dry run wrote %v, scale %v", w, e.updates)
	}
	if ev := e.drain(); !hasEvent(ev, "Normal DryRunRescale New size: 4") {
		t.Fatalf("events = %q", ev)
	}
}

func TestRecommendWritesNothingAndKeepsState(t *testing.T) {
	e := newEnv(t, 2, cpuHPA("web"))
	e.cpu = 900
	pa := newPA(t, e)
	r1, err := pa.Recommend(t.Context(), ns+"/web")
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := pa.Recommend(t.Context(), ns+"/web")
	if r1.Decision.Desired != 4 || !r1.Decision.Rescale || r1.Pods != 2 || r1.Selector != "app=web" {
		t.Fatalf("Recommend = %+v", r1)
	}
	if fmt.Sprint(r1.Decision.HPA.Conditions) != fmt.Sprint(r2.Decision.HPA.Conditions) {
		t.Fatal("a second Recommend saw a different state")
	}
	if w := e.writes(); len(w) != 0 || len(e.updates) != 0 || len(e.drain()) != 0 {
		t.Fatalf("Recommend wrote %v, scale %v", w, e.updates)
	}
	if _, err := pa.Recommend(t.Context(), ns+"/nope"); !errors.Is(err, autoscale.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}

// A restarted controller reads the rate-limit history back: a behavior
// allowing one pod per minute does not allow a second one 30 s after a
// restart (upstream, which forgets, would).
func TestRestartKeepsRateLimitHistory(t *testing.T) {
	h := cpuHPA("web")
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: i32(0),
		Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}}
	e := newEnv(t, 2, h)
	e.cpu = 1000
	if err := syncKey(t, newPA(t, e), ns+"/web"); err != nil || e.current() != 3 {
		t.Fatalf("first sync: %v, replicas %d", err, e.current())
	}
	e.clock.Step(30 * time.Second)
	restarted := newPA(t, e)
	if err := syncKey(t, restarted, ns+"/web"); err != nil {
		t.Fatal(err)
	}
	if e.current() != 3 {
		t.Fatalf("after restart: replicas %d, want 3 (one pod per 60 s)", e.current())
	}
	wantCondition(t, e.hpa(t, "web"), autoscalingv2.ScalingLimited, corev1.ConditionTrue, "ScaleUpLimit")
	e.clock.Step(31 * time.Second)
	if err := syncKey(t, restarted, ns+"/web"); err != nil || e.current() != 4 {
		t.Fatalf("61 s after the first rescale: %v, replicas %d, want 4", err, e.current())
	}
}

func TestCorruptStateIsRefused(t *testing.T) {
	h := cpuHPA("web")
	h.Annotations = map[string]string{autoscale.AnnotationState: `{"recommendations":[{"replicas":-3,"timestamp":"2026-03-02T09:00:00Z"}]}`}
	e := newEnv(t, 2, h)
	e.cpu = 900
	if err := syncKey(t, newPA(t, e), ns+"/web"); err != nil {
		t.Fatal(err)
	}
	if e.current() != 4 {
		t.Fatalf("replicas %d: a refused state must not block the sync", e.current())
	}
}

func TestProgrammaticTargetWithSchedule(t *testing.T) {
	e := newEnv(t, 2)
	sched, err := schedule.New(schedule.Spec{TimeZone: "Europe/Berlin", Rules: []schedule.RuleSpec{{Name: "office", Start: "0 8 * * 1-5", End: "0 18 * * 1-5",
		Bounds: schedule.Floor(6)}}})
	if err != nil {
		t.Fatal(err)
	}
	spec := cpuHPA("x").Spec
	pa := newPA(t, e, func(c *autoscale.PodAutoscalerConfig) {
		c.IgnoreHPAs = true
		c.Targets = []autoscale.Target{{Name: "web", Namespace: ns, Spec: spec, Schedule: sched}}
	})
	key := autoscale.TargetKey(ns, "web")
	if err := syncKey(t, pa, key); err != nil { // Monday 10:00 in Berlin: the floor holds
		t.Fatal(err)
	}
	if e.current() != 6 {
		t.Fatalf("replicas %d, want the schedule's floor of 6", e.current())
	}
	cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(t.Context(), autoscale.StateConfigMapPrefix+"web", metav1.GetOptions{})
	if err != nil || !strings.Contains(cm.Data["state"], "recommendations") {
		t.Fatalf("state ConfigMap: %v %v", cm, err)
	}
	r, err := pa.Recommend(t.Context(), key)
	if err != nil || r.Schedule == nil || r.Schedule.Rule != "office" {
		t.Fatalf("Recommend = %+v, %v", r, err)
	}
	if ev := e.drain(); !hasEvent(ev, "Normal SuccessfulRescale New size: 6") {
		t.Fatalf("events = %q", ev)
	}
}

func TestConfigErrors(t *testing.T) {
	e := newEnv(t, 1)
	for _, cfg := range []autoscale.PodAutoscalerConfig{
		{},
		{Clients: e.clients(), Workers: -1},
		{Clients: e.clients(), Targets: []autoscale.Target{{Name: "a"}}},
		{Clients: e.clients(), Targets: []autoscale.Target{{Name: "a", Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 0}}}},
	} {
		if _, err := autoscale.NewPodAutoscaler(cfg); !errors.Is(err, autoscale.ErrInvalidConfig) {
			t.Errorf("NewPodAutoscaler(%+v) = %v, want ErrInvalidConfig", cfg.Targets, err)
		}
	}
}

// Run, in a synctest bubble (virtual time, the real clock): a new HPA is
// first synced one period after it appears, as upstream, then every period.
func TestRunSyncsEachHPAOncePerPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 2, cpuHPA("web"))
		e.cpu = 900
		pa := newPA(t, e, func(c *autoscale.PodAutoscalerConfig) { c.Clock = nil })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- pa.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(14 * time.Second)
		synctest.Wait()
		if e.current() != 2 {
			t.Fatalf("synced before one period: replicas %d", e.current())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if e.current() != 4 {
			t.Fatalf("replicas %d one period after the HPA appeared, want 4", e.current())
		}
		for _, name := range []string{"web-2", "web-3"} { // the Deployment's new pods
			if _, err := e.kube.CoreV1().Pods(ns).Create(ctx, pod(name), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		e.mu.Lock()
		e.cpu = 1000 // 4 pods at 100 % of a 50 % target: 8
		e.mu.Unlock()
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if e.current() != 8 {
			t.Fatalf("replicas %d a period later, want 8", e.current())
		}
	})
}

func qty(s string) *resourceQuantity { q := mustParse(s); return &q }

func TestClientsForConfig(t *testing.T) {
	c, err := autoscale.ClientsForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil || c.Kube == nil || c.Scale == nil || c.Mapper == nil || c.Resource == nil || c.Custom == nil || c.External == nil {
		t.Fatalf("ClientsForConfig = %+v, %v", c, err)
	}
	if _, err := autoscale.ClientsForConfig(&rest.Config{Host: "::not a url"}); err == nil {
		t.Fatal("a bad host was accepted")
	}
}

// An HPA's schedule annotation bounds its recommendation; a bad one is
// refused whole and reported, and the HPA runs on its metrics alone.
func TestHPAScheduleAnnotation(t *testing.T) {
	spec := `{"timeZone":"Europe/Berlin","rules":[{"name":"office","start":"0 8 * * 1-5","end":"0 18 * * 1-5","bounds":{"min":7}}]}`
	for _, tc := range []struct {
		name, schedule, policy string
		want                   int32
		event                  string
	}{
		{"floor", spec, "", 7, "Normal SuccessfulRescale New size: 7"},
		{"ceiling policy ignores the floor", spec, "Ceiling", 4, "Normal SuccessfulRescale New size: 4"},
		{"bad policy", spec, "Sometimes", 4, "Warning FailedSchedule"},
		{"bad schedule", `{"rules":[{"name":"x","cron":"TZ=UTC 0 8 * * *"}]}`, "", 4, "Warning FailedSchedule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := cpuHPA("web")
			h.Annotations = map[string]string{autoscale.AnnotationSchedule: tc.schedule, autoscale.AnnotationSchedulePolicy: tc.policy}
			e := newEnv(t, 2, h)
			e.cpu = 900
			if err := syncKey(t, newPA(t, e), ns+"/web"); err != nil {
				t.Fatal(err)
			}
			if e.current() != tc.want {
				t.Fatalf("replicas %d, want %d", e.current(), tc.want)
			}
			if ev := e.drain(); !hasEvent(ev, tc.event) {
				t.Fatalf("events = %q", ev)
			}
		})
	}
}

func TestPrometheusMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, 2, cpuHPA("web"))
	e.cpu = 900
	pa := newPA(t, e, func(c *autoscale.PodAutoscalerConfig) { c.Registerer = reg })
	if err := syncKey(t, pa, ns+"/web"); err != nil {
		t.Fatal(err)
	}
	// A second controller on the same registry reuses the collectors.
	if _, err := autoscale.NewCronScaler(autoscale.CronScalerConfig{Clients: e.clients(), Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP kscale_autoscale_decisions_total Decisions per reason (upstream's condition reasons, or the schedule's).
# TYPE kscale_autoscale_decisions_total counter
kscale_autoscale_decisions_total{controller="podautoscaler",reason="MetricRecommendation",rescale="true"} 1
# HELP kscale_autoscale_desired_replicas The replica count decided at the last sync.
# TYPE kscale_autoscale_desired_replicas gauge
kscale_autoscale_desired_replicas{controller="podautoscaler",key="shop/web"} 4
# HELP kscale_autoscale_current_replicas The target's replica count (scale.spec.replicas) at the last sync.
# TYPE kscale_autoscale_current_replicas gauge
kscale_autoscale_current_replicas{controller="podautoscaler",key="shop/web"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kscale_autoscale_decisions_total",
		"kscale_autoscale_desired_replicas", "kscale_autoscale_current_replicas"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "kscale_autoscale_reconcile_duration_seconds"); n != 2 { // one per controller
		t.Fatalf("latency series: %d", n)
	}
}

// The plumbing loses nothing: for a range of usages and replica counts,
// Recommend's decision is hpa.Evaluate's on the same objects converted
// with hpa's own converters.
func TestRecommendMatchesEvaluate(t *testing.T) {
	for replicas := int32(1); replicas <= 6; replicas++ {
		for cpu := int64(50); cpu <= 1500; cpu += 145 {
			e := newEnv(t, replicas, cpuHPA("web"))
			e.cpu = cpu
			pa := newPA(t, e)
			r, err := pa.Recommend(t.Context(), ns+"/web")
			if err != nil {
				t.Fatal(err)
			}
			h := e.hpa(t, "web")
			spec, err := hpa.SpecFromV2(h.Spec)
			if err != nil {
				t.Fatal(err)
			}
			podList, _ := e.kube.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
			pods := hpa.PodsFromV1(podList.Items)
			pm, _ := e.res.MetricsV1beta1().PodMetricses(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
			in := hpa.Input{Now: t0, Namespace: ns, SpecReplicas: replicas, StatusReplicas: replicas, Pods: pods,
				Metrics: []hpa.MetricInput{{Samples: hpa.PodSamplesFromMetrics(pods, pm.Items, hpa.ResourceCPU, "")}}}
			var st hpa.State
			want, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Decision.HPA; got == nil || got.DesiredReplicas != want.DesiredReplicas || got.Rescale != want.Rescale ||
				fmt.Sprint(got.Conditions) != fmt.Sprint(want.Conditions) {
				t.Fatalf("%d pods at %dm: Recommend %+v, Evaluate %+v", replicas, cpu, got, want)
			}
		}
	}
}
