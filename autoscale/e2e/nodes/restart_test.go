package nodes_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/cloud/asg/asgtest"
)

// A restart in the middle of a scale-up does not launch twice: the first
// controller raises the group, and is stopped before any of the new
// instances registers (the bridge holds them); a fresh controller, with an
// empty State, recomputes the upcoming nodes from the provider's target
// size and launches nothing: the emulator's desired capacity, instances and
// launch activities are unchanged, and once the nodes register every pod
// runs. The second controller's run is replayed through a fresh loop.
func TestRestartMidScaleUpDoesNotLaunchTwice(t *testing.T) {
	const milli = 900
	fc := newFaultCloud(t, "rst-", 2*time.Second, faultGroup{Name: "workers", InstanceType: "m5.large", Max: 10})
	per := fc.perNode(t, "workers", milli)
	const pods = 6
	want := (pods + per - 1) / per
	fc.b.Hold("workers", true)
	fc.deployment(t, "web", pods, milli)
	fc.waitUnschedulable(t, "web", pods)
	first := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: faultLoop(0)})
	faultWait(t, 30*time.Second, "the first controller's scale-up", func() (bool, string) {
		g, _ := fc.srv.Group("workers")
		return g.Desired == want, fc.describe()
	})
	first.stop()
	if inc := first.trace.changes("workers", false); len(inc) != 1 || inc[0].Delta != want {
		t.Fatalf("first controller's increases %+v, want one of %d", inc, want)
	}
	// Let the launches finish in the cloud (still held from the cluster).
	faultWait(t, 15*time.Second, "the instances in service", func() (bool, string) {
		g, _ := fc.srv.Group("workers")
		in := 0
		for _, i := range g.Instances {
			if i.LifecycleState == "InService" {
				in++
			}
		}
		return in == want, fc.describe()
	})
	before := fc.group(t, "workers")
	ids := faultInstanceIDs(before)
	if nodes := fc.b.Nodes(); len(nodes) != 0 {
		t.Fatalf("nodes registered while held: %v", nodes)
	}

	// The second controller's State is empty, so no delay after a
	// scale-up holds its scale-down (3 s unneeded time): the new nodes
	// register empty while kube-scheduler's backoff keeps the pending pods
	// off them, and must be kept because those pods fit them.
	second := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: faultLoop(0)})
	faultWait(t, 30*time.Second, "three scans of the second controller", func() (bool, string) {
		return len(second.trace.Steps()) >= 3, ""
	})
	if up := second.ca.State().Launches["workers"]; len(up) != want {
		t.Errorf("the second controller tracks %d launches of workers, want %d", len(up), want)
	}
	fc.b.Hold("workers", false)
	fc.waitRunning(t, "web", pods, 60*time.Second)
	time.Sleep(2 * time.Second) // a couple more scans with every pod running
	second.stop()
	after := fc.group(t, "workers")
	if after.Desired != before.Desired || faultLaunches(after) != faultLaunches(before) || !slices.Equal(faultInstanceIDs(after), ids) {
		t.Errorf("after the restart: desired %d, %d launches, instances %v; before: %d, %d, %v",
			after.Desired, faultLaunches(after), faultInstanceIDs(after), before.Desired, faultLaunches(before), ids)
	}
	if inc := second.trace.changes("workers", false); len(inc) != 0 {
		t.Errorf("the second controller increased %+v", inc)
	}
	steps := second.trace.Steps()
	if up := steps[0].act.Upcoming["workers"]; up != want {
		t.Errorf("the second controller's first scan counted %d upcoming nodes, want %d", up, want)
	}
	replayTrace(t, second)
}

// instanceIDs are a group's instances' ids, sorted.
func faultInstanceIDs(g asgtest.GroupState) []string {
	var out []string
	for _, in := range g.Instances {
		out = append(out, in.ID)
	}
	slices.Sort(out)
	return out
}
