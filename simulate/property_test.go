package simulate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

// randomCase builds a small random cluster exercising every predicate.
func randomCase(seed uint64) (*Cluster, []Group) {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs ...int64) int64 { return xs[rng.IntN(len(xs))] }
	zones := []string{"z1", "z2"}
	tiers := []string{"a", "b"}
	racks := []string{"r1", "r2"}
	namespaces := []string{"default", "default", "other"}
	var gs []Group
	for i := 0; i < 1+rng.IntN(3); i++ {
		alloc := nodegroup.Resources{MilliCPU: pick(1000, 2000, 4000), Memory: pick(1, 2, 4) * gib, Pods: pick(3, 8, 110)}
		g := Group{ID: fmt.Sprintf("g%d", i), Max: rng.IntN(4), Template: nodegroup.Template{Allocatable: alloc, Capacity: alloc,
			Labels: map[string]string{nodegroup.LabelZone: zones[rng.IntN(2)], "tier": tiers[rng.IntN(2)]}, PricePerHour: float64(alloc.MilliCPU) / 1000}}
		if rng.IntN(2) == 0 {
			g.Template.Labels["rack"] = racks[rng.IntN(2)]
		}
		if rng.IntN(5) == 0 {
			g.Template.Taints = []nodegroup.Taint{{Key: "dedicated", Value: "x", Effect: "NoSchedule"}}
		}
		if g.Max > 0 && rng.IntN(3) == 0 {
			g.Target = 1
		}
		gs = append(gs, g)
	}
	c := &Cluster{}
	for i := 0; i < rng.IntN(3); i++ {
		n := Node{Name: fmt.Sprintf("n%d", i), Labels: map[string]string{nodegroup.LabelZone: zones[rng.IntN(2)], "tier": tiers[rng.IntN(2)]},
			Allocatable: nodegroup.Resources{MilliCPU: pick(1000, 2000), Memory: 2 * gib, Pods: pick(3, 110)}, Unschedulable: rng.IntN(6) == 0}
		if rng.IntN(2) == 0 {
			n.Labels["rack"] = racks[rng.IntN(2)]
		}
		c.Nodes = append(c.Nodes, n)
		if rng.IntN(2) == 0 {
			run := Pod{Namespace: namespaces[rng.IntN(3)], Name: fmt.Sprintf("run%d", i), NodeName: n.Name,
				Labels: map[string]string{"app": "x"}, Requests: nodegroup.Resources{MilliCPU: 200, Memory: 100 * mib}}
			if rng.IntN(3) == 0 {
				run.Labels["role"] = "db"
			}
			if rng.IntN(4) == 0 {
				run.AntiAffinity = []PodAffinityTerm{{TopologyKey: "rack", Selector: Selector{MatchLabels: map[string]string{"app": "y"}}}}
			}
			run.Terminal = rng.IntN(6) == 0
			run.Deleting = rng.IntN(5) == 0
			c.Pods = append(c.Pods, run)
		}
	}
	if rng.IntN(3) == 0 {
		c.DaemonSets = []Pod{{Namespace: "kube-system", Name: "ds", Owner: &Owner{Kind: "DaemonSet", Name: "ds"},
			Requests: nodegroup.Resources{MilliCPU: 100, Memory: 50 * mib}}}
	}
	for i := 0; i < 1+rng.IntN(10); i++ {
		app := []string{"x", "y"}[rng.IntN(2)]
		p := Pod{Namespace: namespaces[rng.IntN(3)], Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": app},
			Requests: nodegroup.Resources{MilliCPU: pick(100, 500, 900, 1500), Memory: pick(100, 500, 1500) * mib}}
		if rng.IntN(3) == 0 {
			p.Labels["role"] = "db"
		}
		sel := Selector{MatchLabels: map[string]string{"app": app}}
		db := Selector{MatchLabels: map[string]string{"role": "db"}}
		var ns []string
		if rng.IntN(4) == 0 {
			ns = []string{namespaces[rng.IntN(3)]}
		}
		if rng.IntN(5) == 0 {
			p.NodeSelector = map[string]string{"tier": tiers[rng.IntN(2)]}
		}
		if rng.IntN(5) == 0 {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: nodegroup.LabelZone, Operator: OpIn, Values: []string{zones[rng.IntN(2)]}}}}}
		}
		if rng.IntN(3) == 0 {
			p.Tolerations = []Toleration{{Key: "dedicated", Operator: "Exists"}}
		}
		if rng.IntN(6) == 0 {
			p.HostPorts = []HostPort{{Port: 8080}}
		}
		switch rng.IntN(13) {
		case 0:
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel}}
		case 1:
			p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel}}
		case 2:
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: sel, MinDomains: int32(rng.IntN(4))}}
		case 3:
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: sel}}
		case 4:
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel}}
		case 5:
			// Several required affinity terms, one pod must match all.
			p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel, Namespaces: ns}, {TopologyKey: "rack", Selector: db}}
		case 6:
			p.Affinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel}, {TopologyKey: nodegroup.LabelZone, Selector: db},
				{TopologyKey: "rack", Selector: sel, Namespaces: ns}}
		case 7:
			// Several spread constraints, some nodes lacking a key.
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: sel, MinDomains: int32(rng.IntN(3))},
				{MaxSkew: 1, TopologyKey: "rack", Selector: sel}}
		case 8:
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: sel},
				{MaxSkew: 1, TopologyKey: "rack", Selector: sel, MinDomains: int32(rng.IntN(3))}}
		case 9:
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel}, {TopologyKey: "rack", Selector: db, Namespaces: ns}}
		}
		c.Pods = append(c.Pods, p)
	}
	return c, gs
}

