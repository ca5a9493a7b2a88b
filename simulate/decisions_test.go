package simulate

import (
	"testing"
	"time"

	"github.com/kscale/kscale/nodegroup"
)

func opt(group string, nodes, pods int, cpu, mem int64, tcpu, tmem int64, price float64) Option {
	o := Option{Group: group, Nodes: nodes, PodsMilliCPU: cpu, PodsMemory: mem, Template: &Template{MilliCPU: tcpu, Memory: tmem, PricePerHour: price}}
	o.Pods = make([]int, pods)
	return o
}

func groupsOf(os []Option) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.Group)
	}
	return out
}

func TestExpanders(t *testing.T) {
	// a: 2 nodes of 4 cores/8 GiB for 6 cores/12 GiB → waste .25+.25.
	// b: 1 node of 8 cores/16 GiB for the same → waste .25+.25 (tie).
	// c: 3 nodes of 2 cores/4 GiB for 5 cores/10 GiB → waste 1/6+1/6.
	a := opt("a", 2, 6, 6000, 12*gib, 4000, 8*gib, 0.2)
	b := opt("b", 1, 6, 6000, 12*gib, 8000, 16*gib, 0.5)
	c := opt("c", 3, 5, 5000, 10*gib, 2000, 4*gib, 0.1)
	all := []Option{a, b, c}
	prio, err := NewPriority(map[int][]string{10: {"^b$"}, 5: {"a|c"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		e    Expander
		want []string
	}{
		{LeastWaste{}, []string{"c"}},
		{MostPods{}, []string{"a", "b"}},
		{LeastNodes{}, []string{"b"}},
		{prio, []string{"b"}},
		{Chain{MostPods{}, LeastNodes{}}, []string{"b"}},
	}
	for _, tc := range cases {
		got := groupsOf(tc.e.Filter(all, 10))
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %v, want %v", tc.e.Name(), got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: %v, want %v", tc.e.Name(), got, tc.want)
			}
		}
	}
	// Priority: unmatched groups drop; no match at all keeps every option.
	p2, _ := NewPriority(map[int][]string{1: {"^zzz$"}})
	if got := p2.Filter(all, 1); len(got) != 3 {
		t.Fatalf("no match: %v", groupsOf(got))
	}
	if _, err := NewPriority(map[int][]string{1: {"("}}); err == nil {
		t.Fatal("bad regexp accepted")
	}
	// Random is deterministic per seed and picks one.
	r1, r2 := Random{Seed: 9}.Filter(all, 1), Random{Seed: 9}.Filter(all, 1)
	if len(r1) != 1 || r1[0].Group != r2[0].Group {
		t.Fatalf("random: %v %v", groupsOf(r1), groupsOf(r2))
	}
	seen := map[string]bool{}
	for s := uint64(0); s < 64; s++ {
		seen[Random{Seed: s}.Filter(all, 1)[0].Group] = true
	}
	if len(seen) != 3 {
		t.Fatalf("random over 64 seeds reached %v", seen)
	}
	// Ties break by group id without Random.
	if o, _ := choose(MostPods{}, all, 1); o.Group != "a" {
		t.Fatalf("tie broke to %s", o.Group)
	}
}

func TestPriceExpander(t *testing.T) {
	p := DefaultPrice()
	if PreferredCPU(2) != 1 || PreferredCPU(6) != 2 || PreferredCPU(20) != 4 || PreferredCPU(60) != 8 || PreferredCPU(200) != 16 || PreferredCPU(201) != 32 {
		t.Fatal("preferred node table")
	}
	// Same pods: the cheaper option wins; an unpriced option drops.
	cheap := opt("cheap", 1, 4, 2000, 4*gib, 4000, 8*gib, 0.1)
	dear := opt("dear", 1, 4, 2000, 4*gib, 4000, 8*gib, 0.4)
	free := opt("unpriced", 1, 4, 2000, 4*gib, 4000, 8*gib, 0)
	if got := groupsOf(p.Filter([]Option{dear, cheap, free}, 10)); len(got) != 1 || got[0] != "cheap" {
		t.Fatalf("price chose %v", got)
	}
	// The score: unfitness 1 for a preferred-size node (4 cores at 10 nodes).
	stab := p.podPrice(500, 500<<20)
	want := (0.1 + stab) / (p.podPrice(2000, 4*gib) + stab)
	if s := p.Score(&cheap, 10); s < want*0.999999 || s > want*1.000001 {
		t.Fatalf("score %v, want %v", s, want)
	}
	// A node far from the preferred size is penalised, less so for big options.
	big1 := opt("big", 1, 4, 2000, 4*gib, 32000, 64*gib, 0.1)
	big30 := opt("big", 30, 4, 2000, 4*gib, 32000, 64*gib, 0.1)
	if p.Score(&big1, 10) <= p.Score(&cheap, 10) {
		t.Fatal("unfit node not penalised")
	}
	u1 := p.Score(&big1, 10) / ((0.1 + stab) / (p.podPrice(2000, 4*gib) + stab))
	u30 := p.Score(&big30, 10) / ((30*0.1 + stab) / (p.podPrice(2000, 4*gib) + stab))
	if !(u30 < u1) || u1 != 8 {
		t.Fatalf("suppression: %v %v", u1, u30)
	}
}

