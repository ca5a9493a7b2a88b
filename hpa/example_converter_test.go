package hpa_test

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kscale/kscale/hpa"
)

// A controller fed by informers keeps one Converter and one State per HPA.
// At every sync it converts the HPA, the pods its target selects and the
// metrics APIs' answers, evaluates, and writes the status back; pods whose
// resourceVersion did not change since the last sync are not converted
// again.
func ExampleConverter() {
	// An HPA on cpu and memory utilization and a Pods metric, its 4 pods
	// and the metrics APIs' answers, as informers and clients return them
	// (built in bench_v1_test.go).
	w := newV1World(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), 4, 3)
	var (
		conv  hpa.Converter
		state hpa.State
		obj   = w.hpa // from the HPA informer
	)
	sync := func(now time.Time, pods []*corev1.Pod) {
		spec, err := conv.Spec(obj)
		if err != nil {
			fmt.Println(err)
			return
		}
		in := hpa.Input{Now: now, Namespace: obj.Namespace, SpecReplicas: 4, StatusReplicas: 4, Pods: conv.Pods(pods)}
		for i, m := range spec.Metrics {
			switch m.Type {
			case hpa.ResourceMetric: // one metrics.k8s.io listing serves cpu and memory
				in.Metrics = append(in.Metrics, conv.ResourceMetric(i, w.usage, hpa.ResourceName(m.Name), m.Container))
			case hpa.PodsMetric:
				in.Metrics = append(in.Metrics, conv.PodsMetric(i, w.rps))
			}
		}
		res, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &state)
		if err != nil {
			fmt.Println(err)
			return
		}
		hpa.ApplyStatus(obj, res, now)
		fmt.Printf("%s: desired %d, cpu %d%%, observedGeneration %d\n", now.Format("15:04:05"),
			obj.Status.DesiredReplicas, *obj.Status.CurrentMetrics[0].Resource.Current.AverageUtilization, *obj.Status.ObservedGeneration)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	sync(now, w.pods)
	sync(now.Add(15*time.Second), w.pods) // the informer's pods are unchanged: served from the cache
	// Output:
	// 09:00:00: desired 4, cpu 51%, observedGeneration 3
	// 09:00:15: desired 4, cpu 51%, observedGeneration 3
}
