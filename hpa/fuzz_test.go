package hpa_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/kscale/kscale/hpa"
)

// fuzzMetric is a metric source and target chosen by a fuzz byte.
var fuzzMetrics = []hpa.MetricSpec{
	{Type: hpa.ResourceMetric, Name: "cpu", Target: hpa.MetricTarget{Type: hpa.UtilizationTarget}},
	{Type: hpa.ResourceMetric, Name: "memory", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget}},
	{Type: hpa.ContainerResourceMetric, Name: "cpu", Container: "app", Target: hpa.MetricTarget{Type: hpa.UtilizationTarget}},
	{Type: hpa.PodsMetric, Name: "rps", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget}},
	{Type: hpa.ObjectMetric, Name: "rps", Object: hpa.ObjectReference{Kind: "Ingress", Name: "web"}, Target: hpa.MetricTarget{Type: hpa.ValueTarget}},
	{Type: hpa.ObjectMetric, Name: "rps", Object: hpa.ObjectReference{Kind: "Ingress", Name: "web"}, Target: hpa.MetricTarget{Type: hpa.AverageValueTarget}},
	{Type: hpa.ExternalMetric, Name: "queue", Target: hpa.MetricTarget{Type: hpa.ValueTarget}},
	{Type: hpa.ExternalMetric, Name: "queue", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget}},
}

// fuzzCase turns fuzz arguments into one Evaluate call's inputs. scale
// multiplies every observed value, for the monotonicity check.
type fuzzCase struct {
	kind, nPods, current, minR, maxR uint8
	target                           uint32
	usage                            uint32
	podBits                          uint64
	behavior, failOther              bool
}

// steady reports whether every pod is ready with a sample and the pod count
// equals the replica count.
func (f fuzzCase) steady() bool {
	n := int(f.nPods % 24)
	if n != int(f.current%40) {
		return false
	}
	for i := range n {
		if (f.podBits>>(uint(i*2)%64))&3 != 0 || (f.podBits>>(uint(i)+40))&1 != 0 {
			return false
		}
	}
	return true
}

func (f fuzzCase) build(scale int64) (hpa.Config, hpa.Spec, hpa.Input) {
	now := evT0
	ms := fuzzMetrics[int(f.kind)%len(fuzzMetrics)]
	tv := int64(f.target%100000) + 1
	switch ms.Target.Type {
	case hpa.UtilizationTarget:
		ms.Target.AverageUtilization = int32(tv%500) + 1
	case hpa.ValueTarget:
		ms.Target.Value = tv
	default:
		ms.Target.AverageValue = tv
	}
	n := int(f.nPods % 24)
	pods := make([]hpa.Pod, n)
	var samples []hpa.PodSample
	var total int64
	for i := range pods {
		bits := f.podBits >> (uint(i*2) % 64)
		o := evPodOpts{Name: fmt.Sprintf("p%d", i), Requests: map[hpa.ResourceName]int64{hpa.ResourceCPU: 100 + int64(i)*37, hpa.ResourceMemory: 1 << 20}}
		switch bits & 3 {
		case 1:
			o.Phase = hpa.PodPending
		case 2:
			o.Ready, o.Started = hpa.ConditionFalse, 20*time.Second
		}
		pods[i] = evPod(now, o)
		v := (int64(f.usage%5000) + int64(i)*int64(f.usage%97)) * scale
		total += v
		if (f.podBits>>(uint(i)+40))&1 == 0 { // some pods have no sample: missing
			samples = append(samples, hpa.PodSample{Pod: pods[i].Name, Value: v, Timestamp: now.Add(-5 * time.Second), Window: 30 * time.Second})
		}
	}
	in := hpa.Input{Now: now, SpecReplicas: int32(f.current % 40), StatusReplicas: int32(f.current % 40), Pods: pods,
		Metrics: []hpa.MetricInput{{Samples: samples, Value: total, Values: []int64{total}, Timestamp: now}}}
	spec := hpa.Spec{MinReplicas: evInt32(int32(f.minR%10) + 1), MaxReplicas: int32(f.maxR % 60), Metrics: []hpa.MetricSpec{ms}}
	if f.behavior {
		spec.Behavior = &hpa.Behavior{}
	}
	if f.failOther {
		spec.Metrics = append(spec.Metrics, evCPU(50))
		in.Metrics = append(in.Metrics, hpa.MetricInput{Err: errors.New("unavailable")})
	}
	return hpa.DefaultConfig(), spec, in
}

