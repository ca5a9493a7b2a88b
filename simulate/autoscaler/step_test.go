package autoscaler_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// Pending pods that fit no node trigger one scale-up of the nodes they
// need; the launches are upcoming nodes from then on and the same pods
// trigger nothing more.
func TestScaleUpForPendingPods(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := &autoscaler.Observation{Nodes: []autoscaler.Node{node("n1", "g")}, Groups: []autoscaler.Group{group("g", 1, 10, 1)}}
	obs.Pods = append(pods("full", 4, 1000, "n1"), pods("web", 10, 1000, "")...)
	act := step(t, a, t0, obs)
	// 10 pods of one core on 4-core nodes: 3 nodes.
	want := []autoscaler.Change{{Group: "g", Delta: 3, Reason: autoscaler.ReasonScaleUp, Pods: 10}}
	if len(act.Increases) != 1 || act.Increases[0].Group != "g" || act.Increases[0].Delta != 3 || act.Increases[0].Reason != want[0].Reason ||
		act.Increases[0].Pods != 10 {
		t.Fatalf("increases %+v, want %+v", act.Increases, want)
	}
	if act.Upcoming["g"] != 3 || len(a.State.Launches["g"]) != 3 || !a.State.LastScaleUp.Equal(t0) {
		t.Fatalf("upcoming %v, launches %v, last scale-up %s", act.Upcoming, a.State.Launches, a.State.LastScaleUp)
	}
	if act.ScaleDown != autoscaler.ReasonScaleUpInLoop {
		t.Fatalf("scale-down %q in a loop that scaled up", act.ScaleDown)
	}
	// The provider now reports target 4 with one node registered.
	obs.Groups[0].Target = 4
	act = step(t, a, t0.Add(10*time.Second), obs)
	if len(act.Increases) != 0 || act.Upcoming["g"] != 3 {
		t.Fatalf("second scan: increases %+v, upcoming %v; the pods fit the upcoming nodes", act.Increases, act.Upcoming)
	}
	// One more pending pod than the upcoming nodes take: one more node.
	obs.Pods = append(obs.Pods, pods("extra", 3, 1000, "")...)
	act = step(t, a, t0.Add(20*time.Second), obs)
	if len(act.Increases) != 1 || act.Increases[0].Delta != 1 {
		t.Fatalf("13 pending pods on 3 upcoming nodes: increases %+v, want +1", act.Increases)
	}
}

// A restarted loop with an empty State recomputes upcoming nodes from the
// provider's target size and does not launch them again; it times them
// from the first scan that sees them.
func TestRestartDoesNotLaunchTwice(t *testing.T) {
	obs := &autoscaler.Observation{Nodes: []autoscaler.Node{node("n1", "g")}, Groups: []autoscaler.Group{group("g", 1, 10, 4)}}
	obs.Pods = append(pods("full", 4, 1000, "n1"), pods("web", 10, 1000, "")...)
	a := newLoop(t, autoscaler.Config{})
	act := step(t, a, t0, obs)
	if len(act.Increases) != 0 || act.Upcoming["g"] != 3 {
		t.Fatalf("restart: increases %+v, upcoming %v; want none and 3", act.Increases, act.Upcoming)
	}
	act = step(t, a, t0.Add(15*time.Minute-time.Second), obs)
	if len(act.Cancels) != 0 {
		t.Fatalf("cancelled before max-node-provision-time from the first sighting: %+v", act.Cancels)
	}
	act = step(t, a, t0.Add(15*time.Minute), obs)
	if len(act.Cancels) != 1 || act.Cancels[0].Delta != 3 || act.Cancels[0].Reason != autoscaler.ReasonMaxNodeProvisionTime {
		t.Fatalf("cancels %+v, want 3 for MaxNodeProvisionTime", act.Cancels)
	}
}

