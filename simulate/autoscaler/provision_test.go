package autoscaler_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// poolGroup is a group of 4-core nodes labelled pool=<id>.
func poolGroup(id string, target int) autoscaler.Group {
	g := group(id, 0, 10, target)
	g.Template.Labels = map[string]string{"pool": id}
	return g
}

// poolPods are n pending 1-core pods selecting pool=<pool>.
func poolPods(pool string, n int) []simulate.Pod {
	ps := pods("web-"+pool, n, 1000, "")
	for i := range ps {
		ps[i].NodeSelector = map[string]string{"pool": pool}
	}
	return ps
}

// Karpenter's mode gives every pending pod its node in one loop, across
// groups; cluster-autoscaler's grows one group per loop. Pods for pool a
// (6 cores) and pool b (2 cores): Provision raises a by 2 and b by 1 at
// once; the expander mode raises one of them.
func TestProvisionModeGrowsEveryGroupAtOnce(t *testing.T) {
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{poolGroup("a", 0), poolGroup("b", 0)}}
	obs.Pods = append(poolPods("a", 6), poolPods("b", 2)...)

	act := step(t, newLoop(t, autoscaler.Config{ScaleUpMode: autoscaler.ScaleUpProvision}), t0, obs)
	got := map[string]int{}
	for _, c := range act.Increases {
		got[c.Group] += c.Delta
		if c.Reason != autoscaler.ReasonScaleUp {
			t.Errorf("increase %+v: reason %q", c, c.Reason)
		}
	}
	if len(act.Increases) != 2 || got["a"] != 2 || got["b"] != 1 {
		t.Fatalf("provision mode: increases %+v, want a +2 and b +1 in one loop", act.Increases)
	}
	if act.Increases[0].Pods != 6 || act.Increases[1].Pods != 2 {
		t.Fatalf("pods per increase %+v, want 6 and 2", act.Increases)
	}

	act = step(t, newLoop(t, autoscaler.Config{}), t0, obs)
	if len(act.Increases) != 1 {
		t.Fatalf("expander mode: increases %+v, want one group per loop", act.Increases)
	}
}

// A backed-off group gets no new node in Karpenter's mode either; its pods
// are explained, the other group still grows.
func TestProvisionModeSkipsBackedOffGroups(t *testing.T) {
	a := newLoop(t, autoscaler.Config{ScaleUpMode: autoscaler.ScaleUpProvision})
	a.State.Backoff.Fail("a", t0.Add(-time.Minute), "OutOfCapacity")
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{poolGroup("a", 0), poolGroup("b", 0)}}
	obs.Pods = append(poolPods("a", 2), poolPods("b", 2)...)
	act := step(t, a, t0, obs)
	if len(act.Increases) != 1 || act.Increases[0].Group != "b" || act.Increases[0].Delta != 1 {
		t.Fatalf("increases %+v, want only b +1", act.Increases)
	}
	if len(act.Pending) != 2 {
		t.Fatalf("pending explanations %+v, want the two pods of the backed-off pool", act.Pending)
	}
}

func TestScaleUpModeIsChecked(t *testing.T) {
	if _, err := autoscaler.New(autoscaler.Config{ScaleUpMode: "Karpenter"}); !errors.Is(err, autoscaler.ErrInvalid) {
		t.Fatalf("unknown mode: %v, want ErrInvalid", err)
	}
}
