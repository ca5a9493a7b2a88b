package simulate_test

import (
	"fmt"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
)

func web(n int) []simulate.Pod {
	var pods []simulate.Pod
	for i := 0; i < n; i++ {
		pods = append(pods, simulate.Pod{Namespace: "shop", Name: fmt.Sprintf("web-%d", i),
			Labels:   map[string]string{"app": "web"},
			Owner:    &simulate.Owner{Kind: "ReplicaSet", Name: "web-5d8f"},
			Requests: nodegroup.Resources{MilliCPU: 500, Memory: 1 << 30}})
	}
	return pods
}

func group(id, zone string, cores int64, price float64) simulate.Group {
	capacity := nodegroup.Resources{MilliCPU: cores * 1000, Memory: cores * 4 << 30, Pods: 110}
	return simulate.Group{ID: id, Max: 20, Template: nodegroup.Template{
		Capacity:     capacity,
		Allocatable:  nodegroup.Allocatable(capacity, nodegroup.EKSReservations(capacity)),
		Labels:       map[string]string{nodegroup.LabelZone: zone},
		PricePerHour: price,
	}}
}

// Twelve pending pods of half a core: how many 4-core nodes hold them?
func ExampleEstimate() {
	c := &simulate.Cluster{Pods: web(12)}
	est, err := simulate.Estimate(c, group("m5-xlarge", "eu-west-1a", 4, 0.192), 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(est.Nodes, "nodes for", len(est.Pods), "pods")
	// Output: 2 nodes for 12 pods
}

// One cluster-autoscaler decision: the existing node is full, and
// least-waste picks between a 4-core and a 16-core group.
func ExampleScaleUp() {
	node := simulate.Node{Name: "ip-10-0-0-1", Group: "m5-xlarge", Labels: map[string]string{nodegroup.LabelZone: "eu-west-1a"},
		Allocatable: nodegroup.Resources{MilliCPU: 3920, Memory: 14 << 30, Pods: 58}}
	pods := web(20)
	for i := 0; i < 7; i++ {
		pods[i].NodeName = node.Name
	}
	gs := []simulate.Group{group("m5-xlarge", "eu-west-1a", 4, 0.192), group("m5-4xlarge", "eu-west-1a", 16, 0.768)}
	gs[0].Target = 1
	r, err := simulate.ScaleUp(&simulate.Cluster{Nodes: []simulate.Node{node}, Pods: pods}, gs, simulate.ScaleUpOptions{Limits: simulate.DefaultLimits()})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(r.Existing), "pod(s) fit existing nodes")
	for _, o := range r.Options {
		fmt.Printf("%s: %d node(s) for %d pods\n", o.Group, o.Nodes, len(o.Pods))
	}
	fmt.Println(r.Increases)
	// Output:
	// 0 pod(s) fit existing nodes
	// m5-xlarge: 2 node(s) for 13 pods
	// m5-4xlarge: 1 node(s) for 13 pods
	// [{m5-xlarge 2}]
}

// Which nodes can go? Three nodes at 25 % CPU hold each other's pods, but
// one pod may not be evicted.
func ExampleScaleDown() {
	c := &simulate.Cluster{}
	pods := web(6)
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("node-%d", i)
		c.Nodes = append(c.Nodes, simulate.Node{Name: name, Group: "workers", Allocatable: nodegroup.Resources{MilliCPU: 4000, Memory: 16 << 30, Pods: 110}})
		pods[2*i].NodeName, pods[2*i+1].NodeName = name, name
	}
	pods[5].SafeToEvict = "false"
	c.Pods = pods
	r, err := simulate.ScaleDown(c, []simulate.Group{{ID: "workers", Max: 10, Target: 3}}, simulate.DefaultScaleDown())
	if err != nil {
		panic(err)
	}
	for _, rm := range r.Removable {
		fmt.Println("remove", rm.Node, "moving", len(rm.Moves), "pods")
	}
	for _, u := range r.Unremovable {
		blocking := ""
		if u.Pod >= 0 {
			blocking = " (" + c.Pods[u.Pod].Name + ")"
		}
		fmt.Println("keep", u.Node+":", u.Reason+blocking)
	}
	// Output:
	// remove node-0 moving 2 pods
	// remove node-1 moving 2 pods
	// keep node-2: NotSafeToEvictAnnotation (web-5)
}

// Every pending pod placed across all groups, Karpenter-style: each new
// node shrinks to the cheapest group that still holds its pods.
func ExampleProvision() {
	pods := web(10)
	for i := range pods[:4] {
		pods[i].Labels = map[string]string{"app": "cache"}
		pods[i].AntiAffinity = []simulate.PodAffinityTerm{{TopologyKey: simulate.LabelHostname,
			Selector: simulate.Selector{MatchLabels: map[string]string{"app": "cache"}}}}
	}
	gs := []simulate.Group{group("c8", "a", 8, 0.384), group("c4", "a", 4, 0.192), group("c2", "a", 2, 0.096)}
	r, err := simulate.Provision(&simulate.Cluster{Pods: pods}, gs, simulate.ProvisionOptions{})
	if err != nil {
		panic(err)
	}
	for _, n := range r.Nodes {
		fmt.Println(n.Name, n.Pods, "pods")
	}
	// Output:
	// c4-new-1 7 pods
	// c2-new-1 1 pods
	// c2-new-2 1 pods
	// c2-new-3 1 pods
}

// Karpenter-style consolidation: two half-empty 8-core nodes give way to
// one 8-core node.
func ExampleConsolidate() {
	g := group("c8", "a", 8, 0.384)
	g.Target = 2
	c := &simulate.Cluster{}
	pods := web(12)
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("c8-%d", i)
		c.Nodes = append(c.Nodes, simulate.Node{Name: name, Group: "c8", Labels: g.Template.Labels, Allocatable: g.Template.Allocatable})
		for j := 0; j < 6; j++ {
			pods[6*i+j].NodeName = name
		}
	}
	c.Pods = pods
	r, err := simulate.Consolidate(c, []simulate.Group{g}, simulate.ConsolidateOptions{Drain: simulate.DefaultScaleDown()})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Action, r.Remove, "for one", r.Replacement, "node")
	fmt.Println(r.Reason)
	// Output:
	// replace [c8-0 c8-1] for one c8 node
	// multi-node consolidation: replace 2 node(s), saving 0.3840/h
}