// FuzzEvaluate checks Evaluate's invariants on arbitrary inputs: no panic;
// only typed errors; the result within [min, max] whenever the evaluation
// reached a decision from a current count inside that range; no scale-down
// while a metric failed; and, for a single metric, more load never gives fewer
// replicas where upstream's rule is monotonic: every listed pod ready with a
// sample and as many pods as replicas. (During a surge upstream itself is not
// monotonic: a ratio just below 1 multiplies the larger ready count, while a
// ratio just above 1 is refused by the direction-flip recheck. The committed
// corpus keeps such a case.)
func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(0), uint8(3), uint8(3), uint8(1), uint8(10), uint32(50), uint32(700), uint64(0), false, false)
	f.Add(uint8(3), uint8(8), uint8(8), uint8(2), uint8(20), uint32(1000), uint32(300), uint64(0xdeadbeef), true, false)
	f.Add(uint8(6), uint8(0), uint8(0), uint8(0), uint8(5), uint32(10), uint32(0), uint64(0), true, true)
	f.Fuzz(func(t *testing.T, kind, nPods, current, minR, maxR uint8, target, usage uint32, podBits uint64, behavior, failOther bool) {
		fc := fuzzCase{kind, nPods, current, minR, maxR, target, usage, podBits, behavior, failOther}
		cfg, spec, in := fc.build(1)
		var st hpa.State
		res, err := hpa.Evaluate(cfg, spec, in, &st)
		if err != nil {
			if !errors.Is(err, hpa.ErrInvalidSpec) && !errors.Is(err, hpa.ErrInvalidInput) && !errors.Is(err, hpa.ErrInvalidConfig) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		minReplicas, cur := *spec.MinReplicas, in.SpecReplicas
		if res.Rescale && cur >= minReplicas && cur <= spec.MaxReplicas &&
			(res.DesiredReplicas < minReplicas || res.DesiredReplicas > spec.MaxReplicas) {
			t.Fatalf("desired %d outside [%d, %d] from current %d", res.DesiredReplicas, minReplicas, spec.MaxReplicas, cur)
		}
		if !res.Rescale && res.DesiredReplicas != cur {
			t.Fatalf("no rescale but desired %d != current %d", res.DesiredReplicas, cur)
		}
		for _, p := range res.Proposals {
			if p.Err != nil && res.Rescale && res.DesiredReplicas < cur {
				t.Fatalf("scaled down %d -> %d while a metric failed: %v", cur, res.DesiredReplicas, p.Err)
			}
		}
		if failOther || !fc.steady() {
			return
		}
		_, _, in2 := fc.build(2)
		var st2 hpa.State
		res2, err := hpa.Evaluate(cfg, spec, in2, &st2)
		if err != nil {
			t.Fatalf("doubled load: %v", err)
		}
		if !res.Stopped && !res2.Stopped && res2.DesiredReplicas < res.DesiredReplicas {
			t.Fatalf("doubling the load lowered desired %d -> %d", res.DesiredReplicas, res2.DesiredReplicas)
		}
	})
}

// fuzzBytes hands out values from fuzz data, zeros once it runs out.
type fuzzBytes []byte

func (b *fuzzBytes) u8() uint8 {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return v
}

func (b *fuzzBytes) pick(n int) int { return int(b.u8()) % n }
func (b *fuzzBytes) bool() bool     { return b.u8()&1 == 1 }

// i64 returns small, zero, negative and extreme values.
func (b *fuzzBytes) i64() int64 {
	switch b.pick(8) {
	case 0:
		return 0
	case 1:
		return -int64(b.u8()) - 1
	case 2:
		return math.MaxInt64
	case 3:
		return math.MinInt64
	case 4:
		return int64(math.MaxInt32) + int64(b.u8())
	default:
		return int64(b.u8())*int64(b.u8()+1)*10 + 1
	}
}

