// Package nodegrouptest is the contract suite every nodegroup.Provider must
// pass (the fake, cloud/asg, cloud/ess), in the way testing/fstest.TestFS
// checks an fs.FS: call Run from a test with a function that builds the
// provider from a Fixture.
package nodegrouptest

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

// Fixture is the state a case starts from.
type Fixture struct {
	Groups []Group
}

// Group is one group of a fixture: Size running instances of InstanceType
// in Zone.
type Group struct {
	ID           string
	Min, Max     int
	Size         int
	InstanceType string
	Zone         string
}

// Env is a provider built from a fixture plus the hooks the suite needs.
type Env interface {
	Provider() nodegroup.Provider
	// Settle lets every launch started so far finish or fail.
	Settle(t *testing.T)
	// StockOut makes the group's future launches fail for lack of capacity.
	StockOut(t *testing.T, group string)
}

// Run runs the contract suite; newEnv builds a fresh Env for each case.
func Run(t *testing.T, newEnv func(t *testing.T, f Fixture) Env) {
	two := Fixture{Groups: []Group{
		{ID: "workers-a", Min: 1, Max: 4, Size: 2, InstanceType: "m5.large", Zone: "zone-a"},
		{ID: "workers-b", Min: 0, Max: 3, Size: 1, InstanceType: "m5.xlarge", Zone: "zone-b"},
	}}
	cases := []struct {
		name string
		run  func(t *testing.T, e Env)
	}{
		{"NodeGroups lists every group", testList},
		{"IncreaseSize respects the maximum", testIncreaseMax},
		{"IncreaseSize launches visible instances", testIncreaseVisible},
		{"DeleteNodes respects the minimum", testDeleteMin},
		{"DeleteNodes refuses foreign instances", testDeleteForeign},
		{"DeleteNodes removes and lowers the target", testDelete},
		{"NodeGroupForNode maps instances to groups", testForNode},
		{"out of capacity is reported per instance", testStockOut},
		{"DecreaseTargetSize never removes running instances", testDecrease},
		{"Template describes the node a scale-up adds", testTemplate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newEnv(t, two)) })
	}
}

func group(t *testing.T, e Env, id string) nodegroup.NodeGroup {
	t.Helper()
	gs, err := e.Provider().NodeGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Id() == id {
			return g
		}
	}
	t.Fatalf("no group %q", id)
	return nil
}

func target(t *testing.T, g nodegroup.NodeGroup) int {
	t.Helper()
	n, err := g.TargetSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func nodes(t *testing.T, g nodegroup.NodeGroup) []nodegroup.Instance {
	t.Helper()
	ns, err := g.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func count(ns []nodegroup.Instance, s nodegroup.InstanceState) int {
	n := 0
	for _, in := range ns {
		if in.State == s {
			n++
		}
	}
	return n
}

func testList(t *testing.T, e Env) {
	gs, err := e.Provider().NodeGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.Id())
	}
	sort.Strings(ids)
	if len(ids) != 2 || ids[0] != "workers-a" || ids[1] != "workers-b" {
		t.Fatalf("groups %v", ids)
	}
	a := group(t, e, "workers-a")
	if a.MinSize() != 1 || a.MaxSize() != 4 || target(t, a) != 2 {
		t.Errorf("workers-a: min %d max %d target %d", a.MinSize(), a.MaxSize(), target(t, a))
	}
	if n := nodes(t, a); len(n) != 2 || count(n, nodegroup.InstanceRunning) != 2 {
		t.Errorf("workers-a nodes %+v", n)
	}
}

func testIncreaseMax(t *testing.T, e Env) {
	g := group(t, e, "workers-a")
	if err := g.IncreaseSize(t.Context(), 3); !errors.Is(err, nodegroup.ErrAtMax) {
		t.Fatalf("2 + 3 > 4: %v", err)
	}
	if got := target(t, g); got != 2 {
		t.Fatalf("a refused increase changed the target to %d", got)
	}
	if err := g.IncreaseSize(t.Context(), 0); err == nil {
		t.Error("IncreaseSize(0) accepted")
	}
	if err := g.IncreaseSize(t.Context(), 2); err != nil {
		t.Fatalf("2 + 2 = 4: %v", err)
	}
	if got := target(t, g); got != 4 {
		t.Errorf("target %d, want 4", got)
	}
}

