package hpa_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/hpa"
)

// evCase is one Evaluate call on a fresh State with CPU-utilization pods.
type evCase struct {
	name          string
	min           *int32
	max           int32
	current       int32
	target        int32
	usages        []int64 // one per pod; request is 1000m each
	behavior      *hpa.Behavior
	wantDesired   int32
	wantRescale   bool
	wantReason    string
	wantCondition map[hpa.ConditionType]hpa.Reason
}

func runEvCase(t *testing.T, tc evCase) hpa.Result {
	t.Helper()
	return runEvCaseCfg(t, hpa.DefaultConfig(), tc)
}

func runEvCaseCfg(t *testing.T, cfg hpa.Config, tc evCase) hpa.Result {
	t.Helper()
	pods := evPods(evT0, len(tc.usages), 1000, 1<<30)
	spec := hpa.Spec{MinReplicas: tc.min, MaxReplicas: tc.max, Metrics: []hpa.MetricSpec{evCPU(tc.target)}, Behavior: tc.behavior}
	in := hpa.Input{Now: evT0, SpecReplicas: tc.current, StatusReplicas: tc.current, Pods: pods,
		Metrics: []hpa.MetricInput{{Samples: evSamples(evT0, pods, tc.usages...)}}}
	var st hpa.State
	res, err := hpa.Evaluate(cfg, spec, in, &st)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return res
}

func TestEvaluateFlow(t *testing.T) {
	cases := []evCase{
		{
			name: "scale up on cpu (upstream TestScaleUp)", min: evInt32(2), max: 6, current: 3, target: 30,
			usages: []int64{300, 500, 700}, wantDesired: 5, wantRescale: true,
			wantReason: "cpu resource utilization (percentage of request) above target",
			wantCondition: map[hpa.ConditionType]hpa.Reason{
				hpa.AbleToScale: hpa.ReasonSucceededRescale, hpa.ScalingActive: hpa.ReasonValidMetricFound,
				hpa.ScalingLimited: hpa.ReasonDesiredWithinRange},
		},
		{
			name: "legacy scale-up limit max(2*current, 4)", max: 20, current: 2, target: 50,
			usages: []int64{2500, 2500}, wantDesired: 4, wantRescale: true,
			wantReason: "cpu resource utilization (percentage of request) above target",
			wantCondition: map[hpa.ConditionType]hpa.Reason{
				hpa.AbleToScale: hpa.ReasonSucceededRescale, hpa.ScalingLimited: hpa.ReasonScaleUpLimit},
		},
		{
			name: "max below the scale-up limit", max: 3, current: 2, target: 50,
			usages: []int64{2500, 2500}, wantDesired: 3, wantRescale: true,
			wantCondition: map[hpa.ConditionType]hpa.Reason{hpa.ScalingLimited: hpa.ReasonTooManyReplicas},
		},
		{
			name: "first scale-down is held by the stabilization window", max: 10, current: 5, target: 50,
			usages: []int64{100, 100, 100, 100, 100}, wantDesired: 5, wantRescale: false,
			wantCondition: map[hpa.ConditionType]hpa.Reason{
				hpa.AbleToScale: hpa.ReasonScaleDownStabilized, hpa.ScalingActive: hpa.ReasonValidMetricFound,
				hpa.ScalingLimited: hpa.ReasonDesiredWithinRange},
		},
		{
			name: "within tolerance keeps current", max: 10, current: 4, target: 50,
			usages: []int64{540, 540, 540, 540}, wantDesired: 4, wantRescale: false,
			wantCondition: map[hpa.ConditionType]hpa.Reason{hpa.AbleToScale: hpa.ReasonReadyForNewScale},
		},
		{
			name: "current above max goes to max without metrics", max: 4, current: 7, target: 50,
			usages: []int64{500}, wantDesired: 4, wantRescale: true,
			wantReason:    "Current number of replicas above Spec.MaxReplicas",
			wantCondition: map[hpa.ConditionType]hpa.Reason{hpa.AbleToScale: hpa.ReasonSucceededRescale},
		},
		{
			name: "current below min goes to min without metrics", min: evInt32(3), max: 6, current: 1, target: 50,
			usages: []int64{500}, wantDesired: 3, wantRescale: true,
			wantReason:    "Current number of replicas below Spec.MinReplicas",
			wantCondition: map[hpa.ConditionType]hpa.Reason{hpa.AbleToScale: hpa.ReasonSucceededRescale},
		},
		{
			name: "current zero disables scaling", max: 6, current: 0, target: 50,
			usages: []int64{500}, wantDesired: 0, wantRescale: false,
			wantCondition: map[hpa.ConditionType]hpa.Reason{
				hpa.AbleToScale: hpa.ReasonSucceededGetScale, hpa.ScalingActive: hpa.ReasonScalingDisabled},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runEvCase(t, tc)
			if res.DesiredReplicas != tc.wantDesired || res.Rescale != tc.wantRescale {
				t.Errorf("desired, rescale = %d, %v; want %d, %v", res.DesiredReplicas, res.Rescale, tc.wantDesired, tc.wantRescale)
			}
			if tc.wantReason != "" && res.RescaleReason != tc.wantReason {
				t.Errorf("RescaleReason = %q, want %q", res.RescaleReason, tc.wantReason)
			}
			for typ, want := range tc.wantCondition {
				c, ok := res.Condition(typ)
				if !ok || c.Reason != want {
					t.Errorf("condition %s = %+v (present %v), want reason %s", typ, c, ok, want)
				}
			}
			if len(tc.wantCondition) > 0 && res.Conditions[0].Type != hpa.AbleToScale {
				t.Errorf("first condition is %s, want AbleToScale (upstream order)", res.Conditions[0].Type)
			}
		})
	}
}