func (b *fuzzBytes) i32() int32 {
	switch b.pick(6) {
	case 0:
		return 0
	case 1:
		return -int32(b.u8())
	case 2:
		return math.MaxInt32 - int32(b.u8())
	default:
		return int32(b.u8() % 40)
	}
}

var (
	fuzzSourceTypes = []hpa.MetricSourceType{hpa.ResourceMetric, hpa.ContainerResourceMetric, hpa.PodsMetric, hpa.ObjectMetric, hpa.ExternalMetric, "", "Bogus"}
	fuzzTargetTypes = []hpa.MetricTargetType{hpa.UtilizationTarget, hpa.ValueTarget, hpa.AverageValueTarget, "", "Median"}
	fuzzPolicyTypes = []hpa.PolicyType{hpa.PodsScalingPolicy, hpa.PercentScalingPolicy, "Nodes"}
	fuzzSelects     = []hpa.SelectPolicy{hpa.MaxChangePolicySelect, hpa.MinChangePolicySelect, hpa.DisabledPolicySelect, "Sometimes"}
)

func (b *fuzzBytes) rules() *hpa.ScalingRules {
	if b.pick(3) == 0 {
		return nil
	}
	r := &hpa.ScalingRules{}
	if b.bool() {
		w := b.i32()
		r.StabilizationWindowSeconds = &w
	}
	if b.bool() {
		sp := fuzzSelects[b.pick(len(fuzzSelects))]
		r.SelectPolicy = &sp
	}
	if b.bool() {
		r.Policies = []hpa.Policy{}
		for range b.pick(3) {
			r.Policies = append(r.Policies, hpa.Policy{Type: fuzzPolicyTypes[b.pick(len(fuzzPolicyTypes))], Value: b.i32(), PeriodSeconds: b.i32()})
		}
	}
	if b.bool() {
		tol := []float64{0, 0.05, 1e308, math.Inf(1), math.NaN(), -1}[b.pick(6)]
		r.Tolerance = &tol
	}
	return r
}

// degenerateCase builds an Evaluate call from fuzz data, reaching the
// corners: no metrics, crossed or missing target fields, zero, negative and
// extreme values, empty or bogus behaviors, absurd histories and configs,
// and Inputs that do not match the spec.
func degenerateCase(data []byte) (hpa.Config, hpa.Spec, hpa.Input, *hpa.State) {
	b := fuzzBytes(data)
	cfg := hpa.DefaultConfig()
	switch b.pick(10) {
	case 1:
		cfg.Tolerance = 0
	case 2:
		cfg.ScaleUpLimitFactor = math.Inf(1)
	case 3:
		cfg.Tolerance = math.NaN()
	case 4:
		cfg.DownscaleStabilizationWindow = 0
	case 5:
		cfg = hpa.Config{}
	case 6:
		cfg.ScaleToZero, cfg.PodLevelResources = false, false
	case 7:
		cfg.ScaleUpLimitFactor, cfg.ScaleUpLimitMinimum = 1e300, 1e300
	}
	now := evT0
	spec := hpa.Spec{MaxReplicas: b.i32()}
	if b.bool() {
		m := b.i32()
		spec.MinReplicas = &m
	}
	nm := b.pick(4)
	for range nm {
		m := hpa.MetricSpec{Type: fuzzSourceTypes[b.pick(len(fuzzSourceTypes))], Name: []string{"cpu", "memory", "", "qps"}[b.pick(4)],
			Container: []string{"app", "", "sidecar"}[b.pick(3)], Object: hpa.ObjectReference{Kind: "Ingress", Name: "web"},
			Target: hpa.MetricTarget{Type: fuzzTargetTypes[b.pick(len(fuzzTargetTypes))]}}
		if b.bool() {
			m.Target.Value = b.i64()
		}
		if b.bool() {
			m.Target.AverageValue = b.i64()
		}
		if b.bool() {
			m.Target.AverageUtilization = b.i32()
		}
		spec.Metrics = append(spec.Metrics, m)
	}
	if b.bool() {
		spec.Behavior = &hpa.Behavior{ScaleUp: b.rules(), ScaleDown: b.rules()}
	}
	current := b.i32()
	in := hpa.Input{Now: now, Namespace: "ns", SpecReplicas: current, StatusReplicas: b.i32(), ScaledToZero: b.bool()}
	for i := range b.pick(6) {
		o := evPodOpts{Name: fmt.Sprintf("p%d", i), Requests: map[hpa.ResourceName]int64{hpa.ResourceCPU: b.i64(), hpa.ResourceMemory: b.i64()}}
		switch b.pick(5) {
		case 1:
			o.Phase = hpa.PodPending
		case 2:
			o.Phase = hpa.PodFailed
		case 3:
			o.Ready, o.Started = hpa.ConditionFalse, 20*time.Second
		}
		in.Pods = append(in.Pods, evPod(now, o))
	}
	inputs := nm
	if nm == 0 || b.pick(8) == 0 {
		inputs = b.pick(3)
	}
	for range inputs {
		mi := hpa.MetricInput{Value: b.i64(), Timestamp: now, Listed: b.pick(3)}
		for _, p := range in.Pods {
			if b.bool() {
				mi.Samples = append(mi.Samples, hpa.PodSample{Pod: p.Name, Value: b.i64(), Timestamp: now.Add(-10 * time.Second), Window: 30 * time.Second})
			}
		}
		if b.bool() {
			mi.Samples = append(mi.Samples, hpa.PodSample{Pod: "ghost", Value: b.i64(), Timestamp: now})
		}
		for range b.pick(3) {
			mi.Values = append(mi.Values, b.i64())
		}
		if b.pick(5) == 0 {
			mi.Err = errors.New("unavailable")
		}
		in.Metrics = append(in.Metrics, mi)
	}
	st := &hpa.State{}
	for range b.pick(3) {
		t := now.Add(-time.Duration(b.u8()) * time.Second)
		st.Recommendations = append(st.Recommendations, hpa.Recommendation{Replicas: b.i32(), Timestamp: t})
		st.ScaleUpEvents = append(st.ScaleUpEvents, hpa.ScaleEvent{Change: b.i32(), Timestamp: t})
		st.ScaleDownEvents = append(st.ScaleDownEvents, hpa.ScaleEvent{Change: b.i32(), Timestamp: t})
	}
	if b.pick(16) == 0 {
		st = nil
	}
	return cfg, spec, in, st
}