// Launches not registered within MaxNodeProvisionTime are cancelled and
// the group backed off (5 minutes the first time); the pods then go to
// another group while the backoff lasts.
func TestProvisionTimeoutCancelsAndBacksOff(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("a", 0, 10, 0), group("b", 0, 10, 0)}}
	obs.Groups[1].Template.PricePerHour = 0.5 // equal shapes: least-waste ties; b is never cheaper
	obs.Pods = pods("web", 4, 1000, "")
	act := step(t, a, t0, obs)
	if len(act.Increases) != 1 {
		t.Fatalf("increases %+v", act.Increases)
	}
	first := act.Increases[0].Group
	other := map[string]string{"a": "b", "b": "a"}[first]
	obs.Groups[map[string]int{"a": 0, "b": 1}[first]].Target = 1
	act = step(t, a, t0.Add(15*time.Minute-10*time.Second), obs)
	if len(act.Cancels) != 0 || len(act.Increases) != 0 {
		t.Fatalf("before the timeout: %+v", act)
	}
	now := t0.Add(15 * time.Minute)
	act = step(t, a, now, obs)
	if len(act.Cancels) != 1 || act.Cancels[0].Group != first || act.Cancels[0].Delta != 1 || act.Cancels[0].Reason != autoscaler.ReasonMaxNodeProvisionTime {
		t.Fatalf("cancels %+v", act.Cancels)
	}
	if len(act.Backoffs) != 1 || !act.Backoffs[0].Until.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("backoffs %+v, want %s until %s", act.Backoffs, first, now.Add(5*time.Minute))
	}
	// Same loop: the pods still pend, the backed-off group is skipped.
	if len(act.Increases) != 1 || act.Increases[0].Group != other {
		t.Fatalf("fallback increases %+v, want %s", act.Increases, other)
	}
}

// Launches the cloud reports out of capacity are cancelled at once, the
// group is backed off, and the same loop falls back to the next group.
func TestOutOfCapacityFallsBack(t *testing.T) {
	a := newLoop(t, autoscaler.Config{Expander: simulate.DefaultPrice()})
	cheap, dear := group("spot", 0, 10, 2), group("on-demand", 0, 10, 0)
	cheap.Template.PricePerHour, dear.Template.PricePerHour = 0.03, 0.2
	cheap.Instances = []nodegroup.Instance{
		{ProviderID: "fake:///s1", State: nodegroup.InstanceCreating, ErrorClass: nodegroup.OutOfCapacity},
		{ProviderID: "fake:///s2", State: nodegroup.InstanceCreating, ErrorClass: nodegroup.OutOfCapacity},
	}
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{cheap, dear}, Pods: pods("web", 8, 1000, "")}
	act := step(t, a, t0, obs)
	if len(act.Cancels) != 1 || act.Cancels[0].Group != "spot" || act.Cancels[0].Delta != 2 || act.Cancels[0].Reason != autoscaler.ReasonOutOfCapacity {
		t.Fatalf("cancels %+v", act.Cancels)
	}
	if _, ok := a.State.Backoff.Active("spot", t0); !ok {
		t.Fatal("spot not backed off")
	}
	if len(act.Increases) != 1 || act.Increases[0].Group != "on-demand" || act.Increases[0].Delta != 2 {
		t.Fatalf("increases %+v, want +2 on-demand", act.Increases)
	}
	// A second failure after the backoff expired doubles it.
	obs.Groups[0].Target = 2
	later := t0.Add(6 * time.Minute)
	act = step(t, a, later, obs)
	if len(act.Backoffs) != 1 || !act.Backoffs[0].Until.Equal(later.Add(10*time.Minute)) {
		t.Fatalf("second backoff %+v, want 10 min", act.Backoffs)
	}
}

// scaleDownCluster: n1 is busy (3 cores of 4), n2 runs one small pod that
// fits n1; the group may shrink to 1.
func scaleDownCluster() *autoscaler.Observation {
	obs := &autoscaler.Observation{Nodes: []autoscaler.Node{node("n1", "g"), node("n2", "g")}, Groups: []autoscaler.Group{group("g", 1, 10, 2)}}
	obs.Pods = append(pods("busy", 3, 1000, "n1"), pods("small", 1, 500, "n2")...)
	return obs
}