func TestEvaluateNoMetricConditionsWhenOutOfRange(t *testing.T) {
	res := runEvCase(t, evCase{max: 4, current: 7, target: 50, usages: []int64{500}})
	if _, ok := res.Condition(hpa.ScalingActive); ok {
		t.Errorf("ScalingActive set although no metric was computed: %+v", res.Conditions)
	}
	if res.CurrentMetrics != nil {
		t.Errorf("CurrentMetrics = %+v, want none", res.CurrentMetrics)
	}
}

func TestEvaluateMessages(t *testing.T) {
	res := runEvCase(t, evCase{min: evInt32(2), max: 6, current: 3, target: 30, usages: []int64{300, 500, 700}})
	want := map[hpa.ConditionType]string{
		hpa.AbleToScale:   "the HPA controller was able to update the target scale to 5",
		hpa.ScalingActive: "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
	}
	for typ, msg := range want {
		if c, _ := res.Condition(typ); c.Message != msg {
			t.Errorf("%s message = %q, want %q", typ, c.Message, msg)
		}
	}
	if len(res.CurrentMetrics) != 1 || res.CurrentMetrics[0].Current.AverageUtilization != 50 || res.CurrentMetrics[0].Current.AverageValue != 500 {
		t.Errorf("CurrentMetrics = %+v, want utilization 50, average 500m", res.CurrentMetrics)
	}
}