// FuzzEvaluateDegenerate feeds Evaluate empty and degenerate specs,
// configs, inputs and histories: it must never panic, return only typed
// errors, and, having decided a rescale from a count inside [min, max],
// stay inside it.
func FuzzEvaluateDegenerate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 5, 0, 0})                                            // no metrics, no samples
	f.Add([]byte{0, 3, 1, 3, 1, 0, 0, 0, 0, 0, 1, 4, 1, 7, 1, 9, 0, 30}) // one metric, behavior
	f.Add([]byte{2, 2, 7, 1, 2, 3, 4, 1, 1, 2, 1, 0, 1, 2, 1, 1, 2, 3, 2, 9, 9, 1, 1, 1, 1})
	f.Add([]byte{7, 2, 3, 0, 1, 4, 2, 0, 1, 0, 0, 1, 3, 2, 2, 2, 2, 0, 1, 1, 1, 1, 0, 0, 1, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, spec, in, st := degenerateCase(data)
		res, err := hpa.Evaluate(cfg, spec, in, st)
		if err != nil {
			if !errors.Is(err, hpa.ErrInvalidSpec) && !errors.Is(err, hpa.ErrInvalidInput) && !errors.Is(err, hpa.ErrInvalidConfig) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		minReplicas := int32(1)
		if spec.MinReplicas != nil {
			minReplicas = *spec.MinReplicas
		}
		cur := in.SpecReplicas
		if res.DesiredReplicas < 0 {
			t.Fatalf("negative desired %d", res.DesiredReplicas)
		}
		if res.Rescale && cur >= minReplicas && cur <= spec.MaxReplicas &&
			(res.DesiredReplicas < minReplicas || res.DesiredReplicas > spec.MaxReplicas) {
			t.Fatalf("desired %d outside [%d, %d] from current %d", res.DesiredReplicas, minReplicas, spec.MaxReplicas, cur)
		}
		if !res.Rescale && res.DesiredReplicas != cur {
			t.Fatalf("no rescale but desired %d != current %d", res.DesiredReplicas, cur)
		}
	})
}
