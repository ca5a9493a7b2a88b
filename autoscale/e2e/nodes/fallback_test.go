package nodes_test

import (
	"testing"
	"time"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/simulate"
)

// The expander prefers a group; once that group is at its maximum, the pods
// still pending go to the other group.
func TestFallbackAtMax(t *testing.T) {
	const (
		fast, slow = "a-fast", "b-slow"
		replicas   = 6
		cpu        = "800m"
		memory     = "512Mi"
	)
	cl := newASGCloud(t, cloudOpts{},
		asgGroup{Name: fast, Max: 2, Desired: 1},
		asgGroup{Name: slow, Max: 5})
	e := newEnv(t, cl)
	e.waitNodes(1, 30*time.Second)
	exp, err := simulate.NewPriority(map[int][]string{10: {"^" + fast + "$"}, 1: {".*"}})
	if err != nil {
		t.Fatal(err)
	}

	// The prediction: six 800m pods need three 2-vCPU nodes; the preferred
	// group has one and may grow by one, so the third comes from the other.
	tplFast, tplSlow := cl.template(t, fast), cl.template(t, slow)
	per := podsPerNode(tplFast, milli(cpu), bytesOf(memory))
	need := ceilDiv(replicas, per)
	if per != 2 || need != 3 || podsPerNode(tplSlow, milli(cpu), bytesOf(memory)) != per {
		t.Fatalf("templates: %d pods per node, %d nodes; the test expects 2 and 3", per, need)
	}
	wantFast, wantSlow := 2, need-2
	// simulate.ScaleUp, first round: the existing node takes two pods, the
	// expander picks the preferred group, capped at its maximum.
	existing := e.Bridge.Nodes()[0]
	node := simulate.Node{Name: existing, Labels: e.node(existing).Labels, Allocatable: tplFast.Allocatable, Capacity: tplFast.Capacity, Group: fast}
	c := &simulate.Cluster{Nodes: []simulate.Node{node}, Pods: pendingPods(e.NS, "web", replicas, milli(cpu), bytesOf(memory))}
	groups := []simulate.Group{
		{ID: fast, Max: 2, Target: 1, Template: tplFast},
		{ID: slow, Max: 5, Target: 0, Template: tplSlow},
	}
	res := simulateScaleUp(t, c, groups, exp)
	if len(res.Existing) != per || len(res.Increases) != 1 || res.Increases[0].Group != fast || res.Increases[0].Delta != 1 {
		t.Fatalf("simulate.ScaleUp round 1: existing %d, increases %+v (%s); want %d placed and %s +1", len(res.Existing), res.Increases, res.Reason, per, fast)
	}
	// Second round: the preferred group is at its maximum (its new node
	// upcoming, taking two more pods), so the rest goes to the other.
	groups[0].Target = 2
	res = simulateScaleUp(t, c, groups, exp)
	if len(res.Increases) != 1 || res.Increases[0].Group != slow || res.Increases[0].Delta != wantSlow {
		t.Fatalf("simulate.ScaleUp round 2: increases %+v (%s); want %s +%d", res.Increases, res.Reason, slow, wantSlow)
	}

	ca := e.startCA(func(c *autoscale.ClusterAutoscalerConfig) { c.Loop.Expander = exp })
	e.createDeployment("web", replicas, cpu, memory, nil)
	e.waitRunning("app=web", replicas, 90*time.Second)
	nodes := e.waitNodes(need, 30*time.Second)
	time.Sleep(2 * scanInterval) // no further scale-up
	if got, got2 := cl.desired(t, fast), cl.desired(t, slow); got != wantFast || got2 != wantSlow {
		t.Errorf("desired capacities %s %d, %s %d; want %d and %d", fast, got, slow, got2, wantFast, wantSlow)
	}
	count := map[string]int{}
	for _, n := range nodes {
		count[e.nodeGroup(n)]++
	}
	if count[fast] != wantFast || count[slow] != wantSlow {
		t.Errorf("nodes per group %v, want %s %d and %s %d", count, fast, wantFast, slow, wantSlow)
	}
	// The loop grew the preferred group first, and the other one only once
	// the preferred one was at its maximum.
	incs := ca.Trace.Increases()
	if len(incs) == 0 || incs[0].Group != fast {
		t.Fatalf("increases %+v: the first should be %s's", incs, fast)
	}
	if increased(incs, fast) != wantFast-1 || increased(incs, slow) != wantSlow {
		t.Errorf("increases %+v: want %s +%d and %s +%d", incs, fast, wantFast-1, slow, wantSlow)
	}
	for _, s := range ca.Trace.Steps() {
		if increased(s.Actions.Increases, slow) == 0 {
			continue
		}
		for _, g := range s.Groups {
			if g.ID == fast && g.Target != g.Max {
				t.Errorf("step at %v grew %s while %s was at %d of %d", s.Now, slow, fast, g.Target, g.Max)
			}
		}
	}
}
