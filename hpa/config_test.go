package hpa_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/kscale/kscale/hpa"
)

// cfgEval evaluates a CPU-utilization HPA over pods with a fresh or given State.
func cfgEval(t *testing.T, cfg hpa.Config, st *hpa.State, now time.Time, current int32, target int32, pods []hpa.Pod, samples []hpa.PodSample) hpa.Result {
	t.Helper()
	spec := hpa.Spec{MinReplicas: evInt32(1), MaxReplicas: 100, Metrics: []hpa.MetricSpec{evCPU(target)}}
	in := hpa.Input{Now: now, SpecReplicas: current, StatusReplicas: current, Pods: pods, Metrics: []hpa.MetricInput{{Samples: samples}}}
	res, err := hpa.Evaluate(cfg, spec, in, st)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return res
}

// kube-controller-manager keeps an explicit --horizontal-pod-autoscaler-tolerance=0:
// a ratio of 1.04 then scales.
func TestConfigExplicitZeroTolerance(t *testing.T) {
	pods := evPods(evT0, 3, 1000, 1000)
	samples := evSamples(evT0, pods, 520) // 52 % of a 50 % target: ratio 1.04
	if r := cfgEval(t, hpa.DefaultConfig(), &hpa.State{}, evT0, 3, 50, pods, samples); r.DesiredReplicas != 3 {
		t.Errorf("default tolerance 0.1: desired %d, want 3 (within the band)", r.DesiredReplicas)
	}
	cfg := hpa.DefaultConfig()
	cfg.Tolerance = 0
	if r := cfgEval(t, cfg, &hpa.State{}, evT0, 3, 50, pods, samples); r.DesiredReplicas != 4 {
		t.Errorf("tolerance 0: desired %d, want ceil(1.04*3) = 4", r.DesiredReplicas)
	}
	// Exactly on target stays put even with no band (both bounds inclusive).
	if r := cfgEval(t, cfg, &hpa.State{}, evT0, 3, 50, pods, evSamples(evT0, pods, 500)); r.DesiredReplicas != 3 {
		t.Errorf("tolerance 0, ratio 1: desired %d, want 3", r.DesiredReplicas)
	}
}

// --horizontal-pod-autoscaler-downscale-stabilization=0s: a recommendation
// from a second ago no longer holds a scale-down.
func TestConfigExplicitZeroDownscaleWindow(t *testing.T) {
	pods := evPods(evT0, 5, 1000, 1000)
	samples := evSamples(evT0, pods, 200) // ratio 0.4: 2 replicas
	prior := func() *hpa.State {
		return &hpa.State{Recommendations: []hpa.Recommendation{{Replicas: 5, Timestamp: evT0.Add(-time.Second)}}}
	}
	if r := cfgEval(t, hpa.DefaultConfig(), prior(), evT0, 5, 50, pods, samples); r.DesiredReplicas != 5 {
		t.Errorf("5m window: desired %d, want 5 (held)", r.DesiredReplicas)
	}
	cfg := hpa.DefaultConfig()
	cfg.DownscaleStabilizationWindow = 0
	r := cfgEval(t, cfg, prior(), evT0, 5, 50, pods, samples)
	if r.DesiredReplicas != 2 {
		t.Errorf("0s window: desired %d, want 2", r.DesiredReplicas)
	}
	if c, _ := r.Condition(hpa.AbleToScale); c.Reason != hpa.ReasonSucceededRescale {
		t.Errorf("AbleToScale = %+v", c)
	}
}

