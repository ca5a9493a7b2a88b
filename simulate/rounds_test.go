package simulate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

func grp(id, zone string, cpu int64, price float64, labels ...string) Group {
	l := map[string]string{nodegroup.LabelZone: zone}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	a := nodegroup.Resources{MilliCPU: cpu, Memory: 16 * gib, Pods: 110}
	return Group{ID: id, Max: 10, Template: nodegroup.Template{Labels: l, Allocatable: a, Capacity: a, PricePerHour: price}}
}

func placedOn(ps []Placement) map[int]string {
	out := map[int]string{}
	for _, p := range ps {
		out[p.Pod] = p.Node
	}
	return out
}

// Item 13: a pod whose required affinity points at a pod tried after it
// binds once that pod is placed; ScaleUp retries it in another pass.
func TestScaleUpExistingInPasses(t *testing.T) {
	b := pod("b", 100, "", "app", "b")
	b.Affinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "a")}}
	a := pod("a-0", 100, "", "app", "a")
	n1 := node("n1", "z1", 2000)
	n1.Allocatable.Pods = 10
	c := &Cluster{Nodes: []Node{n1}, Pods: []Pod{b, a}}
	r, err := ScaleUp(c, []Group{grp("g", "z1", 2000, 1)}, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := placedOn(r.Existing)
	if got[0] != "n1" || got[1] != "n1" || len(r.Unschedulable)+len(r.Deferred) != 0 || r.Chosen != nil {
		t.Fatalf("existing %v, unschedulable %v, deferred %v, chosen %v", r.Existing, r.Unschedulable, r.Deferred, r.Chosen)
	}
	checkReplay(t, c, nil, false, r.Existing, nil)
	// The pass order still honours priority: a higher-priority pod that
	// waits for another is placed in the second pass, after it.
	c.Pods[0].Priority = 10
	r, err = ScaleUp(c, nil, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Existing) != 2 || r.Existing[0].Pod != 1 || r.Existing[1].Pod != 0 {
		t.Fatalf("existing %v", r.Existing)
	}
}

// Item 16: pods whose affinity waits for pods the option adds are not
// unschedulable; a pod whose affinity nothing pending can meet is.
func TestScaleUpDeferredAffinity(t *testing.T) {
	a := pod("a-0", 500, "", "app", "a")
	b := pod("b", 100, "", "app", "b")
	b.Affinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "a")}}
	orphan := pod("c", 100, "", "app", "c")
	orphan.Affinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "nobody")}}
	c := &Cluster{Pods: []Pod{a, b, orphan}}
	r, err := ScaleUp(c, []Group{grp("g", "z1", 2000, 1)}, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Chosen == nil || r.Chosen.Nodes != 1 {
		t.Fatalf("chosen %+v", r.Chosen)
	}
	if len(r.Deferred) != 1 || r.Deferred[0].Pod != 1 || r.Deferred[0].Reasons[""] != ReasonDeferred || r.Deferred[0].Reasons["g"] != ReasonAffinity {
		t.Fatalf("deferred %+v", r.Deferred)
	}
	if len(r.Unschedulable) != 1 || r.Unschedulable[0].Pod != 2 {
		t.Fatalf("unschedulable %+v", r.Unschedulable)
	}
	// Both terms must be met by one placed pod: b2 wants app=a and
	// tier=x; the option places app=a pods without tier=x.
	b2 := b
	b2.Affinity = append([]PodAffinityTerm{}, b.Affinity[0], PodAffinityTerm{TopologyKey: LabelHostname, Selector: sel("tier", "x")})
	c = &Cluster{Pods: []Pod{a, b2}}
	r, err = ScaleUp(c, []Group{grp("g", "z1", 2000, 1)}, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Deferred) != 0 || len(r.Unschedulable) != 1 {
		t.Fatalf("deferred %+v, unschedulable %+v", r.Deferred, r.Unschedulable)
	}
}