// checkEstimate checks one group's estimate: valid placements in order,
// nodes within the limit, Nodes equal to the nodes used.
func checkEstimate(t testing.TB, c *Cluster, g Group, limit int) {
	t.Helper()
	est, err := Estimate(c, g, limit)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{}
	for _, p := range est.Placements {
		used[p.Node] = g.ID
	}
	if len(used) != est.Nodes || (limit > 0 && est.Nodes > limit) || len(est.Pods) != len(est.Placements) {
		t.Fatalf("estimate of %s: %d nodes, %d used, limit %d, %d pods / %d placements", g.ID, est.Nodes, len(used), limit, len(est.Pods), len(est.Placements))
	}
	checkReplay(t, c, []Group{g}, false, est.Placements, used)
}

func TestPropertyRandomClusters(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 50
	}
	for seed := uint64(0); seed < uint64(n); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c, gs := randomCase(seed)
			r, err := Provision(c, gs, ProvisionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkPlacements(t, c, gs, r)
			for _, g := range gs {
				checkEstimate(t, c, g, int(seed%3))
			}
			su, err := ScaleUp(c, gs, ScaleUpOptions{Limits: Limits{MaxNodesPerScaleUp: 2}})
			if err != nil {
				t.Fatal(err)
			}
			checkScaleUp(t, c, gs, su)
			for _, inc := range su.Increases {
				g := gs[0]
				for _, h := range gs {
					if h.ID == inc.Group {
						g = h
					}
				}
				if inc.Delta < 1 || inc.Delta > 2 || g.Target+inc.Delta > g.Max {
					t.Fatalf("increase %+v breaks limits of %+v", inc, g)
				}
			}
		})
	}
}

// FuzzEstimate builds a small random cluster from the input and checks the
// estimator and the provisioner: no panic, valid placements, limits held.
func FuzzEstimate(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 3, 42, 99, 1234, 777777} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, seed uint64, limit uint8) {
		c, gs := randomCase(seed)
		for _, g := range gs {
			checkEstimate(t, c, g, int(limit%5))
		}
		r, err := Provision(c, gs, ProvisionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkPlacements(t, c, gs, r)
	})
}

