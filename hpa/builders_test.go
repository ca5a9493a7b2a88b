package hpa_test

import (
	"fmt"
	"time"

	"github.com/kscale/kscale/hpa"
)

// evT0 is the base instant of the black-box tests.
var evT0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// evPodOpts describes a test pod; zero fields take sensible defaults.
type evPodOpts struct {
	Name     string
	Phase    hpa.PodPhase // default Running
	Ready    hpa.ConditionStatus
	Started  time.Duration // how long before now the pod started; default 1h
	Requests map[hpa.ResourceName]int64
}

// evPods builds n ready, long-running pods, each requesting req milli-CPU and
// reqMem milli-bytes of memory.
func evPods(now time.Time, n int, req, reqMem int64) []hpa.Pod {
	pods := make([]hpa.Pod, n)
	for i := range pods {
		pods[i] = evPod(now, evPodOpts{Name: fmt.Sprintf("pod-%d", i),
			Requests: map[hpa.ResourceName]int64{hpa.ResourceCPU: req, hpa.ResourceMemory: reqMem}})
	}
	return pods
}

func evPod(now time.Time, o evPodOpts) hpa.Pod {
	if o.Phase == "" {
		o.Phase = hpa.PodRunning
	}
	if o.Ready == "" {
		o.Ready = hpa.ConditionTrue
	}
	if o.Started == 0 {
		o.Started = time.Hour
	}
	var reqs hpa.Resources
	for _, name := range []hpa.ResourceName{hpa.ResourceCPU, hpa.ResourceMemory} {
		if v, ok := o.Requests[name]; ok {
			reqs = append(reqs, hpa.Quantity{Name: name, Milli: v})
		}
	}
	start := now.Add(-o.Started)
	return hpa.Pod{
		Name: o.Name, Phase: o.Phase, Ready: o.Ready,
		StartTime: start, ReadyTransition: start.Add(10 * time.Second),
		Containers: []hpa.Container{{Name: "app", Requests: reqs}},
	}
}

// evSamples gives each pod the value at the same index, aligned with pods.
func evSamples(now time.Time, pods []hpa.Pod, values ...int64) []hpa.PodSample {
	s := make([]hpa.PodSample, len(pods))
	for i := range pods {
		s[i] = hpa.PodSample{Pod: pods[i].Name, Value: values[i%len(values)],
			Timestamp: now.Add(-15 * time.Second), Window: 30 * time.Second}
	}
	return s
}

func evCPU(target int32) hpa.MetricSpec {
	return hpa.MetricSpec{Type: hpa.ResourceMetric, Name: "cpu",
		Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: target}}
}

func evInt32(v int32) *int32 { return &v }
