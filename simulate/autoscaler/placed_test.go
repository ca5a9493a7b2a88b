package autoscaler_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// A pending pod that fits a registered node needs no scale-up, and the
// node it will go to is not empty: cluster-autoscaler places such pods in
// its snapshot (filter_out_schedulable) before it looks for unneeded
// nodes, so the node is kept. Without the pod the same node is removed.
// Every snapshot form (compact, full removal simulation for options that
// need every pod, full scale-up and removal for inter-pod terms) and the
// memo (Version set) agree.
func TestPendingPodKeepsTheNodeItFits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     simulate.ScaleDownOptions
		version  int64
		interPod bool // every snapshot in full, both for scale-up and scale-down
	}{
		{"compact", simulate.DefaultScaleDown(), 0, false},
		{"compact-memo", simulate.DefaultScaleDown(), 7, false},
		{"full", func() simulate.ScaleDownOptions {
			o := simulate.DefaultScaleDown()
			o.IgnoreDaemonSetsUtilization = true
			return o
		}(), 0, false},
		{"inter-pod", simulate.DefaultScaleDown(), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := autoscaler.Config{ScaleDownUnneededTime: time.Second, ScaleDown: tc.opts}
			obs := func(pending bool) *autoscaler.Observation {
				o := &autoscaler.Observation{Nodes: []autoscaler.Node{node("n1", "g"), node("n2", "g")},
					Groups: []autoscaler.Group{group("g", 0, 10, 2)}, Version: tc.version, PodsVersion: tc.version}
				o.Pods = pods("full", 4, 1000, "n1") // n1 has no room left
				if pending {
					o.Pods = append(o.Pods, pods("web", 1, 900, "")...)
					if tc.interPod { // an anti-affinity term no pod matches
						o.Pods[len(o.Pods)-1].AntiAffinity = []simulate.PodAffinityTerm{{
							Selector: simulate.Selector{MatchLabels: map[string]string{"app": "none"}}, TopologyKey: "kubernetes.io/hostname"}}
					}
					o.PodsVersion++
				}
				return o
			}
			a := newLoop(t, cfg)
			for s := range 4 {
				act := step(t, a, t0.Add(time.Duration(s)*2*time.Second), obs(true))
				if len(act.Increases) != 0 {
					t.Fatalf("scan %d: increases %+v for a pod that fits n2", s, act.Increases)
				}
				if slices.Contains(deleted(act), "n2") {
					t.Fatalf("scan %d: n2 removed although the pending pod goes there: %+v", s, act.Deletes)
				}
				if _, ok := a.State.Unneeded["n2"]; ok {
					t.Fatalf("scan %d: n2 marked unneeded", s)
				}
			}
			// The control: with no pending pod, n2 is empty and goes.
			b := newLoop(t, cfg)
			var gone bool
			for s := range 4 {
				act := step(t, b, t0.Add(time.Duration(s)*2*time.Second), obs(false))
				gone = gone || slices.Contains(deleted(act), "n2")
			}
			if !gone {
				t.Fatal("an empty n2 with no pending pod was never removed")
			}
		})
	}
}
