package simulate

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

const gib = 1 << 30

// karpenterGroups maps Karpenter's 400 benchmark instance types to 400
// single-type groups: type i has i+1 vCPU, 2(i+1) GiB, 10(i+1) pods,
// kube-reserved 100m / 10 MiB, price 0.1 per vCPU + 0.1 per GiB; group i
// sits in zone i mod 3.
func karpenterGroups() []Group {
	gs := make([]Group, 400)
	for i := range gs {
		n := int64(i + 1)
		capacity := nodegroup.Resources{MilliCPU: 1000 * n, Memory: 2 * n * gib, Pods: 10 * n}
		gs[i] = Group{ID: fmt.Sprintf("type-%03d", i), Max: 100000, Template: nodegroup.Template{
			InstanceType: fmt.Sprintf("fake-it-%d", i),
			Capacity:     capacity,
			Allocatable:  nodegroup.Resources{MilliCPU: capacity.MilliCPU - 100, Memory: capacity.Memory - 10*mib, Pods: capacity.Pods},
			Labels: map[string]string{nodegroup.LabelZone: fmt.Sprintf("test-zone-%d", i%3+1),
				nodegroup.LabelInstanceType: fmt.Sprintf("fake-it-%d", i)},
			PricePerHour: 0.1*float64(n) + 0.1*float64(2*n),
		}}
	}
	return gs
}

// karpenterPods is Karpenter's "diverse" workload: five equal fifths —
// generic, zonal spread (maxSkew 1), hostname spread (maxSkew 1), zonal
// self-affinity, hostname anti-affinity on a shared label — with CPU
// uniform over {100, 250, 500, 1000, 1500}m and memory over {100, 256,
// 512, 1024, 2048, 4096}Mi, seeded with 42.
func karpenterPods(n int) []Pod {
	rng := rand.New(rand.NewPCG(42, 0))
	cpus := []int64{100, 250, 500, 1000, 1500}
	mems := []int64{100, 256, 512, 1024, 2048, 4096}
	pods := make([]Pod, 0, n)
	for i := 0; i < n; i++ {
		kind := i * 5 / n
		p := Pod{Namespace: "default", Name: fmt.Sprintf("pod-%d", i), Owner: &Owner{Kind: "ReplicaSet", Name: fmt.Sprintf("rs-%d", kind)},
			Requests: nodegroup.Resources{MilliCPU: cpus[rng.IntN(len(cpus))], Memory: mems[rng.IntN(len(mems))] * mib}}
		switch kind {
		case 0:
			p.Labels = map[string]string{"app": "generic"}
		case 1:
			p.Labels = map[string]string{"app": "spread-zone"}
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: Selector{MatchLabels: p.Labels}}}
		case 2:
			p.Labels = map[string]string{"app": "spread-host"}
			p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: Selector{MatchLabels: p.Labels}}}
		case 3:
			p.Labels = map[string]string{"app": "affinity"}
			p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: Selector{MatchLabels: p.Labels}}}
		case 4:
			p.Labels = map[string]string{"app": "anti"}
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: Selector{MatchLabels: p.Labels}}}
		}
		pods = append(pods, p)
	}
	return pods
}

// lowerBound is ceil(max over resources of Σ requests / the largest
// type's allocatable), and at least the pods that each need a node.
func lowerBound(pods []Pod, gs []Group) int {
	var cpu, mem, maxCPU, maxMem int64
	anti := 0
	for _, p := range pods {
		cpu += p.Requests.MilliCPU
		mem += p.Requests.Memory
		if len(p.AntiAffinity) > 0 {
			anti++
		}
	}
	for _, g := range gs {
		maxCPU = max(maxCPU, g.Template.Allocatable.MilliCPU)
		maxMem = max(maxMem, g.Template.Allocatable.Memory)
	}
	return max(anti, int((cpu+maxCPU-1)/maxCPU), int((mem+maxMem-1)/maxMem))
}

func TestProvisionKarpenterWorkload(t *testing.T) {
	for _, n := range []int{100, 1000} {
		c := &Cluster{Pods: karpenterPods(n)}
		gs := karpenterGroups()
		r, err := Provision(c, gs, ProvisionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Unschedulable) != 0 || len(r.Placements) != n {
			t.Fatalf("%d pods: %d unschedulable, %d placed", n, len(r.Unschedulable), len(r.Placements))
		}
		checkPlacements(t, c, gs, r)
		t.Logf("%d pods: %d nodes (lower bound %d)", n, r.Total(), lowerBound(c.Pods, gs))
	}
}

func BenchmarkProvisionKarpenter(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := &Cluster{Pods: karpenterPods(n)}
			gs := karpenterGroups()
			b.ReportAllocs()
			var nodes int
			for b.Loop() {
				r, err := Provision(c, gs, ProvisionOptions{})
				if err != nil || len(r.Unschedulable) != 0 || len(r.Placements) != n {
					b.Fatalf("%v unschedulable, %v", len(r.Unschedulable), err)
				}
				nodes = r.Total()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "pods/s")
			b.ReportMetric(float64(nodes), "nodes")
			b.ReportMetric(float64(lowerBound(c.Pods, gs)), "lowerbound")
		})
	}
}

// TestNodesAgainstLowerBound reports, on random generic workloads over the
// Karpenter instance types, the nodes Provision adds against the lower
// bound ceil(max over resources of Σ requests / largest allocatable); it
// can never go under the bound.
func TestNodesAgainstLowerBound(t *testing.T) {
	gs := karpenterGroups()
	worst := 0.0
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		pods := make([]Pod, 200+rng.IntN(2000))
		for i := range pods {
			pods[i] = Pod{Namespace: "default", Name: fmt.Sprint(i),
				Requests: nodegroup.Resources{MilliCPU: 50 + rng.Int64N(4000), Memory: (64 + rng.Int64N(8192)) * mib}}
		}
		r, err := Provision(&Cluster{Pods: pods}, gs, ProvisionOptions{})
		if err != nil || len(r.Unschedulable) > 0 {
			t.Fatal(err, len(r.Unschedulable))
		}
		lb := lowerBound(pods, gs)
		if r.Total() < lb {
			t.Fatalf("seed %d: %d nodes under the lower bound %d", seed, r.Total(), lb)
		}
		worst = max(worst, float64(r.Total())/float64(lb))
	}
	t.Logf("worst ratio of nodes to the lower bound over 20 workloads: %.2f", worst)
}
