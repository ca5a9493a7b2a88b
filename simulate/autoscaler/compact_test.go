package autoscaler_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// Step simulates nodes by their free room when no pod has inter-pod
// terms; the decisions must equal those on the full cluster. The full
// path is forced with options that change nothing here (no mirror pods;
// a zero extended request).
func TestCompactSnapshotsDecideTheSame(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("a", 0, 60, 0), group("b", 1, 60, 0)}}
		obs.Groups[1].Template.PricePerHour = 0.05
		for i := range 8 + rng.IntN(30) {
			g := []string{"a", "b"}[rng.IntN(2)]
			name := fmt.Sprintf("n%02d", i)
			obs.Nodes = append(obs.Nodes, node(name, g))
			obs.Groups[map[string]int{"a": 0, "b": 1}[g]].Target++
			obs.Pods = append(obs.Pods, pods(fmt.Sprintf("rs%d", rng.IntN(4)), rng.IntN(6), int64(100+rng.IntN(900)), name)...)
		}
		obs.Pods = append(obs.Pods, pods("pending", rng.IntN(12), int64(200+rng.IntN(1500)), "")...)
		full := *obs
		full.Pods = append([]simulate.Pod(nil), obs.Pods...)
		full.Pods[0].Requests.Extended = map[string]int64{"example.com/none": 0}
		fullCfg := autoscaler.DefaultConfig()
		fullCfg.ScaleDown.IgnoreMirrorPodsUtilization = true
		fullCfg.MaxDrainParallelism = 5
		a, b := newLoop(t, autoscaler.Config{MaxDrainParallelism: 5}), newLoop(t, fullCfg)
		for m := range 25 {
			now := t0.Add(time.Duration(m) * time.Minute)
			x, y := step(t, a, now, obs), step(t, b, now, &full)
			jx, _ := json.Marshal(x)
			jy, _ := json.Marshal(y)
			if string(jx) != string(jy) {
				t.Fatalf("seed %d +%dm: compact %s\nfull %s", seed, m, jx, jy)
			}
			if m == 0 {
				obs.Pods = obs.Pods[:len(obs.Pods)-countPending(obs)]
				full.Pods = full.Pods[:len(full.Pods)-countPending(&full)]
			}
		}
	}
}

func countPending(o *autoscaler.Observation) int {
	n := 0
	for _, p := range o.Pods {
		if p.NodeName == "" {
			n++
		}
	}
	return n
}