// A removable node is deleted once it has been unneeded for
// ScaleDownUnneededTime, not a scan earlier.
func TestScaleDownAfterUnneededTime(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := scaleDownCluster()
	for _, d := range []time.Duration{0, 5 * time.Minute, 10*time.Minute - time.Second} {
		if act := step(t, a, t0.Add(d), obs); len(act.Deletes) != 0 {
			t.Fatalf("deleted at +%s: %+v", d, act.Deletes)
		}
	}
	if !a.State.Unneeded["n2"].Equal(t0) {
		t.Fatalf("n2 unneeded since %v, want %s", a.State.Unneeded, t0)
	}
	if _, ok := a.State.Unneeded["n1"]; ok {
		t.Fatal("the busy node is unneeded")
	}
	act := step(t, a, t0.Add(10*time.Minute), obs)
	if got := deleted(act); !reflect.DeepEqual(got, []string{"n2"}) || act.Deletes[0].Empty || act.Deletes[0].ProviderID != "fake:///n2" {
		t.Fatalf("deletes %+v, want n2 (not empty)", act.Deletes)
	}
	// A pod that makes n2 needed resets its timer.
	b := newLoop(t, autoscaler.Config{})
	step(t, b, t0, obs)
	busy := scaleDownCluster()
	busy.Pods = append(busy.Pods, pods("more", 2, 1000, "n2")...)
	step(t, b, t0.Add(5*time.Minute), busy)
	if act := step(t, b, t0.Add(10*time.Minute), obs); len(act.Deletes) != 0 {
		t.Fatalf("deleted although needed 5 minutes ago: %+v", act.Deletes)
	}
}

// The scale-down delays after a scale-up, a deletion and a failed
// deletion hold deletions back; unneeded timers run meanwhile.
func TestScaleDownDelays(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := scaleDownCluster()
	a.State.LastScaleUp = t0.Add(-time.Minute) // scale-up a minute before
	step(t, a, t0, obs)
	act := step(t, a, t0.Add(9*time.Minute-time.Second), obs)
	if len(act.Deletes) != 0 || act.ScaleDown == "" {
		t.Fatalf("deleted during delay-after-add: %+v", act)
	}
	act = step(t, a, t0.Add(10*time.Minute), obs)
	if len(act.Deletes) != 1 {
		t.Fatalf("the timer ran during the delay: want n2 deleted at +10m, got %+v", act)
	}
	// Delay after delete = the scan interval.
	obs2 := scaleDownCluster()
	obs2.Nodes = append(obs2.Nodes, node("n3", "g"))
	obs2.Groups[0].Target = 3
	b := newLoop(t, autoscaler.Config{MaxDrainParallelism: 1})
	step(t, b, t0, obs2)
	b.State.LastScaleDown = t0.Add(10*time.Minute - 5*time.Second)
	if act := step(t, b, t0.Add(10*time.Minute), obs2); len(act.Deletes) != 0 {
		t.Fatalf("deleted 5 s after a deletion: %+v", act.Deletes)
	}
	if act := step(t, b, t0.Add(10*time.Minute+5*time.Second), obs2); len(act.Deletes) == 0 {
		t.Fatal("nothing deleted a scan after the last deletion")
	}
	// Delay after failure: 3 minutes.
	c := newLoop(t, autoscaler.Config{})
	step(t, c, t0, obs)
	act = step(t, c, t0.Add(10*time.Minute), obs)
	c.State.DeleteFailed(t0.Add(10*time.Minute), act.Deletes[0])
	if act := step(t, c, t0.Add(13*time.Minute-time.Second), obs); len(act.Deletes) != 0 {
		t.Fatalf("deleted during delay-after-failure: %+v", act.Deletes)
	}
	if act := step(t, c, t0.Add(13*time.Minute), obs); len(act.Deletes) != 1 {
		t.Fatalf("not retried after delay-after-failure: %+v", act)
	}
}

