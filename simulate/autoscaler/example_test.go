package autoscaler_test

import (
	"fmt"
	"time"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// One loop over three scans: pending pods trigger a scale-up, the launch
// counts as an upcoming node while it registers, and the empty node left
// after the load goes is removed once unneeded for ten minutes (its timer ran through the
// delay after the scale-up).
func ExampleAutoscaler_Step() {
	r := nodegroup.Resources{MilliCPU: 4000, Memory: 16 << 30, Pods: 110}
	tmpl := nodegroup.Template{InstanceType: "m5.xlarge", Capacity: r, Allocatable: r, PricePerHour: 0.192}
	web := func(i int, node string) simulate.Pod {
		return simulate.Pod{Namespace: "default", Name: fmt.Sprintf("web-%d", i), NodeName: node,
			Requests: nodegroup.Resources{MilliCPU: 1000, Memory: 1 << 30}, Owner: &simulate.Owner{Kind: "ReplicaSet", Name: "web"}}
	}
	a, err := autoscaler.New(autoscaler.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n1 := autoscaler.Node{ProviderID: "aws:///eu-west-1a/i-1", Node: simulate.Node{Name: "n1", Group: "workers", Allocatable: r}}
	n2 := autoscaler.Node{ProviderID: "aws:///eu-west-1a/i-2", Node: simulate.Node{Name: "n2", Group: "workers", Allocatable: r}}

	// 09:00: 6 pods of one core, 4 running on n1, 2 pending.
	obs := &autoscaler.Observation{Nodes: []autoscaler.Node{n1},
		Groups: []autoscaler.Group{{ID: "workers", Min: 1, Max: 5, Target: 1, Template: tmpl}}}
	for i := range 6 {
		obs.Pods = append(obs.Pods, web(i, map[bool]string{true: "n1"}[i < 4]))
	}
	act, _ := a.Step(now, obs)
	for _, c := range act.Increases {
		fmt.Printf("%s: %s +%d %s\n", now.Format("15:04"), c.Reason, c.Delta, c.Group)
	}

	// 09:01: the provider's target is 2, the node not registered yet.
	obs.Groups[0].Target = 2
	act, _ = a.Step(now.Add(time.Minute), obs)
	fmt.Printf("09:01: %d increases, upcoming %v\n", len(act.Increases), act.Upcoming)

	// 09:04: n2 registered; later the load went and only n1's pods remain.
	obs.Nodes = []autoscaler.Node{n1, n2}
	obs.Pods = obs.Pods[:4]
	for _, m := range []int{4, 13, 14} {
		act, _ = a.Step(now.Add(time.Duration(m)*time.Minute), obs)
		fmt.Printf("09:%02d: deletes %d, scale-down %q\n", m, len(act.Deletes), act.ScaleDown)
	}
	for _, d := range act.Deletes {
		fmt.Printf("delete %s (%s), empty %v\n", d.Node, d.ProviderID, d.Empty)
	}
	fmt.Println("measured latency:", a.State.Latencies["workers"])
	// Output:
	// 09:00: TriggeredScaleUp +1 workers
	// 09:01: 0 increases, upcoming map[workers:1]
	// 09:04: deletes 0, scale-down "ScaleDownInCooldown: scale-down-delay-after-add 10m0s"
	// 09:13: deletes 0, scale-down ""
	// 09:14: deletes 1, scale-down ""
	// delete n2 (aws:///eu-west-1a/i-2), empty true
	// measured latency: [4m0s]
}
