package hpa_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kscale/kscale/hpa"
)

// A CPU-utilization HPA: three pods requesting one core each use 0.3, 0.5 and
// 0.7 cores against a 30 % target, so the HPA asks for ceil(50/30 × 3) = 5.
func ExampleEvaluate() {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	minReplicas := int32(2)
	spec := hpa.Spec{MinReplicas: &minReplicas, MaxReplicas: 6, Metrics: []hpa.MetricSpec{{
		Type: hpa.ResourceMetric, Name: "cpu",
		Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 30},
	}}}
	var pods []hpa.Pod
	var samples []hpa.PodSample
	for i, usage := range []int64{300, 500, 700} {
		name := fmt.Sprintf("web-%d", i)
		started := now.Add(-time.Hour)
		pods = append(pods, hpa.Pod{Name: name, Phase: hpa.PodRunning, Ready: hpa.ConditionTrue,
			StartTime: started, ReadyTransition: started.Add(20 * time.Second),
			Containers: []hpa.Container{{Name: "app", Requests: hpa.Resources{{Name: hpa.ResourceCPU, Milli: 1000}}}}})
		samples = append(samples, hpa.PodSample{Pod: name, Value: usage, Timestamp: now.Add(-10 * time.Second), Window: 30 * time.Second})
	}
	in := hpa.Input{Now: now, SpecReplicas: 3, StatusReplicas: 3, Pods: pods,
		Metrics: []hpa.MetricInput{{Samples: samples}}}

	var state hpa.State
	res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &state)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d -> %d (%s)\n", res.CurrentReplicas, res.DesiredReplicas, res.RescaleReason)
	fmt.Printf("utilization %d%%\n", res.CurrentMetrics[0].Current.AverageUtilization)
	for _, c := range res.Conditions {
		fmt.Printf("%s=%s %s\n", c.Type, c.Status, c.Reason)
	}
	// Output:
	// 3 -> 5 (cpu resource utilization (percentage of request) above target)
	// utilization 50%
	// AbleToScale=True SucceededRescale
	// ScalingActive=True ValidMetricFound
	// ScalingLimited=False DesiredWithinRange
	// ScaledToZero=False NotScaledToZero
}

// A queue-driven HPA with behavior policies: the queue asks for 20 replicas,
// but scale-up is limited to 4 pods per minute, so the HPA climbs 2 → 6 → 10.
func ExampleEvaluate_behavior() {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	window := int32(0)
	spec := hpa.Spec{MaxReplicas: 30, Metrics: []hpa.MetricSpec{{
		Type: hpa.ExternalMetric, Name: "queue_messages_ready",
		Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 30_000}, // 30 messages per pod
	}}, Behavior: &hpa.Behavior{ScaleUp: &hpa.ScalingRules{
		StabilizationWindowSeconds: &window,
		Policies:                   []hpa.Policy{{Type: hpa.PodsScalingPolicy, Value: 4, PeriodSeconds: 60}},
	}}}

	var state hpa.State
	replicas := int32(2)
	for minute := range 3 {
		now := t0.Add(time.Duration(minute) * time.Minute)
		in := hpa.Input{Now: now, SpecReplicas: replicas, StatusReplicas: replicas,
			Metrics: []hpa.MetricInput{{Values: []int64{600_000}, Timestamp: now}}} // 600 messages
		res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &state)
		if err != nil {
			fmt.Println(err)
			return
		}
		limited, _ := res.Condition(hpa.ScalingLimited)
		fmt.Printf("minute %d: %d -> %d, %s\n", minute, replicas, res.DesiredReplicas, limited.Reason)
		if res.Rescale { // the caller resized the target; remember the event
			state.RecordRescale(spec.Behavior, now, replicas, res.DesiredReplicas)
			replicas = res.DesiredReplicas
		}
	}
	// Output:
	// minute 0: 2 -> 6, ScaleUpLimit
	// minute 1: 6 -> 10, ScaleUpLimit
	// minute 2: 10 -> 14, ScaleUpLimit
}

// The State survives a restart: persisted as JSON and restored, it still holds
// the recent recommendations, so the downscale stabilization window keeps
// working — upstream's controller would forget it and could scale down at once.
func ExampleState_json() {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	spec := hpa.Spec{MaxReplicas: 10, Metrics: []hpa.MetricSpec{{
		Type: hpa.ExternalMetric, Name: "requests_per_second",
		Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 100_000}, // 100 rps per pod
	}}}
	eval := func(state *hpa.State, now time.Time, rps int64) hpa.Result {
		res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, hpa.Input{Now: now, SpecReplicas: 8, StatusReplicas: 8,
			Metrics: []hpa.MetricInput{{Values: []int64{rps * 1000}, Timestamp: now}}}, state)
		if err != nil {
			panic(err)
		}
		return res
	}

	var state hpa.State
	eval(&state, t0, 800) // 800 rps wants 8 replicas
	saved, _ := json.Marshal(state)

	var restored hpa.State // a new controller process
	if err := json.Unmarshal(saved, &restored); err != nil {
		fmt.Println(err)
		return
	}
	res := eval(&restored, t0.Add(time.Minute), 200) // load drops: 200 rps wants 2
	able, _ := res.Condition(hpa.AbleToScale)
	fmt.Printf("after restart: desired %d, %s\n", res.DesiredReplicas, able.Reason)
	// Output:
	// after restart: desired 8, ScaleDownStabilized
}
