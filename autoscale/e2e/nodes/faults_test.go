package nodes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// faultCPU and faultMemory are each pod's requests in the fault tests: 900m
// keeps node counts independent of allocatable versus capacity.
const faultCPU, faultMemory = "900m", "128Mi"

// asgWorkers is the start of the single-group fault tests: an Auto Scaling
// group "workers" of m5.large (max 10) with the fault tests' timings, its
// env, and how many pods of faultCPU and faultMemory one node takes.
func asgWorkers(t *testing.T) (*cloud, *env, int) {
	t.Helper()
	cl := newASGCloud(t, faultOpts(2*time.Second), asgGroup{Name: "workers", InstanceType: "m5.large", Max: 10})
	return cl, newEnv(t, cl), cl.perNode(t, "workers", faultCPU, faultMemory)
}

// Throttling and 5xx on the scaling and describe calls. After a refresh
// that throttling and 5xx made fail, a scale-up whose SetDesiredCapacity is
// throttled and then applied with its answer lost, through every attempt of
// the SDK's retryer (so IncreaseSize fails and the controller backs the
// group off), is not repeated: the group's desired capacity goes to exactly
// the needed count and never above, one launch per node. A node removal
// whose TerminateInstanceInAutoScalingGroup answers 500 through all retries
// is not lost: a later scan decides it again, the node goes, and the group
// ends at the nodes the remaining pods need.
func TestFaultsThrottlingAndServerErrors(t *testing.T) {
	const cpu, memory, pods = faultCPU, faultMemory, 6
	cl, e, per := asgWorkers(t)
	want := ceilDiv(pods, per)
	// Faults are taken in the order injected, and the SDK's retryer makes
	// five attempts. The controller's first refresh is throttled twice,
	// then answered 500 until the retryer gives up (a failed scan); the
	// next refresh succeeds on its third attempt.
	cl.ASG.Inject(asgtest.FaultThrottle, "DescribeAutoScalingGroups", 2)
	cl.ASG.Inject(asgtest.FaultServerError, "DescribeAutoScalingGroups", 5)
	// The first scale-up is throttled twice, then applied with its answer
	// lost, three times: IncreaseSize fails although the cloud took it.
	cl.ASG.Inject(asgtest.FaultThrottle, "SetDesiredCapacity", 2)
	cl.ASG.Inject(asgtest.FaultLostResponse, "SetDesiredCapacity", 3)
	top := cl.maxDesired(t, "workers")
	e.createDeployment("web", pods, cpu, memory, noGrace)
	e.waitUnschedulable("app=web", pods)
	run := e.startCA(withLoop(faultLoop(0)))
	backoffs := run.backoffs()
	e.waitRunning("app=web", pods, 90*time.Second)
	calls := cl.ASG.Calls()
	if calls["SetDesiredCapacity"] < 5 || calls["DescribeAutoScalingGroups"] < 8 {
		t.Fatalf("the faults were not all met: calls %v", calls)
	}
	// The controller took the scale-up for failed (it backed the group
	// off) and still did not scale up again.
	if r := backoffs("workers"); len(r) == 0 {
		t.Errorf("the failed IncreaseSize did not back the group off")
	} else {
		t.Logf("backoff reasons of workers: %v", r)
	}
	// A few more scans with every pod running change nothing.
	time.Sleep(3 * time.Second)
	g := cl.asgState(t, "workers")
	if g.Desired != want || len(live(g)) != want || launches(g) != want || top() != want {
		t.Fatalf("after the faulted scale-up: desired %d (at most %d), %d instances, %d launches; want exactly %d of each",
			g.Desired, top(), len(live(g)), launches(g), want)
	}
	if inc := run.Trace.changes("workers", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases %+v, want one of %d", inc, want)
	}

	// No lost deletion: every attempt of the first termination answers 500.
	before := cl.ASG.Calls()["TerminateInstanceInAutoScalingGroup"]
	cl.ASG.Inject(asgtest.FaultServerError, "TerminateInstanceInAutoScalingGroup", 5)
	const left = 2
	e.scale("web", left)
	need := ceilDiv(left, per)
	waitFor(t, 2*time.Minute, "the group down to the nodes the pods need", func() (bool, string) {
		g, _ := cl.ASG.Group("workers")
		nodes, err := e.groupNodes(t.Context(), "workers")
		return err == nil && g.Desired == need && len(live(g)) == need && len(nodes) == need, e.describe()
	})
	e.waitRunning("app=web", left, 30*time.Second)
	if n := cl.ASG.Calls()["TerminateInstanceInAutoScalingGroup"] - before; n < 5+want-need {
		t.Fatalf("%d TerminateInstanceInAutoScalingGroup calls, want the 5 faulted and %d more", n, want-need)
	}
	// The node whose termination failed was decided again and is gone.
	retried := 0
	for node, n := range run.Trace.deleteCounts() {
		if n < 2 {
			continue
		}
		retried++
		if _, err := e.Kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("node %s, removed twice, is still there (%v)", node, err)
		}
	}
	if retried == 0 {
		t.Errorf("no removal was decided again after its termination failed: deletes %v", run.Trace.deleteCounts())
	}
	if g := cl.asgState(t, "workers"); launches(g) != want {
		t.Errorf("%d launches after the scale-down, want still %d", launches(g), want)
	}
}