func testIncreaseVisible(t *testing.T, e Env) {
	g := group(t, e, "workers-b")
	if err := g.IncreaseSize(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	ns := nodes(t, g)
	if len(ns) != 3 || count(ns, nodegroup.InstanceDeleting) != 0 {
		t.Fatalf("during launch: %+v, want 3 instances, none deleting", ns)
	}
	e.Settle(t)
	if ns := nodes(t, g); count(ns, nodegroup.InstanceRunning) != 3 {
		t.Fatalf("after settling: %+v, want 3 running", ns)
	}
	if got := target(t, g); got != 3 {
		t.Errorf("target %d, want 3", got)
	}
}

func testDeleteMin(t *testing.T, e Env) {
	g := group(t, e, "workers-a")
	ns := nodes(t, g)
	err := g.DeleteNodes(t.Context(), []string{ns[0].ProviderID, ns[1].ProviderID})
	if !errors.Is(err, nodegroup.ErrAtMin) {
		t.Fatalf("2 - 2 < 1: %v", err)
	}
	if len(nodes(t, g)) != 2 || target(t, g) != 2 {
		t.Error("a refused deletion removed something")
	}
}

func testDeleteForeign(t *testing.T, e Env) {
	a, b := group(t, e, "workers-a"), group(t, e, "workers-b")
	foreign := nodes(t, b)[0].ProviderID
	own := nodes(t, a)[0].ProviderID
	err := a.DeleteNodes(t.Context(), []string{own, foreign})
	if !errors.Is(err, nodegroup.ErrNotFound) {
		t.Fatalf("foreign instance: %v", err)
	}
	if len(nodes(t, a)) != 2 || len(nodes(t, b)) != 1 || target(t, a) != 2 {
		t.Error("a refused deletion removed something")
	}
}

func testDelete(t *testing.T, e Env) {
	g := group(t, e, "workers-a")
	if err := g.IncreaseSize(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	e.Settle(t)
	victim := nodes(t, g)[0].ProviderID
	if err := g.DeleteNodes(t.Context(), []string{victim}); err != nil {
		t.Fatal(err)
	}
	if got := target(t, g); got != 2 {
		t.Errorf("target %d, want 2", got)
	}
	for _, in := range nodes(t, g) {
		if in.ProviderID == victim && in.State != nodegroup.InstanceDeleting {
			t.Errorf("deleted instance still %s", in.State)
		}
	}
}

func testForNode(t *testing.T, e Env) {
	p := e.Provider()
	b := group(t, e, "workers-b")
	id := nodes(t, b)[0].ProviderID
	g, err := p.NodeGroupForNode(t.Context(), id)
	if err != nil || g == nil || g.Id() != "workers-b" {
		t.Fatalf("NodeGroupForNode(%s) = %v, %v", id, g, err)
	}
	if g, err := p.NodeGroupForNode(t.Context(), "unmanaged://node-1"); g != nil || err != nil {
		t.Errorf("unmanaged node: %v, %v; want nil, nil", g, err)
	}
	if err := p.Refresh(context.Background()); err != nil {
		t.Errorf("Refresh: %v", err)
	}
}

func testStockOut(t *testing.T, e Env) {
	e.StockOut(t, "workers-b")
	g := group(t, e, "workers-b")
	if err := g.IncreaseSize(t.Context(), 1); err != nil && !errors.Is(err, nodegroup.ErrOutOfCapacity) {
		t.Fatal(err)
	}
	e.Settle(t)
	var failed int
	for _, in := range nodes(t, g) {
		if in.ErrorClass == nodegroup.OutOfCapacity {
			failed++
			if in.State != nodegroup.InstanceCreating {
				t.Errorf("a failed launch is %s, want Creating", in.State)
			}
		}
	}
	if failed != 1 {
		t.Fatalf("%d instances report out-of-capacity, want 1: %+v", failed, nodes(t, g))
	}
}

func testDecrease(t *testing.T, e Env) {
	e.StockOut(t, "workers-a")
	g := group(t, e, "workers-a")
	if err := g.IncreaseSize(t.Context(), 2); err != nil && !errors.Is(err, nodegroup.ErrOutOfCapacity) {
		t.Fatal(err)
	}
	e.Settle(t)
	if err := g.DecreaseTargetSize(t.Context(), 1); err != nil {
		t.Fatalf("cancelling an unfulfilled launch: %v", err)
	}
	if got := target(t, g); got != 3 {
		t.Errorf("target %d, want 3", got)
	}
	if err := g.DecreaseTargetSize(t.Context(), 2); err == nil {
		t.Fatal("DecreaseTargetSize below the running instances accepted")
	}
	if ns := nodes(t, g); count(ns, nodegroup.InstanceRunning) != 2 || target(t, g) != 3 {
		t.Errorf("after a refused decrease: target %d, nodes %+v", target(t, g), ns)
	}
}

func testTemplate(t *testing.T, e Env) {
	tpl, err := group(t, e, "workers-a").Template(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{nodegroup.LabelZone, nodegroup.LabelRegion, nodegroup.LabelInstanceType, nodegroup.LabelArch, nodegroup.LabelOS, nodegroup.LabelCapacityType} {
		if tpl.Labels[k] == "" {
			t.Errorf("template label %s missing: %v", k, tpl.Labels)
		}
	}
	if tpl.Labels[nodegroup.LabelZone] != "zone-a" || tpl.Labels[nodegroup.LabelInstanceType] != "m5.large" || tpl.InstanceType != "m5.large" {
		t.Errorf("template zone/type: %+v", tpl.Labels)
	}
	c, a := tpl.Capacity, tpl.Allocatable
	if c.MilliCPU <= 0 || c.Memory <= 0 || c.Pods <= 0 {
		t.Fatalf("capacity %+v", c)
	}
	if a.MilliCPU > c.MilliCPU || a.Memory >= c.Memory || a.Pods != c.Pods {
		t.Errorf("allocatable %+v must subtract reservations from capacity %+v", a, c)
	}
}