func TestEvaluateLegacyStabilizationExpires(t *testing.T) {
	pods := evPods(evT0, 5, 1000, 1<<30)
	spec := hpa.Spec{MaxReplicas: 10, Metrics: []hpa.MetricSpec{evCPU(50)}}
	var st hpa.State
	at := func(now time.Time) hpa.Result {
		in := hpa.Input{Now: now, SpecReplicas: 5, StatusReplicas: 5, Pods: pods,
			Metrics: []hpa.MetricInput{{Samples: evSamples(now, pods, 100)}}}
		res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := at(evT0); r.Rescale {
		t.Fatalf("scaled down at once to %d; the 5m window must hold it", r.DesiredReplicas)
	}
	if r := at(evT0.Add(4 * time.Minute)); r.Rescale {
		t.Fatalf("scaled down inside the window to %d", r.DesiredReplicas)
	}
	r := at(evT0.Add(6 * time.Minute))
	if !r.Rescale || r.DesiredReplicas != 1 || r.RescaleReason != "All metrics below target" {
		t.Fatalf("after the window: desired %d rescale %v reason %q; want 1, true, All metrics below target", r.DesiredReplicas, r.Rescale, r.RescaleReason)
	}
	if c, _ := r.Condition(hpa.AbleToScale); c.Reason != hpa.ReasonSucceededRescale {
		t.Errorf("AbleToScale = %+v", c)
	}
}

func TestEvaluateBehaviorRateLimit(t *testing.T) {
	b := &hpa.Behavior{ScaleUp: &hpa.ScalingRules{Policies: []hpa.Policy{{Type: hpa.PodsScalingPolicy, Value: 2, PeriodSeconds: 60}}}}
	spec := hpa.Spec{MaxReplicas: 20, Metrics: []hpa.MetricSpec{evCPU(50)}, Behavior: b}
	var st hpa.State
	step := func(now time.Time, current int32, usage int64) hpa.Result {
		pods := evPods(now, int(current), 1000, 1<<30)
		in := hpa.Input{Now: now, SpecReplicas: current, StatusReplicas: current, Pods: pods,
			Metrics: []hpa.MetricInput{{Samples: evSamples(now, pods, usage)}}}
		res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rescale {
			st.RecordRescale(spec.Behavior, now, current, res.DesiredReplicas)
		}
		return res
	}
	// 3 pods at 133% of a 50% target want 8; the policy allows +2 per minute.
	r := step(evT0, 3, 1333)
	if r.DesiredReplicas != 5 {
		t.Fatalf("first step desired %d, want 5", r.DesiredReplicas)
	}
	if c, _ := r.Condition(hpa.ScalingLimited); c.Status != hpa.ConditionTrue || c.Reason != hpa.ReasonScaleUpLimit {
		t.Errorf("ScalingLimited = %+v, want True ScaleUpLimit", c)
	}
	// 15 s later 5 pods at 76% still want 8; the +2 of the last minute is spent.
	if r := step(evT0.Add(15*time.Second), 5, 760); r.Rescale {
		t.Fatalf("rescaled to %d inside the policy period", r.DesiredReplicas)
	}
	// Once the period has passed the next +2 is allowed.
	if r := step(evT0.Add(61*time.Second), 5, 760); r.DesiredReplicas != 7 {
		t.Fatalf("after the period desired %d, want 7", r.DesiredReplicas)
	}
}

func TestEvaluateMultipleMetricsTakeMax(t *testing.T) {
	pods := evPods(evT0, 3, 1000, 1000*1000)
	mem := hpa.MetricSpec{Type: hpa.ResourceMetric, Name: "memory",
		Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 50}}
	spec := hpa.Spec{MaxReplicas: 10, Metrics: []hpa.MetricSpec{mem, evCPU(30)}}
	in := hpa.Input{Now: evT0, SpecReplicas: 3, StatusReplicas: 3, Pods: pods, Metrics: []hpa.MetricInput{
		{Samples: evSamples(evT0, pods, 600*1000)},      // memory 60% of 50% → 4
		{Samples: evSamples(evT0, pods, 300, 500, 700)}, // cpu 50% of 30% → 5
	}}
	var st hpa.State
	res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
	if err != nil {
		t.Fatal(err)
	}
	if res.DesiredReplicas != 5 || res.Proposals[0].Replicas != 4 || res.Proposals[1].Replicas != 5 {
		t.Fatalf("desired %d proposals %d/%d, want 5 from 4 and 5", res.DesiredReplicas, res.Proposals[0].Replicas, res.Proposals[1].Replicas)
	}
	if !strings.HasPrefix(res.RescaleReason, "cpu ") {
		t.Errorf("RescaleReason %q should name the cpu metric", res.RescaleReason)
	}
}

