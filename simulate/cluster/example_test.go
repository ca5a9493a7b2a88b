package cluster_test

import (
	"context"
	"fmt"
	"os"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kscale/kscale/simulate/cluster"
)

// A policy test in code: a step in load, a CPU HPA and one node group.
// How long do users wait, and what does the day cost?
func ExampleRun() {
	minR, target := int32(2), int32(60)
	sc := &cluster.Scenario{
		Name:     "checkout",
		Duration: cluster.Duration{Duration: 2 * time.Hour},
		Workloads: []cluster.Workload{{
			Name: "checkout", Replicas: 2, CPU: "500m", Memory: "256Mi",
			Service: cluster.Service{CPUPerRequest: "3m"},
			Load:    cluster.Trace{Type: "step", Value: 100, To: 1500, At: cluster.Duration{Duration: time.Hour}},
			HPA: &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: 50,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
					Resource: &autoscalingv2.ResourceMetricSource{Name: "cpu",
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}}},
		}},
		Groups: []cluster.Group{{Name: "pool", CPU: "4", Memory: "16Gi", Max: 10, Initial: 1, PricePerHour: 0.192}},
	}
	r, err := cluster.Run(context.Background(), sc, cluster.Options{})
	if err != nil {
		panic(err)
	}
	s := r.Summary
	fmt.Printf("peak %d replicas on %d nodes, %.0f pod-seconds pending, %.0f s above target, $%.2f\n",
		s.PeakReplicas, s.PeakNodes, s.PendingPodSeconds, s.AboveTargetSeconds, s.Cost)
	// Output:
	// peak 15 replicas on 3 nodes, 1385 pod-seconds pending, 225 s above target, $0.77
}

// Comparing two configurations: the shipped scenario with and without its
// cron pre-scale, side by side.
func ExampleWriteTable() {
	var results []*cluster.Result
	for _, name := range []string{"default", "hpa-only"} {
		sc, err := cluster.Builtin(name)
		if err != nil {
			panic(err)
		}
		r, err := cluster.Run(context.Background(), sc, cluster.Options{})
		if err != nil {
			panic(err)
		}
		results = append(results, r)
	}
	cluster.WriteTable(os.Stdout, results...)
	// Output:
	//                         scenario  hpa+cron  hpa-only
	//                       node-hours      41.3      32.3
	//                         cost ($)      5.88      5.22
	//                       peak nodes         6         5
	//              pod-seconds pending      5940      1270
	//                 max pending pods        33         4
	//   pod-seconds pending under load         0      1025
	//                 max pod wait (s)       180       185
	//             seconds above target       105      1920
	//                    peak replicas        40        32
	//            workload scale events         8        35
	//                   node scale-ups         1         4
	//                 node scale-downs         6         5
	//                  failed launches         0         0
	//
	// ! hpa+cron/web: HPA could not act in 6 sync(s) from 0s to 1m15s: FailedGetResourceMetric: the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)
	// ! hpa-only/web: HPA could not act in 6 sync(s) from 0s to 1m15s: FailedGetResourceMetric: the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)
}

// Bad input is refused before anything runs, every problem by its path.
func ExampleParse_refused() {
	_, err := cluster.Parse([]byte(`
name: typo
hpa: {syncPeriod: 500ms}
workloads:
  - name: web
    cpu: 1e308
    memory: 512Mi
    service: {cpuPerRequest: 5m}
    load: {type: csv, csv: "0s,100\n1h,NaN"}
groups:
  - {name: pool, cpu: 4, memory: 16Gi, max: 10, pricePerHour: -1, maxPods: -5}
`))
	fmt.Println(err)
	// Output:
	// cluster: invalid scenario:
	//   hpa.syncPeriod: 500ms is not a whole number of seconds: the simulator steps in seconds
	//   workloads[0].cpu: "1e+308" is over 100000
	//   workloads[0].load: csv line 2: rps is not a finite number
	//   groups[0].maxPods: -5 must not be negative
	//   groups[0].pricePerHour: -1 must not be below 0
}

// An HPA on requests per second: the Pods metric requests_per_second is
// each ready pod's share of the load, read as from the custom metrics API.
func ExampleRun_requestsPerSecond() {
	sc, err := cluster.Builtin("rps")
	if err != nil {
		panic(err)
	}
	r, err := cluster.Run(context.Background(), sc, cluster.Options{})
	if err != nil {
		panic(err)
	}
	web := r.Series.Workloads[0]
	at := 9 * 60 // 09:00, the peak
	fmt.Printf("09:00: %.0f requests/s, %d replicas, %.1f requests/s a pod, %.0f %% CPU\n",
		web.Load[at], web.Desired[at], web.RPSPerPod[at], web.Utilization[at])
	// Output:
	// 09:00: 2000 requests/s, 40 replicas, 50.0 requests/s a pod, 54 % CPU
}
