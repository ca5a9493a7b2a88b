package hpa_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kscale/kscale/hpa"
)

// The benchmarks report ns/op and allocs/op for one Evaluate call. Compare two
// runs with benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 10 ./hpa > old.txt
//	(change)
//	go test -run '^$' -bench . -benchmem -count 10 ./hpa > new.txt
//	benchstat old.txt new.txt

// benchHPA builds an HPA over n pods with 1 metric (cpu utilization) or 3
// (cpu and memory utilization, and a Pods metric).
func benchHPA(now time.Time, n, metrics int) (hpa.Spec, hpa.Input) {
	pods := evPods(now, n, 500, 512<<20*1000)
	specs := []hpa.MetricSpec{evCPU(60)}
	inputs := []hpa.MetricInput{{Samples: evSamples(now, pods, 280, 310, 330)}}
	if metrics == 3 {
		specs = append(specs,
			hpa.MetricSpec{Type: hpa.ResourceMetric, Name: "memory", Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 80}},
			hpa.MetricSpec{Type: hpa.PodsMetric, Name: "http_requests_per_second", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 50_000}})
		inputs = append(inputs,
			hpa.MetricInput{Samples: evSamples(now, pods, 400<<20*1000, 420<<20*1000)},
			hpa.MetricInput{Samples: evSamples(now, pods, 48_000, 51_000)})
	}
	spec := hpa.Spec{MinReplicas: evInt32(1), MaxReplicas: int32(4 * n), Metrics: specs}
	in := hpa.Input{Now: now, SpecReplicas: int32(n), StatusReplicas: int32(n), Pods: pods, Metrics: inputs}
	return spec, in
}

func BenchmarkEvaluate(b *testing.B) {
	for _, metrics := range []int{1, 3} {
		for _, n := range []int{10, 100, 1000, 10000} {
			b.Run(fmt.Sprintf("pods=%d/metrics=%d", n, metrics), func(b *testing.B) {
				spec, in := benchHPA(evT0, n, metrics)
				cfg := hpa.DefaultConfig()
				var st hpa.State
				b.ReportAllocs()
				for b.Loop() {
					// Each evaluation is one sync period later, so the state
					// reaches its steady size (overwriting, not growing).
					in.Now = in.Now.Add(15 * time.Second)
					res, err := hpa.Evaluate(cfg, spec, in, &st)
					if err != nil || res.DesiredReplicas != int32(n) {
						b.Fatalf("desired %d, err %v; want %d (within tolerance)", res.DesiredReplicas, err, n)
					}
				}
				b.ReportMetric(float64(n*metrics)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkFleet evaluates 10 000 HPAs of 10 pods and one CPU metric once per op.
func BenchmarkFleet(b *testing.B) {
	const fleet = 10000
	specs := make([]hpa.Spec, fleet)
	inputs := make([]hpa.Input, fleet)
	states := make([]hpa.State, fleet)
	for i := range fleet {
		specs[i], inputs[i] = benchHPA(evT0, 10, 1)
	}
	cfg := hpa.DefaultConfig()
	now := evT0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(15 * time.Second)
		for i := range fleet {
			inputs[i].Now = now
			res, err := hpa.Evaluate(cfg, specs[i], inputs[i], &states[i])
			if err != nil || res.DesiredReplicas != 10 {
				b.Fatalf("hpa %d: desired %d, err %v", i, res.DesiredReplicas, err)
			}
		}
	}
	b.ReportMetric(float64(fleet)*float64(b.N)/b.Elapsed().Seconds(), "hpas/s")
}