// simulate's drain rules keep nodes: a safe-to-evict "false" pod, a pod
// with no controller, the scale-down-disabled annotation; safe-to-evict
// "true" lets a pod without a controller go.
func TestDrainRulesKeepNodes(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(obs *autoscaler.Observation)
		reason string
	}{
		{"safe-to-evict false", func(o *autoscaler.Observation) { o.Pods[3].SafeToEvict = "false" }, simulate.ReasonNotSafeToEvictAnnotation},
		{"no controller", func(o *autoscaler.Observation) { o.Pods[3].Owner = nil }, simulate.ReasonNotReplicated},
		{"scale-down-disabled", func(o *autoscaler.Observation) { o.Nodes[1].ScaleDownDisabled = true }, simulate.ReasonScaleDownDisabledAnnotation},
		{"no controller, safe-to-evict true", func(o *autoscaler.Observation) { o.Pods[3].Owner = nil; o.Pods[3].SafeToEvict = "true" }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newLoop(t, autoscaler.Config{})
			obs := scaleDownCluster()
			c.mutate(obs)
			var act autoscaler.Actions
			for d := time.Duration(0); d <= 20*time.Minute; d += 10 * time.Second {
				act = step(t, a, t0.Add(d), obs)
				if len(act.Deletes) > 0 {
					break
				}
			}
			if c.reason == "" {
				if len(act.Deletes) != 1 {
					t.Fatalf("not deleted: %+v", act)
				}
				return
			}
			if len(act.Deletes) != 0 {
				t.Fatalf("deleted: %+v", act.Deletes)
			}
			found := false
			for _, u := range act.Unremovable {
				found = found || (u.Node == "n2" && u.Reason == c.reason)
			}
			if !found {
				t.Fatalf("unremovable %+v, want n2 %s", act.Unremovable, c.reason)
			}
		})
	}
}

// Empty nodes go in bulk up to MaxEmptyBulkDelete per loop; non-empty
// ones one at a time (MaxDrainParallelism 1).
func TestBulkDeleteLimits(t *testing.T) {
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 20, 15)}}
	for i := range 15 {
		obs.Nodes = append(obs.Nodes, node("e"+string(rune('a'+i)), "g"))
	}
	a := newLoop(t, autoscaler.Config{})
	step(t, a, t0, obs)
	act := step(t, a, t0.Add(10*time.Minute), obs)
	if len(act.Deletes) != 10 {
		t.Fatalf("%d deletions, want 10 (max-empty-bulk-delete)", len(act.Deletes))
	}
	for _, d := range act.Deletes {
		if !d.Empty {
			t.Fatalf("%s not empty", d.Node)
		}
	}
	// Three low nodes whose pods fit the big one: one drain per loop.
	obs = &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 20, 4)},
		Nodes: []autoscaler.Node{node("big", "g"), node("x", "g"), node("y", "g"), node("z", "g")}}
	obs.Pods = pods("base", 1, 2100, "big")
	for _, n := range []string{"x", "y", "z"} {
		obs.Pods = append(obs.Pods, pods("w", 1, 300, n)...)
	}
	b := newLoop(t, autoscaler.Config{})
	step(t, b, t0, obs)
	act = step(t, b, t0.Add(10*time.Minute), obs)
	if len(act.Deletes) != 1 || act.Deletes[0].Empty {
		t.Fatalf("deletes %+v, want one drain", act.Deletes)
	}
}

func bigRise(at time.Time) autoscaler.Rise {
	p := pods("batch", 1, 1000, "")[0]
	p.Name = ""
	return autoscaler.Rise{Workload: "batch", At: at, Current: 0, Replicas: 8, Pod: p, StartUp: 30 * time.Second}
}

// Pre-provisioning raises the groups the rise needs at rise − (latency +
// start-up + one scan), not earlier, and only once.
func TestPreProvisionTiming(t *testing.T) {
	rise := t0.Add(time.Hour)
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 10, 0)}, Rises: []autoscaler.Rise{bigRise(rise)}}
	a := newLoop(t, autoscaler.Config{PreProvisionLatencyFloor: 5 * time.Minute})
	lead := 5*time.Minute + 30*time.Second + 10*time.Second
	if act := step(t, a, rise.Add(-lead-10*time.Second), obs); len(act.Increases) != 0 {
		t.Fatalf("raised too early: %+v", act.Increases)
	}
	act := step(t, a, rise.Add(-lead), obs)
	if len(act.Increases) != 1 || act.Increases[0].Delta != 2 || act.Increases[0].Reason != autoscaler.ReasonPreProvision ||
		!act.Increases[0].At.Equal(rise) || act.Increases[0].Replicas != 8 {
		t.Fatalf("increases %+v, want +2 PreProvision for the rise", act.Increases)
	}
	if len(a.State.Holds) != 1 || a.State.Holds[0].Nodes != 2 || !a.State.Holds[0].Until.Equal(rise) {
		t.Fatalf("holds %+v", a.State.Holds)
	}
	obs.Groups[0].Target = 2
	if act := step(t, a, rise.Add(-lead+10*time.Second), obs); len(act.Increases) != 0 {
		t.Fatalf("raised twice: %+v", act.Increases)
	}
	// A measured latency above the floor lengthens the lead.
	b := newLoop(t, autoscaler.Config{PreProvisionLatencyFloor: 5 * time.Minute})
	b.State.Latencies = map[string][]time.Duration{"g": {8 * time.Minute, 3 * time.Minute}}
	obs.Groups[0].Target = 0
	lead = 8*time.Minute + 40*time.Second
	if act := step(t, b, rise.Add(-lead-time.Second), obs); len(act.Increases) != 0 {
		t.Fatalf("raised before the measured lead: %+v", act.Increases)
	}
	if act := step(t, b, rise.Add(-lead), obs); len(act.Increases) != 1 {
		t.Fatalf("not raised at the measured lead: %+v", act)
	}
}