// The same on Alibaba Cloud ESS: describe calls throttled and answered 503
// (retried), and a scale-up whose ScaleWithAdjustment is applied with its
// answer lost (500) twice before the third attempt is answered: the
// provider retries with the same ClientToken, so the group's desired
// capacity goes to exactly the needed count, with one scaling activity and
// one instance per node.
func TestFaultsESSThrottlingAndLostResponses(t *testing.T) {
	const cpu, memory = faultCPU, faultMemory
	cl := newESSCloud(t, faultOpts(2*time.Second), ess.ScaleWithAdjustment, essGroup{ID: "asg-workers", InstanceType: "ecs.g7.large", Max: 10})
	e := newEnv(t, cl)
	per := cl.perNode(t, "asg-workers", cpu, memory)
	const pods = 6
	want := ceilDiv(pods, per)
	cl.ESS.Throttle("ess:DescribeScalingGroups", 2)
	cl.ESS.FailServer("ess:DescribeScalingInstances", 2)
	cl.ESS.InjectFault(esstest.Fault{Action: "ess:ScaleWithAdjustment", Code: esstest.CodeInternalError, Times: 2, AfterApply: true})
	e.createDeployment("web", pods, cpu, memory, noGrace)
	e.waitUnschedulable("app=web", pods)
	run := e.startCA(withLoop(faultLoop(0)))
	e.waitRunning("app=web", pods, 90*time.Second)
	time.Sleep(3 * time.Second) // a few more scans with every pod running
	calls := cl.ESS.Calls()
	if calls["ess:ScaleWithAdjustment"] < 3 || calls["ess:DescribeScalingGroups"] < 3 {
		t.Fatalf("the faults were not all met: calls %v", calls)
	}
	adds := 0
	for _, a := range cl.ESS.Activities("asg-workers") {
		if strings.HasPrefix(a.Description, "Add ") {
			adds++
		}
	}
	if d, n := cl.ESS.Desired("asg-workers"), len(cl.ESS.Instances("asg-workers")); d != want || n != want || adds != 1 {
		t.Errorf("desired %d, %d instances, %d scaling activities; want %d, %d and 1", d, n, adds, want, want)
	}
	if inc := run.Trace.changes("asg-workers", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases %+v, want one of %d", inc, want)
	}
	if r := run.CA.State().Backoff.Groups; len(r) != 0 {
		t.Errorf("backoffs %v after a scale-up that succeeded on a retry", r)
	}
}