func TestBackoff(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b Backoff
	steps := []struct {
		at   time.Duration
		want time.Duration
	}{
		{0, 5 * time.Minute},                 // first failure
		{2 * time.Minute, 5 * time.Minute},   // during backoff: kept
		{6 * time.Minute, 5 * time.Minute},   // still backed off (the 2 min failure extended it to 7 min)
		{12 * time.Minute, 10 * time.Minute}, // after expiry: doubled
		{23 * time.Minute, 20 * time.Minute}, // doubled
		{44 * time.Minute, 30 * time.Minute}, // capped
		{80 * time.Minute, 30 * time.Minute}, // stays capped
		{5 * time.Hour, 5 * time.Minute},     // 3 h after the last failure: reset
		{5*time.Hour + time.Minute, 5 * time.Minute},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		until := b.Fail("g", now, "OutOfCapacity")
		e := b.Groups["g"]
		if e.Duration != s.want || !until.Equal(now.Add(s.want)) {
			t.Fatalf("at %v: backoff %v until %v, want %v", s.at, e.Duration, until, s.want)
		}
	}
	last := t0.Add(5*time.Hour + time.Minute)
	if _, ok := b.Active("g", last.Add(4*time.Minute)); !ok {
		t.Fatal("not active during backoff")
	}
	if _, ok := b.Active("g", last.Add(5*time.Minute)); ok {
		t.Fatal("active at its end")
	}
	b.Prune(last.Add(3 * time.Hour))
	if len(b.Groups) != 0 {
		t.Fatal("not pruned after reset timeout")
	}
	b.Fail("h", t0, "x")
	b.Succeed("h")
	if _, ok := b.Active("h", t0); ok {
		t.Fatal("success did not clear")
	}
	custom := Backoff{Initial: time.Minute, Max: 3 * time.Minute}
	custom.Fail("g", t0, "")
	custom.Fail("g", t0.Add(2*time.Minute), "")
	custom.Fail("g", t0.Add(5*time.Minute), "")
	if d := custom.Groups["g"].Duration; d != 3*time.Minute {
		t.Fatalf("custom cap: %v", d)
	}
}

func TestCombineLimits(t *testing.T) {
	cases := []struct {
		in   []int
		want int
	}{
		{[]int{0, 0}, 0}, {[]int{1000, 0, 7}, 7}, {[]int{5, -1, 3}, -1}, {[]int{0, 12}, 12},
	}
	for _, c := range cases {
		if got := combine(c.in...); got != c.want {
			t.Fatalf("combine%v = %d, want %d", c.in, got, c.want)
		}
	}
	if quotaNodes(0, 10, 4) != 0 || quotaNodes(20, 10, 4) != 2 || quotaNodes(12, 10, 4) != -1 {
		t.Fatal("quotaNodes")
	}
}

func smallGroup(id string, max, target int, cpu int64, zone string) Group {
	a := nodegroup.Resources{MilliCPU: cpu, Memory: 4 * gib, Pods: 110}
	return Group{ID: id, Max: max, Target: target, Template: nodegroup.Template{Allocatable: a, Capacity: a,
		Labels: map[string]string{nodegroup.LabelZone: zone, "pool": "web"}}}
}

func pendingPods(n int, cpu int64) []Pod {
	var ps []Pod
	for i := 0; i < n; i++ {
		ps = append(ps, pod("p"+string(rune('a'+i%26))+string(rune('a'+i/26)), cpu, ""))
	}
	return ps
}

func TestScaleUpLimits(t *testing.T) {
	pods := pendingPods(10, 1000) // one per 1-core node
	cases := []struct {
		name   string
		groups []Group
		lim    Limits
		want   int
		skip   string
	}{
		{"per scale-up", []Group{smallGroup("g", 100, 0, 1000, "a")}, Limits{MaxNodesPerScaleUp: 4}, 4, ""},
		{"group max", []Group{smallGroup("g", 3, 1, 1000, "a")}, Limits{}, 2, ""},
		{"cluster total", []Group{smallGroup("g", 100, 2, 1000, "a")}, Limits{MaxNodesTotal: 5}, 3, ""},
		{"cpu quota", []Group{smallGroup("g", 100, 0, 1000, "a")}, Limits{MaxMilliCPU: 6500}, 6, ""},
		{"memory quota", []Group{smallGroup("g", 100, 0, 1000, "a")}, Limits{MaxMemory: 8 * gib}, 2, ""},
		{"at max", []Group{smallGroup("g", 2, 2, 1000, "a")}, Limits{}, 0, "max size reached (2)"},
		{"forbidden", []Group{smallGroup("g", 100, 0, 1000, "a")}, Limits{MaxNodesPerScaleUp: -1}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ScaleUp(&Cluster{Pods: pods}, tc.groups, ScaleUpOptions{Limits: tc.lim})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, inc := range r.Increases {
				got += inc.Delta
			}
			if got != tc.want {
				t.Fatalf("%d nodes (%s), want %d", got, r.Reason, tc.want)
			}
			if tc.skip != "" && (len(r.Skipped) != 1 || r.Skipped[0].Reason != tc.skip) {
				t.Fatalf("skipped %+v", r.Skipped)
			}
			if len(r.Existing)+len(r.Unschedulable)+got != 10 {
				t.Fatalf("%d on upcoming nodes, %d unschedulable, %d new", len(r.Existing), len(r.Unschedulable), got)
			}
		})
	}
}

