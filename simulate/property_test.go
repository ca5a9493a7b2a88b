package simulate

import (
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
	var gs []Group
	for i := 0; i < 1+rng.IntN(3); i++ {
		alloc := nodegroup.Resources{MilliCPU: pick(1000, 2000, 4000), Memory: pick(1, 2, 4) * gib, Pods: pick(3, 8, 110)}
		g := Group{ID: fmt.Sprintf("g%d", i), Max: rng.IntN(4), Template: nodegroup.Template{Allocatable: alloc, Capacity: alloc,
			Labels: map[string]string{nodegroup.LabelZone: zones[rng.IntN(2)], "tier": tiers[rng.IntN(2)]}, PricePerHour: float64(alloc.MilliCPU) / 1000}}
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
		c.Nodes = append(c.Nodes, n)
		if rng.IntN(2) == 0 {
			c.Pods = append(c.Pods, Pod{Namespace: "default", Name: fmt.Sprintf("run%d", i), NodeName: n.Name,
				Labels: map[string]string{"app": "x"}, Requests: nodegroup.Resources{MilliCPU: 200, Memory: 100 * mib}})
		}
	}
	if rng.IntN(3) == 0 {
		c.DaemonSets = []Pod{{Namespace: "kube-system", Name: "ds", Owner: &Owner{Kind: "DaemonSet", Name: "ds"},
			Requests: nodegroup.Resources{MilliCPU: 100, Memory: 50 * mib}}}
	}
	for i := 0; i < 1+rng.IntN(10); i++ {
		app := []string{"x", "y"}[rng.IntN(2)]
		p := Pod{Namespace: "default", Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": app},
			Requests: nodegroup.Resources{MilliCPU: pick(100, 500, 900, 1500), Memory: pick(100, 500, 1500) * mib}}
		sel := Selector{MatchLabels: map[string]string{"app": app}}
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
		switch rng.IntN(8) {
		case 0:
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel}}
		case 1:
			p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel}}
		case 2:
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: sel}}
		case 3:
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: sel}}
		case 4:
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel}}
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
