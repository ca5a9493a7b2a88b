package nodes_test

import (
	"slices"
	"testing"
	"time"

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
	const cpu, memory, pods = faultCPU, faultMemory, 6
	cl, e, per := asgWorkers(t)
	want := ceilDiv(pods, per)
	e.Bridge.Hold("workers", true)
	e.createDeployment("web", pods, cpu, memory, noGrace)
	e.waitUnschedulable("app=web", pods)
	first := e.startCA(withLoop(faultLoop(0)))
	waitFor(t, 30*time.Second, "the first controller's scale-up", func() (bool, string) {
		g, _ := cl.ASG.Group("workers")
		return g.Desired == want, e.describe()
	})
	first.Stop()
	if inc := first.Trace.changes("workers", false); len(inc) != 1 || inc[0].Delta != want {
		t.Fatalf("first controller's increases %+v, want one of %d", inc, want)
	}
	// Let the launches finish in the cloud (still held from the cluster).
	waitFor(t, 15*time.Second, "the instances in service", func() (bool, string) {
		g, _ := cl.ASG.Group("workers")
		in := 0
		for _, i := range g.Instances {
			if i.LifecycleState == "InService" {
				in++
			}
		}
		return in == want, e.describe()
	})
	before := cl.asgState(t, "workers")
	ids := instanceIDs(before)
	if nodes := e.Bridge.Nodes(); len(nodes) != 0 {
		t.Fatalf("nodes registered while held: %v", nodes)
	}

	// The second controller's State is empty, so no delay after a
	// scale-up holds its scale-down (3 s unneeded time): the new nodes
	// register empty while kube-scheduler's backoff keeps the pending pods
	// off them, and must be kept because those pods fit them.
	second := e.startCA(withLoop(faultLoop(0)))
	waitFor(t, 30*time.Second, "three scans of the second controller", func() (bool, string) {
		return len(second.Trace.Steps()) >= 3, ""
	})
	if up := second.CA.State().Launches["workers"]; len(up) != want {
		t.Errorf("the second controller tracks %d launches of workers, want %d", len(up), want)
	}
	e.Bridge.Hold("workers", false)
	e.waitRunning("app=web", pods, 60*time.Second)
	time.Sleep(2 * time.Second) // a couple more scans with every pod running
	second.Stop()
	after := cl.asgState(t, "workers")
	if after.Desired != before.Desired || launches(after) != launches(before) || !slices.Equal(instanceIDs(after), ids) {
		t.Errorf("after the restart: desired %d, %d launches, instances %v; before: %d, %d, %v",
			after.Desired, launches(after), instanceIDs(after), before.Desired, launches(before), ids)
	}
	if inc := second.Trace.changes("workers", false); len(inc) != 0 {
		t.Errorf("the second controller increased %+v", inc)
	}
	steps := second.Trace.Steps()
	if up := steps[0].Actions.Upcoming["workers"]; up != want {
		t.Errorf("the second controller's first scan counted %d upcoming nodes, want %d", up, want)
	}
	replayTrace(t, second)
}

// instanceIDs are a group's instances' ids, sorted.
func instanceIDs(g asgtest.GroupState) []string {
	var out []string
	for _, in := range g.Instances {
		out = append(out, in.ID)
	}
	slices.Sort(out)
	return out
}