// Upstream's TestFreshControllerZeroWindowScalesDown: the first
// recommendation of a fresh controller is stored at one time.Now() and the
// cutoff is taken from a later one, so with a 0 s window it has expired
// already and the legacy path scales down at once.
func TestFreshControllerZeroWindowScalesDown(t *testing.T) {
	pods := evPods(evT0, 5, 1000, 1000)
	samples := evSamples(evT0, pods, 200)
	cfg := hpa.DefaultConfig()
	cfg.DownscaleStabilizationWindow = 0
	var st hpa.State
	r := cfgEval(t, cfg, &st, evT0, 5, 50, pods, samples)
	if r.DesiredReplicas != 2 || !r.Rescale {
		t.Fatalf("fresh controller, 0 s window: desired %d rescale %v, want 2", r.DesiredReplicas, r.Rescale)
	}
	if c, _ := r.Condition(hpa.ScalingLimited); c.Reason != hpa.ReasonDesiredWithinRange {
		t.Errorf("ScalingLimited = %+v", c)
	}
	// The expired first entry was overwritten, not kept beside the new one.
	if len(st.Recommendations) != 1 || st.Recommendations[0].Replicas != 2 {
		t.Errorf("recommendations = %+v, want the one new entry", st.Recommendations)
	}
	// With a real window the fresh entry holds the scale-down, as upstream.
	var held hpa.State
	if r := cfgEval(t, hpa.DefaultConfig(), &held, evT0, 5, 50, pods, samples); r.DesiredReplicas != 5 {
		t.Errorf("fresh controller, 5m window: desired %d, want 5", r.DesiredReplicas)
	}
	// An entry exactly one window old has expired too (stored strictly
	// before the later cutoff), one a nanosecond younger has not.
	edge := hpa.State{Recommendations: []hpa.Recommendation{{Replicas: 5, Timestamp: evT0.Add(-5 * time.Minute)}}}
	if r := cfgEval(t, hpa.DefaultConfig(), &edge, evT0, 5, 50, pods, samples); r.DesiredReplicas != 2 {
		t.Errorf("entry exactly at the cutoff: desired %d, want 2", r.DesiredReplicas)
	}
	inside := hpa.State{Recommendations: []hpa.Recommendation{{Replicas: 5, Timestamp: evT0.Add(-5*time.Minute + time.Nanosecond)}}}
	if r := cfgEval(t, hpa.DefaultConfig(), &inside, evT0, 5, 50, pods, samples); r.DesiredReplicas != 5 {
		t.Errorf("entry inside the window: desired %d, want 5", r.DesiredReplicas)
	}
}

// The same on the behavior path: scaleDown window 0 scales down at once,
// and the expired first entry is reused rather than appended.
func TestFreshControllerZeroWindowBehavior(t *testing.T) {
	pods := evPods(evT0, 5, 1000, 1000)
	spec := hpa.Spec{MinReplicas: evInt32(1), MaxReplicas: 10, Metrics: []hpa.MetricSpec{evCPU(50)},
		Behavior: &hpa.Behavior{ScaleDown: &hpa.ScalingRules{StabilizationWindowSeconds: evInt32(0)}}}
	in := hpa.Input{Now: evT0, SpecReplicas: 5, StatusReplicas: 5, Pods: pods, Metrics: []hpa.MetricInput{{Samples: evSamples(evT0, pods, 200)}}}
	var st hpa.State
	r, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
	if err != nil {
		t.Fatal(err)
	}
	if r.DesiredReplicas != 2 || len(st.Recommendations) != 1 {
		t.Errorf("desired %d (want 2), recommendations %+v (want one)", r.DesiredReplicas, st.Recommendations)
	}
}

// The CPU initialization period and the initial readiness delay keep an
// explicit zero too.
func TestConfigExplicitZeroCPUPeriods(t *testing.T) {
	// Started a minute ago, ready 50 s ago; the sample's window began before
	// the pod became ready, so during initialization it is not trusted.
	young := evPod(evT0, evPodOpts{Name: "young", Started: time.Minute, Requests: map[hpa.ResourceName]int64{hpa.ResourceCPU: 1000}})
	young.ReadyTransition = evT0.Add(-50 * time.Second)
	old := evPods(evT0, 1, 1000, 1000)[0]
	pods := []hpa.Pod{old, young}
	samples := []hpa.PodSample{
		{Pod: old.Name, Value: 1000, Timestamp: evT0.Add(-30 * time.Second), Window: 30 * time.Second},
		{Pod: young.Name, Value: 1000, Timestamp: evT0.Add(-30 * time.Second), Window: 30 * time.Second},
	}
	// Default 5m: young is unready; ratio 2 over one ready pod, the unready
	// pod filled with 0 gives ratio 1 → within tolerance after the recheck.
	if r := cfgEval(t, hpa.DefaultConfig(), &hpa.State{}, evT0, 2, 50, pods, samples); r.DesiredReplicas != 2 {
		t.Errorf("5m initialization: desired %d, want 2", r.DesiredReplicas)
	}
	cfg := hpa.DefaultConfig()
	cfg.CPUInitializationPeriod = 0
	if r := cfgEval(t, cfg, &hpa.State{}, evT0, 2, 50, pods, samples); r.DesiredReplicas != 4 {
		t.Errorf("0s initialization: desired %d, want 4 (both pods trusted at 200 %%)", r.DesiredReplicas)
	}

	// Long started, Ready=False since 20 s after start: within a 30 s delay
	// it has never been ready (unready); with a 0 s delay it has been.
	flipped := evPod(evT0, evPodOpts{Name: "flipped", Ready: hpa.ConditionFalse, Requests: map[hpa.ResourceName]int64{hpa.ResourceCPU: 1000}})
	flipped.ReadyTransition = flipped.StartTime.Add(20 * time.Second)
	pods = []hpa.Pod{old, flipped}
	samples[1].Pod = flipped.Name
	if r := cfgEval(t, hpa.DefaultConfig(), &hpa.State{}, evT0, 2, 50, pods, samples); r.DesiredReplicas != 2 {
		t.Errorf("30s readiness delay: desired %d, want 2", r.DesiredReplicas)
	}
	cfg = hpa.DefaultConfig()
	cfg.InitialReadinessDelay = 0
	if r := cfgEval(t, cfg, &hpa.State{}, evT0, 2, 50, pods, samples); r.DesiredReplicas != 4 {
		t.Errorf("0s readiness delay: desired %d, want 4", r.DesiredReplicas)
	}
}

