package simulate

import (
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

func priced(id string, cpu int64, price float64, target int) Group {
	a := nodegroup.Resources{MilliCPU: cpu, Memory: 64 * gib, Pods: 110}
	return Group{ID: id, Max: 10, Target: target, Template: nodegroup.Template{Allocatable: a, Capacity: a,
		Labels: map[string]string{nodegroup.LabelZone: "a"}, PricePerHour: price}}
}

func nodesOf(g Group, n int) []Node {
	var out []Node
	for i := 0; i < n; i++ {
		out = append(out, Node{Name: g.ID + "-" + string(rune('0'+i)), Group: g.ID, Labels: g.Template.Labels, Allocatable: g.Template.Allocatable})
	}
	return out
}

func rsPod(name string, cpu int64, on string) Pod {
	p := pod(name, cpu, on)
	p.Owner = &Owner{Kind: "ReplicaSet", Name: "rs"}
	p.Requests.Memory = 0
	return p
}

func TestConsolidateEmpty(t *testing.T) {
	g := priced("g", 4000, 1, 3)
	g.Min = 1
	c := &Cluster{Nodes: nodesOf(g, 3), Pods: []Pod{rsPod("a", 1000, "g-0")}}
	r, err := Consolidate(c, []Group{g}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionDelete || len(r.Remove) != 2 || r.SavingsPerHour != 2 {
		t.Fatalf("%+v", r)
	}
	g.Min = 2 // only one empty node may go
	r, _ = Consolidate(c, []Group{g}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if len(r.Remove) != 1 {
		t.Fatalf("min size: %+v", r)
	}
}

func TestConsolidateMultiNodeReplace(t *testing.T) {
	// Four nodes at 25 %: all four go for one new node of the same group.
	g := priced("g", 4000, 1, 4)
	c := &Cluster{Nodes: nodesOf(g, 4)}
	for i := 0; i < 4; i++ {
		c.Pods = append(c.Pods, rsPod("p"+string(rune('0'+i)), 1000, "g-"+string(rune('0'+i))))
	}
	r, err := Consolidate(c, []Group{g}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionReplace || len(r.Remove) != 4 || r.Replacement != "g" || r.SavingsPerHour != 3 || len(r.Moves) != 4 {
		t.Fatalf("%+v", r)
	}
	for _, m := range r.Moves {
		if m.Node != "g-new-1" {
			t.Fatalf("move %+v", m)
		}
	}
	// With the search bounded to three candidates, three nodes are deleted
	// onto the fourth.
	r, _ = Consolidate(c, []Group{g}, ConsolidateOptions{Drain: DefaultScaleDown(), MaxCandidates: 3})
	if r.Action != ActionDelete || len(r.Remove) != 3 || r.SavingsPerHour != 3 {
		t.Fatalf("three candidates: %+v", r)
	}
	for _, m := range r.Moves {
		if m.Node != "g-3" {
			t.Fatalf("move %+v", m)
		}
	}
}

func TestConsolidateSingleNodeCheaper(t *testing.T) {
	big, small := priced("big", 16000, 1, 2), priced("small", 4000, 0.2, 0)
	c := &Cluster{Nodes: nodesOf(big, 2), Pods: []Pod{rsPod("a", 12000, "big-0"), rsPod("b", 3000, "big-1")}}
	r, err := Consolidate(c, []Group{big, small}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if err != nil {
		t.Fatal(err)
	}
	// 12 + 3 cores fit one big node: both go for one new big node.
	if r.Action != ActionReplace || len(r.Remove) != 2 || r.Replacement != "big" || r.SavingsPerHour != 1 {
		t.Fatalf("%+v", r)
	}
	// With 14 + 3 cores no pair fits one node and big-0 fits nowhere; big-1
	// moves to a new small node.
	c.Pods[0].Requests.MilliCPU = 14000
	r, _ = Consolidate(c, []Group{big, small}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if r.Action != ActionReplace || r.Remove[0] != "big-1" || r.Replacement != "small" || r.SavingsPerHour != 0.8 {
		t.Fatalf("replace: %+v", r)
	}
	// Snapshot untouched: running it again gives the same answer.
	r2, _ := Consolidate(c, []Group{big, small}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if r2.Reason != r.Reason {
		t.Fatalf("second run: %+v", r2)
	}
}

func TestConsolidateBlocked(t *testing.T) {
	g := priced("g", 4000, 1, 2)
	c := &Cluster{Nodes: nodesOf(g, 2), Pods: []Pod{pod("bare", 100, "g-0"), pod("bare2", 100, "g-1")}}
	r, err := Consolidate(c, []Group{g}, ConsolidateOptions{Drain: DefaultScaleDown()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionNone {
		t.Fatalf("bare pods moved: %+v", r)
	}
	// Unpriced nodes are never candidates.
	g.Template.PricePerHour = 0
	c.Pods = nil
	if r, _ := Consolidate(c, []Group{g}, ConsolidateOptions{}); r.Action != ActionNone {
		t.Fatalf("unpriced: %+v", r)
	}
}

// TestConsolidatePropertyRandom applies random consolidations and checks
// every move with the independent checker, on the cluster left after the
// removal (plus the replacement node).
func TestConsolidatePropertyRandom(t *testing.T) {
	acted := 0
	for seed := uint64(0); seed < 300; seed++ {
		c, gs := randomCase(seed)
		// Put existing nodes in groups and give every pod an owner, so
		// nodes can be candidates.
		for i := range c.Nodes {
			c.Nodes[i].Group = gs[i%len(gs)].ID
		}
		for i := range gs {
			gs[i].Max += 3
			for _, n := range c.Nodes {
				if n.Group == gs[i].ID {
					gs[i].Target++
				}
			}
		}
		for i := range c.Pods {
			c.Pods[i].Owner = &Owner{Kind: "ReplicaSet", Name: "rs"}
		}
		// Bind what Provision places on existing nodes, so the cluster is busy.
		if r, err := Provision(c, gs, ProvisionOptions{}); err == nil {
			for _, pl := range r.Placements {
				for _, n := range c.Nodes {
					if n.Name == pl.Node {
						c.Pods[pl.Pod].NodeName = pl.Node
					}
				}
			}
		}
		r, err := Consolidate(c, gs, ConsolidateOptions{Drain: DefaultScaleDown()})
		if err != nil {
			t.Fatal(err)
		}
		if r.Action == ActionNone {
			continue
		}
		acted++
		removed := map[string]bool{}
		for _, n := range r.Remove {
			removed[n] = true
		}
		after := &Cluster{DaemonSets: c.DaemonSets}
		for _, n := range c.Nodes {
			if !removed[n.Name] {
				after.Nodes = append(after.Nodes, n)
			}
		}
		moved := map[int]bool{}
		for _, m := range r.Moves {
			moved[m.Pod] = true
		}
		for i, p := range c.Pods {
			if moved[i] || removed[p.NodeName] {
				if !moved[i] && !p.DaemonSet() && !p.Mirror && !p.Terminal && p.NodeName != "" {
					t.Fatalf("seed %d: pod %s on a removed node was not moved", seed, p.Key())
				}
				p.NodeName = ""
				p.Terminal = !moved[i] // not re-placed
			}
			after.Pods = append(after.Pods, p)
		}
		newGroup := map[string]string{}
		if r.Action == ActionReplace {
			newGroup[r.Replacement+"-new-1"] = r.Replacement
		}
		checkReplay(t, after, gs, false, r.Moves, newGroup)
		if r.SavingsPerHour <= 0 {
			t.Fatalf("seed %d: no savings: %+v", seed, r)
		}
	}
	if acted == 0 {
		t.Fatal("no random cluster consolidated: the test checks nothing")
	}
	t.Logf("%d of 300 random clusters consolidated", acted)
}