// TestPropertyUpcomingBound checks that building only pending+1 upcoming
// nodes per group gives the same scale-up as building every one the
// targets promise, on random clusters with targets above the pods.
func TestPropertyUpcomingBound(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	for seed := uint64(0); seed < uint64(n); seed++ {
		c, gs := randomCase(seed)
		for i := range gs {
			gs[i].Max = 40
			gs[i].Target = int(seed*7+uint64(i)*3) % 30
		}
		run := func(all bool) *ScaleUpResult {
			s, err := newSnapshot(c, gs)
			if err != nil {
				t.Fatal(err)
			}
			s.buildAll = all
			r, err := s.scaleUp(gs, ScaleUpOptions{Limits: Limits{MaxNodesTotal: 60}})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		a, _ := json.Marshal(run(false))
		b, _ := json.Marshal(run(true))
		if string(a) != string(b) {
			t.Fatalf("seed %d: bounded %s\nfull %s", seed, a, b)
		}
	}
}

// checkScaleUp checks a ScaleUp verdict: the pods set on existing and
// upcoming nodes replay validly, no pod left over fits any of those nodes
// afterwards (the passes stop only when none does), and every deferred pod
// has an option's pod matching all its affinity terms.
func checkScaleUp(t testing.TB, c *Cluster, gs []Group, r *ScaleUpResult) {
	t.Helper()
	w := checkReplay(t, c, gs, true, r.Existing, nil)
	left := append(append([]Unschedulable(nil), r.Unschedulable...), r.Deferred...)
	for _, u := range left {
		for _, n := range w.nodes {
			if v := w.violation(u.Pod, n); v == "" {
				t.Fatalf("pod %s left pending (%v) fits %s", c.Pods[u.Pod].Key(), u.Reasons, n.name)
			}
		}
	}
	for _, u := range r.Deferred {
		p := &c.Pods[u.Pod]
		found := false
		for _, o := range r.Options {
			for _, q := range o.Pods {
				found = found || matchesAllTerms(p, &c.Pods[q])
			}
		}
		if !found {
			t.Fatalf("pod %s deferred but no option places a pod its affinity wants", p.Key())
		}
	}
}

// TestPropertyPredicatesAgree compares the simulator's filter with the
// checker's, pod by node, on random clusters where some pending pods are
// bound at random first (so counts, namespaces and missing keys vary).
func TestPropertyPredicatesAgree(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 60
	}
	checked := 0
	for seed := uint64(0); seed < uint64(n); seed++ {
		c, _ := randomCase(seed)
		rng := rand.New(rand.NewPCG(seed, 11))
		for k := 0; k < 2+rng.IntN(4); k++ {
			l := map[string]string{}
			if rng.IntN(5) > 0 {
				l[nodegroup.LabelZone] = []string{"z1", "z2", "z3"}[rng.IntN(3)]
			}
			if rng.IntN(2) == 0 {
				l["rack"] = []string{"r1", "r2", "r3"}[rng.IntN(3)]
			}
			if rng.IntN(2) == 0 {
				l["tier"] = []string{"a", "b"}[rng.IntN(2)]
			}
			c.Nodes = append(c.Nodes, Node{Name: fmt.Sprintf("x%d", k), Labels: l,
				Allocatable: nodegroup.Resources{MilliCPU: 8000, Memory: 16 * gib, Pods: 110}})
		}
		for i := range c.Pods {
			if c.Pods[i].NodeName == "" && rng.IntN(2) == 0 {
				c.Pods[i].NodeName = c.Nodes[rng.IntN(len(c.Nodes))].Name
			}
		}
		s, err := newSnapshot(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := checkReplay(t, c, nil, false, nil, nil)
		for i := range c.Pods {
			if c.Pods[i].NodeName != "" {
				continue
			}
			g := s.pegs[s.podPeg[i]]
			for _, nd := range s.nodes {
				got := s.reason(g, nd)
				want := w.violation(i, w.byNm[nd.name])
				if (got == "") != (want == "") {
					t.Fatalf("seed %d: pod %s on %s: simulator %q, checker %q", seed, c.Pods[i].Key(), nd.name, got, want)
				}
				checked++
			}
		}
	}
	if checked < n {
		t.Fatalf("only %d pod/node pairs checked", checked)
	}
}