// A Config that skipped DefaultConfig, or carries NaN or negative values,
// is refused loudly instead of running with silent zeros.
func TestConfigRefused(t *testing.T) {
	pods := evPods(evT0, 2, 1000, 1000)
	spec := hpa.Spec{MaxReplicas: 5, Metrics: []hpa.MetricSpec{evCPU(50)}}
	in := hpa.Input{Now: evT0, SpecReplicas: 2, StatusReplicas: 2, Pods: pods, Metrics: []hpa.MetricInput{{Samples: evSamples(evT0, pods, 500)}}}
	edits := map[string]func(*hpa.Config){
		"zero Config":            func(c *hpa.Config) { *c = hpa.Config{} },
		"NaN tolerance":          func(c *hpa.Config) { c.Tolerance = math.NaN() },
		"negative tolerance":     func(c *hpa.Config) { c.Tolerance = -0.1 },
		"infinite tolerance":     func(c *hpa.Config) { c.Tolerance = math.Inf(1) },
		"negative window":        func(c *hpa.Config) { c.DownscaleStabilizationWindow = -time.Second },
		"negative cpu period":    func(c *hpa.Config) { c.CPUInitializationPeriod = -time.Second },
		"negative delay":         func(c *hpa.Config) { c.InitialReadinessDelay = -time.Second },
		"negative sync period":   func(c *hpa.Config) { c.SyncPeriod = -time.Second },
		"zero limit factor":      func(c *hpa.Config) { c.ScaleUpLimitFactor = 0 },
		"NaN limit factor":       func(c *hpa.Config) { c.ScaleUpLimitFactor = math.NaN() },
		"negative limit minimum": func(c *hpa.Config) { c.ScaleUpLimitMinimum = -4 },
	}
	for name, edit := range edits {
		cfg := hpa.DefaultConfig()
		edit(&cfg)
		var st hpa.State
		if _, err := hpa.Evaluate(cfg, spec, in, &st); !errors.Is(err, hpa.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
		if len(st.Recommendations) != 0 {
			t.Errorf("%s: the State was written", name)
		}
	}
}

// Upstream converts max(factor*current, minimum) to int32 unchecked, which
// wraps negative past MaxInt32; kscale saturates.
func TestLegacyScaleUpLimitSaturates(t *testing.T) {
	pods := evPods(evT0, 4, 1000, 1000)
	samples := evSamples(evT0, pods, 1000) // ratio 2: 8 replicas
	spec := hpa.Spec{MaxReplicas: math.MaxInt32, Metrics: []hpa.MetricSpec{evCPU(50)}}
	for _, f := range []float64{math.Inf(1), 1e300, 1e9} {
		cfg := hpa.DefaultConfig()
		cfg.ScaleUpLimitFactor = f
		in := hpa.Input{Now: evT0, SpecReplicas: 4, StatusReplicas: 4, Pods: pods, Metrics: []hpa.MetricInput{{Samples: samples}}}
		r, err := hpa.Evaluate(cfg, spec, in, &hpa.State{})
		if err != nil {
			t.Fatal(err)
		}
		if r.DesiredReplicas != 8 {
			t.Errorf("factor %g: desired %d, want 8 (the limit saturates at MaxInt32, not wraps)", f, r.DesiredReplicas)
		}
	}
	// A current count near MaxInt32 with the default factor 2.
	big := int32(math.MaxInt32 - 10)
	in := hpa.Input{Now: evT0, SpecReplicas: big, StatusReplicas: big, Pods: pods, Metrics: []hpa.MetricInput{{Samples: samples}}}
	r, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &hpa.State{})
	if err != nil {
		t.Fatal(err)
	}
	if r.DesiredReplicas < big {
		t.Errorf("current %d: desired %d went below current (wrapped)", big, r.DesiredReplicas)
	}
}

