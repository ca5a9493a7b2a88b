package autoscaler_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kscale/kscale/simulate/autoscaler"
)

// benchCluster: nodes × 20 pods of 100m (utilization 0.5, all candidates),
// plus pending pods of one core.
func benchCluster(nodes, pending int) *autoscaler.Observation {
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 2*nodes+pending, nodes)}}
	for i := range nodes {
		name := fmt.Sprintf("n%05d", i)
		obs.Nodes = append(obs.Nodes, node(name, "g"))
		obs.Pods = append(obs.Pods, pods("rs", 20, 100, name)...)
	}
	obs.Pods = append(obs.Pods, pods("web", pending, 1000, "")...)
	return obs
}

// One scan: fresh state and no cached removal simulation each time, so
// every iteration runs the scale-down (or scale-up) simulation. Compare
// runs with benchstat.
func BenchmarkStep(b *testing.B) {
	for _, c := range []struct{ nodes, pending int }{{100, 0}, {1000, 0}, {1000, 2000}} {
		b.Run(fmt.Sprintf("nodes=%d/pending=%d", c.nodes, c.pending), func(b *testing.B) {
			obs := benchCluster(c.nodes, c.pending)
			b.ReportAllocs()
			for b.Loop() {
				a, err := autoscaler.New(autoscaler.Config{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := a.Step(t0, obs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(obs.Pods))*float64(b.N)/b.Elapsed().Seconds(), "pods/s")
		})
	}
}

// A scan of a cluster unchanged since the last one (the same Version and
// PodsVersion): the loop reuses its tally and removal simulation.
func BenchmarkStepUnchanged(b *testing.B) {
	for _, c := range []struct{ nodes, pending int }{{100, 0}, {1000, 0}} {
		b.Run(fmt.Sprintf("nodes=%d/pending=%d", c.nodes, c.pending), func(b *testing.B) {
			obs := benchCluster(c.nodes, c.pending)
			obs.Version, obs.PodsVersion = 1, 1
			a, err := autoscaler.New(autoscaler.Config{})
			if err != nil {
				b.Fatal(err)
			}
			now := t0
			if _, err := a.Step(now, obs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(10 * time.Second)
				if _, err := a.Step(now, obs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