// A stock-out of the first-choice group's instance type: its launch fails
// (InsufficientInstanceCapacity), the controller cancels it and backs the
// group off (in its State and its status ConfigMap, reason OutOfCapacity),
// and the other group launches the nodes instead; every pod runs on the
// other group's nodes. The run is replayed through a fresh loop.
func TestFaultsStockOutFallsBack(t *testing.T) {
	const cpu, memory = faultCPU, faultMemory
	cl := newASGCloud(t, faultOpts(2*time.Second),
		asgGroup{Name: "first", InstanceType: "c5.large", Max: 10},
		asgGroup{Name: "second", InstanceType: "m5.large", Max: 10})
	e := newEnv(t, cl)
	cl.ASG.StockOut("c5.large", defaultZone, true)
	prio, err := simulate.NewPriority(map[int][]string{10: {"^first$"}, 1: {"^second$"}})
	if err != nil {
		t.Fatal(err)
	}
	loop := faultLoop(0)
	loop.Expander = prio
	per := cl.perNode(t, "second", cpu, memory)
	const pods = 4
	want := ceilDiv(pods, per)
	e.createDeployment("web", pods, cpu, memory, noGrace)
	e.waitUnschedulable("app=web", pods)
	run := e.startCA(withLoop(loop))
	e.waitRunning("app=web", pods, 90*time.Second)
	st := run.CA.State()
	if e, ok := st.Backoff.Groups["first"]; !ok || !e.Until.After(time.Now()) || e.Reason != autoscaler.ReasonOutOfCapacity {
		t.Errorf("backoff of first %+v (present %v), want active with reason %s", e, ok, autoscaler.ReasonOutOfCapacity)
	}
	e.waitStatusBackoff("first", autoscaler.ReasonOutOfCapacity)
	if inc := run.Trace.changes("first", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of first %+v, want one of %d", inc, want)
	}
	if c := run.Trace.changes("first", true); len(c) != 1 || c[0].Delta != want || c[0].Reason != autoscaler.ReasonOutOfCapacity {
		t.Errorf("cancels of first %+v, want one of %d for %s", c, want, autoscaler.ReasonOutOfCapacity)
	}
	if inc := run.Trace.changes("second", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of second %+v, want one of %d", inc, want)
	}
	first, second := cl.asgState(t, "first"), cl.asgState(t, "second")
	failed := 0
	for _, a := range first.Activities {
		if a.StatusCode == "Failed" {
			failed++
		}
	}
	if first.Desired != 0 || len(first.Instances) != 0 || failed == 0 {
		t.Errorf("first: desired %d, %d instances, %d failed activities; want 0, 0 and some", first.Desired, len(first.Instances), failed)
	}
	if second.Desired != want || launches(second) != want {
		t.Errorf("second: desired %d, %d launches; want %d", second.Desired, launches(second), want)
	}
	nodes, err := e.groupNodes(t.Context(), "second")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, n := range nodes {
		names[n.Name] = true
	}
	for _, p := range e.pods("app=web") {
		if !names[p.Spec.NodeName] {
			t.Errorf("pod %s on %q, not a node of second %v", p.Name, p.Spec.NodeName, names)
		}
	}
	run.Stop()
	replayTrace(t, run)
}

// Launches that never register: the first-choice group's instances launch
// in the cloud but their Nodes never join (the bridge holds them). After
// MaxNodeProvisionTime the controller cancels them, backs the group off
// (reason MaxNodeProvisionTime in its State, "timeout" in its status
// ConfigMap, as cluster-autoscaler) and falls back to the other group,
// where every pod runs; the held group's instances are deleted (the
// providers refuse DecreaseTargetSize below launched instances) and its
// capacity given back.
func TestFaultsLaunchesNeverRegister(t *testing.T) {
	const cpu, memory = faultCPU, faultMemory
	const maxProvision = 12 * time.Second
	cl := newASGCloud(t, faultOpts(2*time.Second),
		asgGroup{Name: "held", InstanceType: "m5.large", Max: 10},
		asgGroup{Name: "spare", InstanceType: "m5.large", Max: 10})
	e := newEnv(t, cl)
	e.Bridge.Hold("held", true)
	prio, err := simulate.NewPriority(map[int][]string{10: {"^held$"}, 1: {"^spare$"}})
	if err != nil {
		t.Fatal(err)
	}
	loop := faultLoop(maxProvision)
	loop.Expander = prio
	per := cl.perNode(t, "spare", cpu, memory)
	const pods = 4
	want := ceilDiv(pods, per)
	e.createDeployment("web", pods, cpu, memory, noGrace)
	e.waitUnschedulable("app=web", pods)
	start := time.Now()
	run := e.startCA(withLoop(loop))
	waitFor(t, 30*time.Second, "held raised", func() (bool, string) {
		g, _ := cl.ASG.Group("held")
		return g.Desired == want, e.describe()
	})
	e.waitRunning("app=web", pods, maxProvision+60*time.Second)
	if el := time.Since(start); el < maxProvision {
		t.Errorf("pods running after %v, before MaxNodeProvisionTime %v: the fallback came too early", el, maxProvision)
	}
	st := run.CA.State()
	if e, ok := st.Backoff.Groups["held"]; !ok || !e.Until.After(time.Now()) || e.Reason != autoscaler.ReasonMaxNodeProvisionTime {
		t.Errorf("backoff of held %+v (present %v), want active with reason %s", e, ok, autoscaler.ReasonMaxNodeProvisionTime)
	}
	e.waitStatusBackoff("held", "timeout") // cluster-autoscaler's error code for it
	c := run.Trace.changes("held", true)
	if len(c) == 0 || c[0].Delta != want || c[0].Reason != autoscaler.ReasonMaxNodeProvisionTime {
		t.Errorf("cancels of held %+v, want first one of %d for %s", c, want, autoscaler.ReasonMaxNodeProvisionTime)
	}
	if inc := run.Trace.changes("spare", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of spare %+v, want one of %d", inc, want)
	}
	if inc := run.Trace.changes("held", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of held %+v, want one of %d (no retry while backed off)", inc, want)
	}
	if nodes, err := e.groupNodes(t.Context(), "held"); err != nil || len(nodes) != 0 {
		t.Errorf("held has Nodes %d (%v), want none", len(nodes), err)
	}
	if g := cl.asgState(t, "spare"); g.Desired != want || launches(g) != want {
		t.Errorf("spare: desired %d, %d launches; want %d", g.Desired, launches(g), want)
	}
	// The launches that never joined are not kept running in the cloud.
	waitFor(t, 30*time.Second, "held's launches given back", func() (bool, string) {
		g, _ := cl.ASG.Group("held")
		return g.Desired == 0 && len(live(g)) == 0, e.describe()
	})
}