// Registration measures the latency used for the lead.
func TestLatencyMeasured(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 10, 0)}, Pods: pods("web", 2, 1000, "")}
	step(t, a, t0, obs)
	obs = &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 10, 1)}, Nodes: []autoscaler.Node{node("n1", "g")},
		Pods: pods("web", 2, 1000, "n1")}
	step(t, a, t0.Add(7*time.Minute), obs)
	if got := a.State.Latencies["g"]; !reflect.DeepEqual(got, []time.Duration{7 * time.Minute}) || len(a.State.Launches["g"]) != 0 {
		t.Fatalf("latencies %v launches %v", got, a.State.Launches)
	}
}

// Pre-provisioned nodes are held against scale-down until the rise, then
// treated as any other node.
func TestPreProvisionHold(t *testing.T) {
	rise := t0.Add(time.Hour)
	a := newLoop(t, autoscaler.Config{})
	a.State.Latencies = map[string][]time.Duration{"g": {40 * time.Minute}}
	obs := &autoscaler.Observation{Groups: []autoscaler.Group{group("g", 0, 10, 0)}, Rises: []autoscaler.Rise{bigRise(rise)}}
	start := rise.Add(-(40*time.Minute + 40*time.Second))
	if act := step(t, a, start, obs); len(act.Increases) != 1 {
		t.Fatalf("not raised: %+v", act)
	}
	obs.Groups[0].Target = 2
	obs.Nodes = []autoscaler.Node{node("p1", "g"), node("p2", "g")}
	for now := start.Add(5 * time.Minute); now.Before(rise); now = now.Add(10 * time.Second) {
		act := step(t, a, now, obs)
		if len(act.Deletes) != 0 {
			t.Fatalf("held node deleted at %s: %+v", now, act.Deletes)
		}
		if now.Equal(rise.Add(-time.Minute)) {
			held := 0
			for _, u := range act.Unremovable {
				if u.Reason == autoscaler.ReasonPreProvisionHold {
					held++
				}
			}
			if held != 2 {
				t.Fatalf("unremovable %+v, want 2 held", act.Unremovable)
			}
		}
	}
	// After the rise the hold is gone: empty nodes are unneeded from then.
	obs.Rises = nil
	step(t, a, rise, obs)
	if len(a.State.Holds) != 0 || !a.State.Unneeded["p1"].Equal(rise) {
		t.Fatalf("holds %+v unneeded %v", a.State.Holds, a.State.Unneeded)
	}
}

