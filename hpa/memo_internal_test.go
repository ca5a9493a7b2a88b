package hpa

import (
	"testing"
	"time"
)

// Pods sharing one container list (as a controller's cache or the
// simulator builds them) must give the same answer as pods with their own
// copies, including when one pod in the middle differs.
func TestSharedContainerListsGiveTheSameAnswer(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	shared := []Container{{Name: "app", Requests: Resources{{Name: ResourceCPU, Milli: 500}}}}
	other := []Container{{Name: "app", Requests: Resources{{Name: ResourceCPU, Milli: 1000}}}}
	build := func(share bool) Input {
		in := Input{Now: now, SpecReplicas: 5, StatusReplicas: 5}
		var samples []PodSample
		for i := range 5 {
			c := shared
			if i == 2 {
				c = other
			}
			if !share {
				c = append([]Container(nil), c...)
			}
			name := string(rune('a' + i))
			in.Pods = append(in.Pods, Pod{Name: name, Phase: PodRunning, Ready: ConditionTrue, StartTime: now.Add(-time.Hour),
				ReadyTransition: now.Add(-time.Hour), Containers: c})
			samples = append(samples, PodSample{Pod: name, Value: 450, Timestamp: now, Window: time.Minute})
		}
		in.Metrics = []MetricInput{{Samples: samples}}
		return in
	}
	minR := int32(1)
	spec := Spec{MinReplicas: &minR, MaxReplicas: 20, Metrics: []MetricSpec{{Type: ResourceMetric, Name: "cpu",
		Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: 50}}}}
	a, err1 := Evaluate(DefaultConfig(), spec, build(true), &State{})
	b, err2 := Evaluate(DefaultConfig(), spec, build(false), &State{})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	// 5 × 450m over 4 × 500m + 1000m = 75 % of a 50 % target → 8 replicas.
	if a.DesiredReplicas != b.DesiredReplicas || a.DesiredReplicas != 8 ||
		a.CurrentMetrics[0].Current.AverageUtilization != b.CurrentMetrics[0].Current.AverageUtilization {
		t.Fatalf("shared %d (%v), copied %d (%v)", a.DesiredReplicas, a.CurrentMetrics, b.DesiredReplicas, b.CurrentMetrics)
	}
}