// An instance terminated behind the controller's back (through the SDK,
// decrementing the desired capacity): its Node goes, its pods are
// collected and recreated, they trigger one new scale-up, and the group
// ends with as many instances, Nodes and desired capacity as the pods need.
func TestFaultsInstanceTerminatedBehindTheBack(t *testing.T) {
	const cpu, memory, pods = faultCPU, faultMemory, 4
	cl, e, per := asgWorkers(t)
	want := ceilDiv(pods, per)
	if want < 2 {
		t.Fatalf("the test needs two nodes or more, %d pods need %d", pods, want)
	}
	e.createDeployment("web", pods, cpu, memory, noGrace)
	e.waitUnschedulable("app=web", pods)
	run := e.startCA(withLoop(faultLoop(0)))
	e.waitRunning("app=web", pods, 60*time.Second)
	g := cl.asgState(t, "workers")
	if g.Desired != want || len(live(g)) != want {
		t.Fatalf("before: %s, want %d", e.describe(), want)
	}
	victim := live(g)[0]
	node := e.Bridge.NodeName(victim.ID)
	if _, err := e.Kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{}); err != nil {
		t.Fatalf("node of %s: %v", victim.ID, err)
	}
	incBefore := len(run.Trace.changes("workers", false))
	top := cl.maxDesired(t, "workers")
	if _, err := cl.AutoScaling.TerminateInstanceInAutoScalingGroup(t.Context(), &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(victim.ID), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the terminated instance's Node gone", func() (bool, string) {
		_, err := e.Kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	// The pod garbage collector removes the pods of the deleted Node (after
	// its 40 s quarantine); their replacements need a node again.
	waitFor(t, 2*time.Minute, "the group back to the nodes the pods need", func() (bool, string) {
		g, _ := cl.ASG.Group("workers")
		nodes, err := e.groupNodes(t.Context(), "workers")
		return err == nil && g.Desired == want && len(live(g)) == want && len(nodes) == want && launches(g) == want+1, e.describe()
	})
	e.waitRunning("app=web", pods, 30*time.Second)
	for _, p := range e.waitRunning("app=web", pods, time.Second) {
		if p.Spec.NodeName == node {
			t.Errorf("pod %s still on the terminated instance's node", p.Name)
		}
	}
	if top() > want {
		t.Errorf("desired capacity went to %d, want at most %d", top(), want)
	}
	if inc := run.Trace.changes("workers", false)[incBefore:]; len(inc) != 1 || inc[0].Delta != 1 {
		t.Errorf("increases after the termination %+v, want one of 1", inc)
	}
}
