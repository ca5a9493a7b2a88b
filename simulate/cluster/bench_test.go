package cluster

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// bigScenario is the scale target: 200 workloads of about 100 replicas
// (20 000 pods) on about 1 000 nodes, diurnal loads peaking at different
// hours, one day at 1 s resolution.
func bigScenario() *Scenario {
	minR, target := int32(20), int32(60)
	sc := &Scenario{Name: "scale", Seed: 7, Duration: Duration{24 * time.Hour}, Sample: Duration{time.Minute}}
	for i := 0; i < 200; i++ {
		sc.Workloads = append(sc.Workloads, Workload{
			Name: fmt.Sprintf("svc-%03d", i), Replicas: 100, CPU: "400m", Memory: "512Mi",
			StartupLatency: Duration{20 * time.Second}, Jitter: 0.2,
			Service: Service{CPUPerRequest: "2m", BaseCPU: "10m"},
			// About 100 replicas at 60 % of 400m on average.
			Load: Trace{Type: "diurnal", Base: 9000, Peak: 5000, PeakAt: Duration{time.Duration(i%24) * time.Hour}, Width: Duration{2 * time.Hour}},
			HPA: &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: 200,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}}},
		})
	}
	sc.Groups = []Group{
		{Name: "a", CPU: "8", Memory: "32Gi", MaxPods: 58, Min: 1, Max: 1500, Initial: 520, PricePerHour: 0.384, ProvisionDelay: Duration{3 * time.Minute}},
		{Name: "b", CPU: "8", Memory: "32Gi", MaxPods: 58, Min: 0, Max: 1500, Initial: 520, PricePerHour: 0.154, Spot: true, ProvisionDelay: Duration{2 * time.Minute}},
	}
	if err := sc.Validate(); err != nil {
		panic(err)
	}
	return sc
}

// BenchmarkDay simulates the scale scenario for 24 h at 1 s resolution and
// reports the peak pods and nodes and the heap in use at the end.
func BenchmarkDay(b *testing.B) {
	sc := bigScenario()
	var r *Result
	for b.Loop() {
		var err error
		r, err = Run(context.Background(), sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(r.Summary.PeakReplicas), "peak-pods")
	b.ReportMetric(float64(r.Summary.PeakNodes), "peak-nodes")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// BenchmarkRPSDay runs the built-in rps scenario (Pods, External and CPU
// metrics, a memory model and a queue) for a day: the cost of building
// the metrics API values every sync.
func BenchmarkRPSDay(b *testing.B) {
	sc, err := Builtin("rps")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Run(context.Background(), sc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse reads the built-in default scenario strictly.
func BenchmarkParse(b *testing.B) {
	data, err := builtin.ReadFile("scenarios/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