// Invalid input is refused with the field and changes nothing.
func TestInvalidInput(t *testing.T) {
	for _, c := range []autoscaler.Config{
		{ScaleDownUnneededTime: -time.Second},
		{ScaleDown: simulate.ScaleDownOptions{Threshold: math.NaN()}},
		{ScaleDown: simulate.ScaleDownOptions{Threshold: 1.5}},
		{MaxEmptyBulkDelete: -1},
	} {
		if _, err := autoscaler.New(c); !errors.Is(err, autoscaler.ErrInvalid) {
			t.Errorf("New(%+v): %v, want ErrInvalid", c, err)
		}
	}
	a := newLoop(t, autoscaler.Config{})
	step(t, a, t0, scaleDownCluster())
	before, _ := json.Marshal(a.State)
	bad := []*autoscaler.Observation{
		nil,
		{Groups: []autoscaler.Group{group("g", 0, 1, 0), group("g", 0, 1, 0)}},
		{Groups: []autoscaler.Group{group("g", 2, 1, 0)}},
		{Groups: []autoscaler.Group{group("g", 0, 1, -1)}},
		{Nodes: []autoscaler.Node{node("n", "g"), node("n", "g")}},
		{Rises: []autoscaler.Rise{{Workload: "w", At: t0, Current: 1, Replicas: -1}}},
	}
	for i, obs := range bad {
		if _, err := a.Step(t0.Add(time.Minute), obs); !errors.Is(err, autoscaler.ErrInvalid) {
			t.Errorf("observation %d: %v, want ErrInvalid", i, err)
		}
	}
	if _, err := a.Step(time.Time{}, scaleDownCluster()); !errors.Is(err, autoscaler.ErrInvalid) {
		t.Errorf("zero now: %v", err)
	}
	// simulate refuses a bad pod: the step fails as a whole.
	obs := scaleDownCluster()
	obs.Pods = append(obs.Pods, simulate.Pod{Namespace: "default", Name: "neg", Requests: nodegroup.Resources{MilliCPU: -5}})
	if _, err := a.Step(t0.Add(time.Minute), obs); err == nil {
		t.Error("a negative request was accepted")
	}
	after, _ := json.Marshal(a.State)
	if string(before) != string(after) {
		t.Fatalf("a refused step changed the state:\n%s\n%s", before, after)
	}
}

// The State survives JSON: a loop resumed from it decides the same.
func TestStateJSON(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := scaleDownCluster()
	obs.Pods = append(obs.Pods, pods("web", 6, 1000, "")...)
	step(t, a, t0, obs)
	obs.Groups[0].Target = 4
	step(t, a, t0.Add(time.Minute), obs)
	b, err := json.Marshal(a.State)
	if err != nil {
		t.Fatal(err)
	}
	r := newLoop(t, autoscaler.Config{})
	if err := json.Unmarshal(b, &r.State); err != nil {
		t.Fatal(err)
	}
	for d := 2 * time.Minute; d < 30*time.Minute; d += time.Minute {
		x, y := step(t, a, t0.Add(d), obs), step(t, r, t0.Add(d), obs)
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		if string(jx) != string(jy) {
			t.Fatalf("+%s: %s\nresumed: %s", d, jx, jy)
		}
	}
}

// --max-nodes-total counts registered and upcoming nodes.
func TestMaxNodesTotal(t *testing.T) {
	c := autoscaler.DefaultConfig()
	c.Limits.MaxNodesTotal = 3
	a := newLoop(t, c)
	obs := &autoscaler.Observation{Nodes: []autoscaler.Node{node("n1", "g")}, Groups: []autoscaler.Group{group("g", 1, 10, 1)}}
	obs.Pods = append(pods("full", 4, 1000, "n1"), pods("web", 20, 1000, "")...)
	act := step(t, a, t0, obs)
	if len(act.Increases) != 1 || act.Increases[0].Delta != 2 {
		t.Fatalf("increases %+v, want +2 (3 nodes in all)", act.Increases)
	}
	obs.Groups[0].Target = 3
	if act := step(t, a, t0.Add(10*time.Second), obs); len(act.Increases) != 0 {
		t.Fatalf("past max-nodes-total: %+v", act.Increases)
	}
}

// A pod no group can take is explained per group (NotTriggerScaleUp) and
// triggers nothing; scale-down still runs in that loop.
func TestNotTriggerScaleUp(t *testing.T) {
	a := newLoop(t, autoscaler.Config{})
	obs := scaleDownCluster()
	p := pods("gpu", 1, 1000, "")[0]
	p.NodeSelector = map[string]string{"accelerator": "a100"}
	obs.Pods = append(obs.Pods, p)
	act := step(t, a, t0, obs)
	if len(act.Increases) != 0 || len(act.Pending) != 1 || act.Pending[0].Reason != autoscaler.ReasonNotTriggerScaleUp ||
		act.Pending[0].Pod != "default/"+p.Name || act.Pending[0].Reasons["g"] == "" {
		t.Fatalf("pending %+v increases %+v", act.Pending, act.Increases)
	}
	if act.ScaleDown != "" || !a.State.Unneeded["n2"].Equal(t0) {
		t.Fatalf("scale-down %q, unneeded %v: want the timers running", act.ScaleDown, a.State.Unneeded)
	}
}
