package hpa_test

import (
	"errors"
	"fmt"
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
			if !errors.Is(err, hpa.ErrInvalidSpec) && !errors.Is(err, hpa.ErrInvalidInput) {
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