func TestScaleUpBudget(t *testing.T) {
	// A clock that advances one second per reading exhausts a 3 s budget.
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	r, err := ScaleUp(&Cluster{Pods: pendingPods(10, 1000)}, []Group{smallGroup("g", 100, 0, 1000, "a")},
		ScaleUpOptions{Limits: Limits{GroupBudget: 3 * time.Second, Clock: clock}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Chosen == nil || !r.Chosen.LimitReached || r.Chosen.Nodes >= 10 || r.Chosen.Nodes == 0 {
		t.Fatalf("budget: %+v", r.Chosen)
	}
}

func TestScaleUpExistingUpcomingAndBalance(t *testing.T) {
	c := &Cluster{Nodes: []Node{node("n1", "a", 2000)}, Pods: append(pendingPods(8, 1000), pod("run", 1000, "n1"))}
	c.Nodes[0].Group = "ga"
	gs := []Group{smallGroup("ga", 10, 1, 1000, "a"), smallGroup("gb", 10, 2, 1000, "b"), smallGroup("gc", 10, 0, 2000, "a")}
	// n1 has room for 1 pod; gb has 2 upcoming nodes for 2 more; 5 need new nodes.
	r, err := ScaleUp(c, gs[:2], ScaleUpOptions{BalanceSimilar: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Existing) != 3 {
		t.Fatalf("existing %+v", r.Existing)
	}
	// 5 nodes over ga (target 1) and gb (target 2): ga gets 3, gb 2 → 4 each.
	want := []Increase{{"ga", 3}, {"gb", 2}}
	if len(r.Increases) != 2 || r.Increases[0] != want[0] || r.Increases[1] != want[1] {
		t.Fatalf("increases %+v (%s)", r.Increases, r.Reason)
	}
	if !Similar(&gs[0].Template, &gs[1].Template, nil) || Similar(&gs[0].Template, &gs[2].Template, nil) {
		t.Fatal("similarity")
	}
	// Least-waste prefers the 2-core group when pods come in pairs of 1 core.
	r, err = ScaleUp(&Cluster{Pods: pendingPods(4, 1000)}, []Group{smallGroup("one", 10, 0, 1000, "a"), smallGroup("two", 10, 0, 2000, "a")}, ScaleUpOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Chosen.Group != "one" && r.Chosen.Group != "two" {
		t.Fatal(r.Reason)
	}
	// Backoff skips a group.
	b := &Backoff{}
	now := time.Unix(1000, 0)
	b.Fail("one", now, "stockout")
	r, _ = ScaleUp(&Cluster{Pods: pendingPods(2, 1000)}, []Group{smallGroup("one", 10, 0, 1000, "a"), smallGroup("two", 10, 0, 2000, "a")}, ScaleUpOptions{Backoff: b, Now: now})
	if r.Chosen.Group != "two" || len(r.Skipped) != 1 {
		t.Fatalf("backoff: %+v %+v", r.Chosen, r.Skipped)
	}
}

func TestBalance(t *testing.T) {
	gs := []Group{{ID: "a", Target: 5, Max: 6}, {ID: "b", Target: 1, Max: 10}, {ID: "c", Target: 2, Max: 10}}
	inc, left := Balance(gs, 8)
	want := map[string]int{"a": 1, "b": 4, "c": 3} // b:1→5, c:2→5, a:5→6
	if left != 0 || len(inc) != 3 {
		t.Fatalf("%+v left %d", inc, left)
	}
	for _, i := range inc {
		if want[i.Group] != i.Delta {
			t.Fatalf("%+v", inc)
		}
	}
	if _, left := Balance([]Group{{ID: "a", Max: 2}}, 5); left != 3 {
		t.Fatal("room cap")
	}
}

func TestScaleUpTotalBudget(t *testing.T) {
	// Each clock reading advances a second; a 4 s budget is spent by the
	// first group's estimate, so the second group is skipped with a reason.
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	r, err := ScaleUp(&Cluster{Pods: pendingPods(10, 1000)},
		[]Group{smallGroup("a", 100, 0, 1000, "a"), smallGroup("b", 100, 0, 1000, "a")},
		ScaleUpOptions{Limits: Limits{TotalBudget: 4 * time.Second, Clock: clock}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Options) != 1 || len(r.Skipped) != 1 || r.Skipped[0] != (SkippedGroup{Group: "b", Reason: "scale-up time budget spent"}) {
		t.Fatalf("options %d, skipped %+v", len(r.Options), r.Skipped)
	}
}