// Item 16: the stop reason names the cause; "limit" only when a limit
// stopped the estimate.
func TestScaleUpStopReasons(t *testing.T) {
	anti := func(name string) Pod {
		p := pod(name, 100, "", "app", "x")
		p.AntiAffinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "x")}}
		return p
	}
	c := &Cluster{Pods: []Pod{anti("x0"), anti("x1")}}
	r, err := ScaleUp(c, []Group{grp("g", "z1", 2000, 1)}, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unschedulable) != 1 {
		t.Fatalf("unschedulable %+v", r.Unschedulable)
	}
	why := r.Unschedulable[0].Reasons["g"]
	if strings.Contains(why, "limit") || !strings.Contains(why, ReasonAntiAffinity) {
		t.Fatalf("no limit set, reason %q", why)
	}
	host := func(name string) Pod {
		p := pod(name, 100, "", "app", "h")
		p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "h")}}
		return p
	}
	c = &Cluster{Pods: []Pod{host("h0"), host("h1"), host("h2")}}
	r, err = ScaleUp(c, []Group{grp("g", "z1", 2000, 1)}, ScaleUpOptions{Limits: Limits{MaxNodesPerScaleUp: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Chosen == nil || r.Chosen.Nodes != 2 || len(r.Unschedulable) != 1 || !strings.Contains(r.Unschedulable[0].Reasons["g"], "node limit 2") {
		t.Fatalf("chosen %+v, unschedulable %+v", r.Chosen, r.Unschedulable)
	}
}

// Item 16: a new node that takes no pod leaves the estimate, so it is
// neither filled by later groups nor counted as an empty spread domain.
func TestEstimateDropsEmptyNode(t *testing.T) {
	x := func(name string) Pod {
		p := pod(name, 600, "", "app", "x")
		p.AntiAffinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "x")}}
		return p
	}
	y := func(name string) Pod {
		p := pod(name, 100, "", "app", "y")
		p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: sel("app", "y")}}
		return p
	}
	c := &Cluster{Pods: []Pod{x("x0"), x("x1"), y("y0"), y("y1")}}
	g := grp("g", "z1", 1000, 1)
	est, err := Estimate(c, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	// x1 fits no new node (zone anti-affinity); y0 and y1 share the one
	// node x0 opened, as kube-scheduler would bind them.
	if est.Nodes != 1 || len(est.Pods) != 3 {
		t.Fatalf("estimate %+v", est)
	}
	checkEstimate(t, c, g, 0)
	r, err := ScaleUp(c, []Group{g}, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Chosen == nil || r.Chosen.Nodes != 1 {
		t.Fatalf("chosen %+v", r.Chosen)
	}
}

// Item 14: Provision shrinks a node to a cheaper group only when that
// keeps its standing as a spread domain for every pod.
func TestProvisionShrinkKeepsSpreadDomains(t *testing.T) {
	general := grp("general", "z1", 4000, 4, "pool", "general")
	compute := grp("compute", "z1", 2000, 1, "pool", "compute")
	s := func(name string) Pod {
		p := pod(name, 100, "", "app", "s")
		p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "pool", Operator: OpIn, Values: []string{"compute"}}}}}
		p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: sel("app", "s")}}
		return p
	}
	big := pod("g0", 1500, "", "app", "g")
	c := &Cluster{Pods: []Pod{big, s("s0"), s("s1")}}
	gs := []Group{general, compute}
	r, err := Provision(c, gs, ProvisionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlacements(t, c, gs, r)
	host := placedOn(r.Placements)
	for _, n := range r.Nodes {
		if n.Name == host[0] && n.Group != "general" {
			t.Fatalf("g0's node became %s, a new empty domain for s0/s1 stacked on %s", n.Group, host[1])
		}
	}
	// Without the spread pods the same node does shrink.
	c = &Cluster{Pods: []Pod{big}}
	r, err = Provision(c, gs, ProvisionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 1 || r.Nodes[0].Group != "compute" {
		t.Fatalf("nodes %+v", r.Nodes)
	}
}

// Issue 11: bad groups and a nil cluster give typed errors naming the
// field.
func TestInputErrors(t *testing.T) {
	ok := grp("g", "z1", 2000, 1)
	c := &Cluster{Pods: []Pod{pod("p", 100, "")}}
	bad := func(f func(*Group)) []Group { g := ok; f(&g); return []Group{ok, g} }
	cases := []struct {
		name   string
		c      *Cluster
		groups []Group
		field  string
	}{
		{"nil cluster", nil, []Group{ok}, "cluster"},
		{"duplicate id", c, bad(func(*Group) {}), "groups[1].id"},
		{"NaN price", c, bad(func(g *Group) { g.ID = "h"; g.Template.PricePerHour = math.NaN() }), "groups[1].template.pricePerHour"},
		{"Inf price", c, bad(func(g *Group) { g.ID = "h"; g.Template.PricePerHour = math.Inf(1) }), "groups[1].template.pricePerHour"},
		{"negative price", c, bad(func(g *Group) { g.ID = "h"; g.Template.PricePerHour = -1 }), "groups[1].template.pricePerHour"},
		{"absurd price", c, bad(func(g *Group) { g.ID = "h"; g.Template.PricePerHour = 1e308 }), "groups[1].template.pricePerHour"},
		{"negative capacity", c, bad(func(g *Group) { g.ID = "h"; g.Template.Capacity.Memory = -1 }), "groups[1].template.capacity.memory"},
		{"negative target", c, bad(func(g *Group) { g.ID = "h"; g.Target = -1 }), "groups[1].target"},
	}
	check := func(t *testing.T, what string, err error, field string) {
		t.Helper()
		var ie *InputError
		if !errors.Is(err, ErrInvalidInput) || !errors.As(err, &ie) || ie.Field != field {
			t.Fatalf("%s: %v, want an InputError on %s", what, err, field)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ScaleUp(tc.c, tc.groups, ScaleUpOptions{})
			check(t, "ScaleUp", err, tc.field)
			_, err = Provision(tc.c, tc.groups, ProvisionOptions{})
			check(t, "Provision", err, tc.field)
			_, err = ScaleDown(tc.c, tc.groups, DefaultScaleDown())
			check(t, "ScaleDown", err, tc.field)
			_, err = Consolidate(tc.c, tc.groups, ConsolidateOptions{})
			check(t, "Consolidate", err, tc.field)
			if tc.field == "cluster" {
				_, err = Estimate(tc.c, ok, 0)
				check(t, "Estimate", err, tc.field)
			}
		})
	}
	_, err := ScaleUp(c, []Group{ok}, ScaleUpOptions{Expander: Chain{MostPods{}, Price{PerCoreHour: math.NaN()}}})
	check(t, "Price expander", err, "expander[1].price.perCoreHour")
	for _, th := range []float64{math.NaN(), -0.1, 1.5, math.Inf(1)} {
		o := DefaultScaleDown()
		o.Threshold = th
		_, err = ScaleDown(c, []Group{ok}, o)
		check(t, "ScaleDown threshold", err, "options.threshold")
	}
	o := DefaultScaleDown()
	o.GPUThreshold = math.NaN()
	_, err = ScaleDown(c, []Group{ok}, o)
	check(t, "ScaleDown GPU threshold", err, "options.gpuThreshold")
}