func TestEvaluateInvalidMetrics(t *testing.T) {
	fetchErr := errors.New("metrics API unavailable")
	pods := evPods(evT0, 4, 1000, 1000)
	spec := hpa.Spec{MaxReplicas: 10, Metrics: []hpa.MetricSpec{evCPU(50), evCPU(50)}}
	eval := func(usage int64, failFirst, failSecond bool) hpa.Result {
		m := func(fail bool) hpa.MetricInput {
			if fail {
				return hpa.MetricInput{Err: fetchErr}
			}
			return hpa.MetricInput{Samples: evSamples(evT0, pods, usage)}
		}
		in := hpa.Input{Now: evT0, SpecReplicas: 4, StatusReplicas: 4, Pods: pods, Metrics: []hpa.MetricInput{m(failFirst), m(failSecond)}}
		var st hpa.State
		res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("all failed: no scaling", func(t *testing.T) {
		r := eval(500, true, true)
		if r.Rescale || !r.Stopped || r.Err == nil || !errors.Is(r.Err, fetchErr) {
			t.Fatalf("rescale %v stopped %v err %v", r.Rescale, r.Stopped, r.Err)
		}
		if c, _ := r.Condition(hpa.ScalingActive); c.Status != hpa.ConditionFalse || c.Reason != hpa.ReasonFailedGetResourceMetric ||
			!strings.HasPrefix(c.Message, "the HPA was unable to compute the replica count: ") {
			t.Errorf("ScalingActive = %+v", c)
		}
		if !strings.HasPrefix(r.Err.Error(), "invalid metrics (2 invalid out of 2), first error is: ") {
			t.Errorf("Err = %q", r.Err)
		}
	})
	t.Run("one failed, the other scales up: scale", func(t *testing.T) {
		r := eval(1000, false, true)
		if !r.Rescale || r.DesiredReplicas != 8 || r.Err == nil {
			t.Fatalf("desired %d rescale %v err %v; want 8, true, an error", r.DesiredReplicas, r.Rescale, r.Err)
		}
		if c, _ := r.Condition(hpa.ScalingActive); c.Reason != hpa.ReasonValidMetricFound {
			t.Errorf("ScalingActive = %+v", c)
		}
	})
	t.Run("one failed, the other scales down: hold", func(t *testing.T) {
		r := eval(100, true, false)
		if r.Rescale || !r.Stopped || r.DesiredReplicas != 4 {
			t.Fatalf("desired %d rescale %v stopped %v; want hold at 4", r.DesiredReplicas, r.Rescale, r.Stopped)
		}
		if c, _ := r.Condition(hpa.ScalingActive); c.Status != hpa.ConditionFalse {
			t.Errorf("ScalingActive = %+v, want False", c)
		}
	})
}

func TestEvaluateSelectorErrors(t *testing.T) {
	cases := []struct {
		err        error
		wantReason hpa.Reason
		wantMsg    string
	}{
		{hpa.ErrSelectorRequired, hpa.ReasonInvalidSelector, "the HPA target's scale is missing a selector"},
		{hpa.InvalidSelectorError(errors.New("bad")), hpa.ReasonInvalidSelector, "couldn't convert selector into a corresponding internal selector object: bad"},
		{hpa.AmbiguousSelectorError("app=web", []string{"ns/a", "ns/b"}), hpa.ReasonAmbiguousSelector, "pods by selector app=web are controlled by more than one HPA (e.g. [ns/a ns/b])"},
	}
	for _, tc := range cases {
		pods := evPods(evT0, 2, 1000, 1000)
		in := hpa.Input{Now: evT0, SpecReplicas: 2, StatusReplicas: 2, Pods: pods, SelectorErr: tc.err,
			Metrics: []hpa.MetricInput{{Samples: evSamples(evT0, pods, 900)}}}
		var st hpa.State
		r, err := hpa.Evaluate(hpa.DefaultConfig(), hpa.Spec{MaxReplicas: 5, Metrics: []hpa.MetricSpec{evCPU(50)}}, in, &st)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := r.Condition(hpa.ScalingActive)
		if r.Rescale || !r.Stopped || c.Reason != tc.wantReason || c.Message != tc.wantMsg {
			t.Errorf("%v: rescale %v stopped %v condition %+v", tc.err, r.Rescale, r.Stopped, c)
		}
	}
	if !errors.Is(hpa.AmbiguousSelectorError("a", nil), hpa.ErrAmbiguousSelector) || !errors.Is(hpa.ErrSelectorRequired, hpa.ErrInvalidSelector) {
		t.Error("selector errors do not match their sentinels")
	}
}

func TestEvaluateScaleToZeroAndBack(t *testing.T) {
	cfg := hpa.DefaultConfig()
	cfg.ScaleToZero = true
	ext := hpa.MetricSpec{Type: hpa.ExternalMetric, Name: "queue_depth",
		Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: 10_000}}
	spec := hpa.Spec{MinReplicas: evInt32(0), MaxReplicas: 10, Metrics: []hpa.MetricSpec{ext},
		Behavior: &hpa.Behavior{ScaleDown: &hpa.ScalingRules{StabilizationWindowSeconds: evInt32(0)}}}
	var st hpa.State
	pods := evPods(evT0, 2, 1000, 1000)
	down, err := hpa.Evaluate(cfg, spec, hpa.Input{Now: evT0, SpecReplicas: 2, StatusReplicas: 2, Pods: pods,
		Metrics: []hpa.MetricInput{{Values: []int64{0}, Timestamp: evT0}}}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if !down.Rescale || down.DesiredReplicas != 0 {
		t.Fatalf("empty queue: desired %d rescale %v, want 0", down.DesiredReplicas, down.Rescale)
	}
	if c, ok := down.Condition(hpa.ScaledToZero); !ok || c.Status != hpa.ConditionTrue || c.Reason != hpa.ReasonScaledToZero {
		t.Fatalf("ScaledToZero = %+v (present %v)", c, ok)
	}
	st.RecordRescale(spec.Behavior, evT0, 2, 0)

	now := evT0.Add(time.Minute)
	up, err := hpa.Evaluate(cfg, spec, hpa.Input{Now: now, ScaledToZero: true,
		Metrics: []hpa.MetricInput{{Values: []int64{25_000}, Timestamp: now}}}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if !up.Rescale || up.DesiredReplicas != 3 {
		t.Fatalf("queue of 25 at target 10 from zero: desired %d rescale %v, want 3", up.DesiredReplicas, up.Rescale)
	}
	if c, _ := up.Condition(hpa.ScaledToZero); c.Status != hpa.ConditionFalse || c.Reason != hpa.ReasonNotScaledToZero {
		t.Errorf("ScaledToZero after scale-up = %+v", c)
	}

	// Without a prior ScaledToZero=True, zero replicas means "disabled", gate or not.
	idle, _ := hpa.Evaluate(cfg, spec, hpa.Input{Now: now,
		Metrics: []hpa.MetricInput{{Values: []int64{25_000}, Timestamp: now}}}, &st)
	if idle.Rescale {
		t.Errorf("scaled from zero without the ScaledToZero condition")
	}
}

func TestEvaluateGateOffRemovesScaledToZero(t *testing.T) {
	off := hpa.DefaultConfig()
	off.ScaleToZero = false
	res := runEvCaseCfg(t, off, evCase{max: 6, current: 0, target: 50, usages: []int64{500}})
	if !res.RemoveScaledToZero {
		t.Error("gate off at zero replicas: RemoveScaledToZero = false, want true")
	}
	res = runEvCaseCfg(t, off, evCase{min: evInt32(2), max: 6, current: 3, target: 30, usages: []int64{300, 500, 700}})
	if !res.RemoveScaledToZero {
		t.Error("gate off on a rescale: RemoveScaledToZero = false, want true")
	}
	if _, ok := res.Condition(hpa.ScaledToZero); ok {
		t.Error("gate off: a ScaledToZero condition was set")
	}
}

// Kubernetes 1.37 ships HPAScaleToZero on: every successful rescale writes
// ScaledToZero (False NotScaledToZero unless it went to zero), and a target
// at zero without the condition stays paused without removing it.
func TestEvaluateDefaultGatesWriteScaledToZero(t *testing.T) {
	if c := hpa.DefaultConfig(); !c.ScaleToZero || !c.PodLevelResources || c.DisableConfigurableTolerance {
		t.Fatalf("DefaultConfig gates = %+v, want HPAScaleToZero, PodLevelResources and HPAConfigurableTolerance on", c)
	}
	res := runEvCase(t, evCase{min: evInt32(2), max: 6, current: 3, target: 30, usages: []int64{300, 500, 700}})
	c, ok := res.Condition(hpa.ScaledToZero)
	if !res.Rescale || !ok || c.Status != hpa.ConditionFalse || c.Reason != hpa.ReasonNotScaledToZero || res.RemoveScaledToZero {
		t.Errorf("rescale under the default gates: ScaledToZero %+v (present %v), remove %v", c, ok, res.RemoveScaledToZero)
	}
	res = runEvCase(t, evCase{min: evInt32(2), max: 6, current: 3, target: 100, usages: []int64{1000, 1000, 1000}})
	if _, ok := res.Condition(hpa.ScaledToZero); res.Rescale || ok {
		t.Errorf("no rescale: ScaledToZero must be left alone, got rescale %v present %v", res.Rescale, ok)
	}
	res = runEvCase(t, evCase{max: 6, current: 0, target: 50, usages: []int64{500}})
	if c, _ := res.Condition(hpa.ScalingActive); res.Rescale || res.RemoveScaledToZero || c.Reason != hpa.ReasonScalingDisabled {
		t.Errorf("zero replicas, gate on, no ScaledToZero=True: rescale %v remove %v ScalingActive %+v", res.Rescale, res.RemoveScaledToZero, c)
	}
}

func TestRescaleFailed(t *testing.T) {
	res := runEvCase(t, evCase{min: evInt32(2), max: 6, current: 3, target: 30, usages: []int64{300, 500, 700}})
	hpa.RescaleFailed(&res, errors.New("conflict"))
	c, _ := res.Condition(hpa.AbleToScale)
	if res.Rescale || !res.Stopped || res.DesiredReplicas != 3 || c.Status != hpa.ConditionFalse || c.Reason != hpa.ReasonFailedUpdateScale ||
		c.Message != "the HPA controller was unable to update the target scale: conflict" {
		t.Errorf("after RescaleFailed: %+v", res)
	}
	if _, ok := res.Condition(hpa.ScalingActive); !ok {
		t.Error("RescaleFailed dropped ScalingActive")
	}
}

func TestEvaluateRejectsBadInput(t *testing.T) {
	pods := evPods(evT0, 1, 1000, 1000)
	good := hpa.Spec{MaxReplicas: 5, Metrics: []hpa.MetricSpec{evCPU(50)}}
	in := hpa.Input{Now: evT0, SpecReplicas: 1, Pods: pods, Metrics: []hpa.MetricInput{{Samples: evSamples(evT0, pods, 500)}}}
	var st hpa.State
	if _, err := hpa.Evaluate(hpa.DefaultConfig(), good, in, nil); !errors.Is(err, hpa.ErrInvalidInput) {
		t.Errorf("nil state: %v", err)
	}
	bad := good
	bad.MinReplicas = evInt32(6)
	if _, err := hpa.Evaluate(hpa.DefaultConfig(), bad, in, &st); !errors.Is(err, hpa.ErrInvalidSpec) {
		t.Errorf("min > max: %v", err)
	}
	short := in
	short.Metrics = nil
	if _, err := hpa.Evaluate(hpa.DefaultConfig(), good, short, &st); !errors.Is(err, hpa.ErrInvalidInput) {
		t.Errorf("missing metric input: %v", err)
	}
	neg := in
	neg.SpecReplicas = -1
	if _, err := hpa.Evaluate(hpa.DefaultConfig(), good, neg, &st); !errors.Is(err, hpa.ErrInvalidInput) {
		t.Errorf("negative replicas: %v", err)
	}
	if len(st.Recommendations) != 0 {
		t.Errorf("rejected calls wrote to the state: %+v", st)
	}
}

// Upstream seeds a Max policy selection with MinInt32, so an explicitly empty
// policy list blocks scale-up; Evaluate applies the behavior as given.
func TestEvaluateEmptyPoliciesBlockScaleUp(t *testing.T) {
	b := &hpa.Behavior{ScaleUp: &hpa.ScalingRules{Policies: []hpa.Policy{}}}
	res := runEvCase(t, evCase{max: 20, current: 3, target: 30, usages: []int64{300, 500, 700}, behavior: b})
	if res.Rescale || res.DesiredReplicas != 3 {
		t.Fatalf("desired %d rescale %v; want 3 held", res.DesiredReplicas, res.Rescale)
	}
	if c, _ := res.Condition(hpa.ScalingLimited); c.Reason != hpa.ReasonScaleUpLimit || c.Status != hpa.ConditionTrue {
		t.Errorf("ScalingLimited = %+v", c)
	}
	spec := hpa.Spec{MaxReplicas: 20, Metrics: []hpa.MetricSpec{evCPU(30)}, Behavior: b}
	if err := hpa.Validate(spec, hpa.DefaultConfig()); err == nil {
		t.Error("Validate accepts an empty policy list")
	}
}