// An HPA without metrics gets the API server's default, cpu at 80 %; with
// no samples for it Evaluate returns a typed error, never a panic.
func TestEvaluateNoMetrics(t *testing.T) {
	pods := evPods(evT0, 3, 1000, 1000)
	spec := hpa.Spec{MaxReplicas: 10}
	var st hpa.State
	_, err := hpa.Evaluate(hpa.DefaultConfig(), spec, hpa.Input{Now: evT0, SpecReplicas: 3, StatusReplicas: 3, Pods: pods}, &st)
	if !errors.Is(err, hpa.ErrInvalidInput) || len(st.Recommendations) != 0 {
		t.Fatalf("no metrics, no samples: err %v, state %+v", err, st)
	}
	in := hpa.Input{Now: evT0, SpecReplicas: 3, StatusReplicas: 3, Pods: pods, Metrics: []hpa.MetricInput{{Samples: evSamples(evT0, pods, 1200)}}}
	r, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
	if err != nil {
		t.Fatal(err)
	}
	// 120 % over an 80 % target: ratio 1.5, 5 replicas.
	if r.DesiredReplicas != 5 || r.RescaleReason != "cpu resource utilization (percentage of request) above target" {
		t.Errorf("defaulted cpu 80 %%: desired %d reason %q", r.DesiredReplicas, r.RescaleReason)
	}
	if len(r.CurrentMetrics) != 1 || r.CurrentMetrics[0].Current.AverageUtilization != 120 {
		t.Errorf("current metrics = %+v", r.CurrentMetrics)
	}
	// Every metric failing (here the only one) stops the evaluation, as upstream.
	in.Metrics[0] = hpa.MetricInput{Err: errors.New("down")}
	r, err = hpa.Evaluate(hpa.DefaultConfig(), spec, in, &st)
	if err != nil || !r.Stopped || r.Err == nil {
		t.Errorf("failed default metric: err %v stopped %v result err %v", err, r.Stopped, r.Err)
	}
}

// Samples in another order than the pods: the sample of an unready pod
// that comes after the others is still that pod's, and upstream drops it
// (removeMetricsForPods); it is not a superfluous sample. Found by
// FuzzConverter.
func TestSamplesOutOfOrderUnreadyPodDropped(t *testing.T) {
	pods := []hpa.Pod{
		evPod(evT0, evPodOpts{Name: "p0", Phase: hpa.PodPending}),
		evPod(evT0, evPodOpts{Name: "p1"}),
		evPod(evT0, evPodOpts{Name: "p2"}),
	}
	at := evT0.Add(-10 * time.Second)
	for _, order := range [][]string{{"p1", "p2", "p0"}, {"p0", "p1", "p2"}, {"p2", "p0", "p1"}} {
		vals := map[string]int64{"p0": 40_000, "p1": 10_000, "p2": 10_000}
		var samples []hpa.PodSample
		for _, n := range order {
			samples = append(samples, hpa.PodSample{Pod: n, Value: vals[n], Timestamp: at, Window: time.Minute})
		}
		spec := hpa.Spec{MaxReplicas: 10, Metrics: []hpa.MetricSpec{{Type: hpa.PodsMetric, Name: "rps",
			Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 10_000}}}}
		in := hpa.Input{Now: evT0, SpecReplicas: 3, StatusReplicas: 3, Pods: pods, Metrics: []hpa.MetricInput{{Samples: samples}}}
		r, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &hpa.State{})
		if err != nil {
			t.Fatal(err)
		}
		if r.DesiredReplicas != 3 || r.CurrentMetrics[0].Current.AverageValue != 10_000 {
			t.Errorf("order %v: desired %d average %d, want 3 and 10000 (the pending pod's sample dropped)",
				order, r.DesiredReplicas, r.CurrentMetrics[0].Current.AverageValue)
		}
	}
}