// Issue 11: the cost of ScaleUp and Provision follows the pods and groups,
// not a group's nominal target.
func TestHugeTargetBounded(t *testing.T) {
	run := func(target int) (float64, *ScaleUpResult, *ProvisionResult) {
		g := grp("g", "z1", 2000, 1)
		g.Target, g.Max = target, 2*target
		c := &Cluster{Pods: []Pod{pod("p0", 100, ""), pod("p1", 100, ""), pod("p2", 100, "")}}
		var su *ScaleUpResult
		var pr *ProvisionResult
		allocs := testing.AllocsPerRun(3, func() {
			var err error
			if su, err = ScaleUp(c, []Group{g}, ScaleUpOptions{}); err != nil {
				t.Fatal(err)
			}
			if pr, err = Provision(c, []Group{g}, ProvisionOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := Estimate(c, g, 0); err != nil {
				t.Fatal(err)
			}
		})
		return allocs, su, pr
	}
	small, _, _ := run(4)
	huge, su, pr := run(10_000_000)
	if huge > small*1.2+10 {
		t.Fatalf("allocations grow with the target: %.0f at 4, %.0f at 1e7", small, huge)
	}
	if len(su.Existing) != 3 || len(pr.Placements) != 3 || pr.Total() != 0 {
		t.Fatalf("scale-up %+v, provision %+v", su, pr)
	}
	// The nodes not built still count toward --max-nodes-total.
	g := grp("g", "z1", 2000, 1)
	g.Target, g.Max = 10_000_000, 20_000_000
	c := &Cluster{Pods: []Pod{pod("big", 5000, "")}}
	r, err := ScaleUp(c, []Group{g}, ScaleUpOptions{Limits: Limits{MaxNodesTotal: 10_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].Reason, "max total nodes") {
		t.Fatalf("skipped %+v", r.Skipped)
	}
}

// Balance in closed form equals the one-node-at-a-time rule, and its cost
// does not follow n.
func TestBalanceLevels(t *testing.T) {
	naive := func(groups []Group, n int) ([]Increase, int) {
		add := map[string]int{}
		left := n
		for left > 0 {
			best := -1
			for i, g := range groups {
				if g.Target+add[g.ID] >= g.Max {
					continue
				}
				if best < 0 || g.Target+add[g.ID] < groups[best].Target+add[groups[best].ID] ||
					(g.Target+add[g.ID] == groups[best].Target+add[groups[best].ID] && g.ID < groups[best].ID) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			add[groups[best].ID]++
			left--
		}
		var out []Increase
		ids := []string{}
		for _, g := range groups {
			ids = append(ids, g.ID)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if add[id] > 0 {
				out = append(out, Increase{Group: id, Delta: add[id]})
			}
		}
		return out, left
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 3000; i++ {
		var gs []Group
		for j := 0; j < 1+rng.IntN(5); j++ {
			g := Group{ID: string(rune('e' - j)), Target: rng.IntN(8)}
			g.Max = g.Target + rng.IntN(6) - 1
			gs = append(gs, g)
		}
		n := rng.IntN(25)
		a, la := Balance(gs, n)
		b, lb := naive(gs, n)
		if fmt.Sprint(a, la) != fmt.Sprint(b, lb) {
			t.Fatalf("%+v, n=%d: got %v %d, want %v %d", gs, n, a, la, b, lb)
		}
	}
	huge := []Group{{ID: "a", Target: 3, Max: math.MaxInt}, {ID: "b", Target: 0, Max: 1 << 40}}
	inc, left := Balance(huge, math.MaxInt)
	if left < 0 || len(inc) != 2 || inc[1].Delta != 1<<40 {
		t.Fatalf("huge: %v %d", inc, left)
	}
}

// A Succeeded or Failed pod still bound to a node holds nothing: neither
// resources nor a place in affinity or spread counts.
func TestTerminalPodsHoldNothing(t *testing.T) {
	n1 := node("n1", "z1", 1000)
	done := pod("done", 1000, "n1", "app", "x")
	done.Terminal = true
	anti := pod("p", 800, "", "app", "y")
	anti.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "x")}}
	if got := reasonFor(t, []Node{n1}, []Pod{done}, anti, "n1"); got != "" {
		t.Fatalf("terminal pod still counts: %q", got)
	}
	aff := pod("q", 100, "", "app", "z")
	aff.Affinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "x")}}
	if got := reasonFor(t, []Node{n1}, []Pod{done}, aff, "n1"); got != ReasonAffinity {
		t.Fatalf("terminal pod satisfies affinity: %q", got)
	}
}
