package nodes_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/schedule"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// prePodClock records, for every pod of a namespace, when it was first seen,
// when it was first seen bound, and whether the scheduler ever marked it
// unschedulable.
type prePodClock struct {
	mu            sync.Mutex
	seen, bound   map[string]time.Time
	unschedulable map[string]bool
}

func (pc *prePodClock) observe(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if _, ok := pc.seen[p.Name]; !ok {
		pc.seen[p.Name] = now
	}
	if _, ok := pc.bound[p.Name]; !ok && p.Spec.NodeName != "" {
		pc.bound[p.Name] = now
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			pc.unschedulable[p.Name] = true
		}
	}
}

// Pre-provisioning ahead of a scheduled rise. A cron rule (seconds
// dialect, UTC) raises a Deployment from 2 to 40 replicas at an instant T
// about 80 s after the test starts; the CronScaler applies it, and the
// cluster autoscaler is given the same schedule (ScheduledFromCronTarget).
// Instances take 20 s to launch, the pods declare a 10 s start-up, and the
// provisioning latency floor is 30 s, so the group must be raised about
// 42 s before T. The new nodes are Ready before T; after T every pod is
// bound within its start-up time and none is ever marked unschedulable;
// the group gets exactly the nodes the 40 pods need, all raised for the
// rise (reason PreProvision) before T. The run is replayed through a fresh
// loop.
func TestPreProvisionNodesReadyBeforeScheduledRise(t *testing.T) {
	const (
		cpu, memory = "900m", "128Mi"
		from, to    = 2, 40
		launchDelay = 20 * time.Second
		startUp     = 10 * time.Second
		floor       = 30 * time.Second
		scan        = 2 * time.Second
	)
	ctx := t.Context()
	cl := newASGCloud(t, faultOpts(launchDelay), asgGroup{Name: "pool", InstanceType: "m5.2xlarge", Max: 10, Desired: 1})
	e := newEnv(t, cl)
	per := cl.perNode(t, "pool", cpu, memory)
	want := ceilDiv(to, per)
	if want < 3 {
		t.Fatalf("%d pods fit %d nodes of the pool; the test needs several", to, want)
	}
	e.createDeployment("batch", from, cpu, memory, noGrace)
	e.waitRunning("app=batch", from, 30*time.Second)

	pc := &prePodClock{seen: map[string]time.Time{}, bound: map[string]time.Time{}, unschedulable: map[string]bool{}}
	f := informers.NewSharedInformerFactoryWithOptions(e.Kube, 0, informers.WithNamespace(e.NS))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: pc.observe,
		UpdateFunc: func(_, cur any) { pc.observe(cur) }}); err != nil {
		t.Fatal(err)
	}
	stopInf := make(chan struct{})
	defer close(stopInf)
	f.Start(stopInf)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("pod informer did not sync")
	}

	at := time.Now().Add(80 * time.Second).Truncate(time.Second).UTC()
	end := at.Add(10 * time.Minute)
	cronAt := func(t time.Time) string { return fmt.Sprintf("%d %d %d * * *", t.Second(), t.Minute(), t.Hour()) }
	sched, err := schedule.New(schedule.Spec{Cron: schedule.ParseOptions{Seconds: true}, Rules: []schedule.RuleSpec{
		{Name: "peak", Start: cronAt(at), End: cronAt(end), Bounds: schedule.Floor(to)}}})
	if err != nil {
		t.Fatal(err)
	}
	target := autoscale.CronTarget{Name: "batch-peak", Namespace: e.NS, Schedule: sched,
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "batch"}}
	sw, err := autoscale.ScheduledFromCronTarget(target, startUp)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := autoscale.ClientsForConfig(e.C.Config())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := autoscale.NewCronScaler(autoscale.CronScalerConfig{Clients: clients, Targets: []autoscale.CronTarget{target},
		Resync: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	csCtx, csCancel := context.WithCancel(context.WithoutCancel(ctx))
	csDone := make(chan error, 1)
	go func() { csDone <- cs.Run(csCtx) }()
	defer func() {
		csCancel()
		if err := <-csDone; err != nil {
			t.Errorf("CronScaler.Run: %v", err)
		}
	}()
	// Scale-down is left at cluster-autoscaler's defaults (10 min): no
	// node goes within the test.
	loop := autoscaler.Config{ScanInterval: scan, PreProvisionLatencyFloor: floor}
	run := e.startCA(func(c *autoscale.ClusterAutoscalerConfig) {
		c.Loop, c.Schedules = loop, []autoscale.ScheduledWorkload{sw}
	})
	t.Logf("rise at %v, %v from now; %d pods per node, %d nodes for %d pods", at, time.Until(at).Round(time.Second), per, want, to)

	// Just before T: the nodes the rise needs are Ready, the replicas not
	// raised yet.
	time.Sleep(time.Until(at.Add(-time.Second)))
	nodes, err := e.groupNodes(ctx, "pool")
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, n := range nodes {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if r := e.replicas("batch"); ready != want || r != from {
		t.Fatalf("1 s before the rise: %d Ready nodes of %d, want %d; %d replicas, want %d (%s)", ready, len(nodes), want, r, from, e.describe())
	}
	raised := run.Trace.changes("pool", false)
	if len(raised) == 0 {
		t.Fatalf("no increase of the pool before the rise")
	}
	sum := 0
	for _, c := range raised {
		sum += c.Delta
		if c.Reason != autoscaler.ReasonPreProvision || c.Workload == "" || !c.At.Equal(at) {
			t.Errorf("increase before the rise %+v, want reason %s for the rise at %v", c, autoscaler.ReasonPreProvision, at)
		}
	}
	if sum != want-1 {
		t.Errorf("the pool raised by %d before the rise, want %d", sum, want-1)
	}

	// After T: the CronScaler raises the replicas; every new pod is bound
	// within its start-up time, none unschedulable.
	e.waitRunning("app=batch", to, time.Minute)
	time.Sleep(2 * scan)
	if r := e.replicas("batch"); r != to {
		t.Errorf("%d replicas after the rise, want %d", r, to)
	}
	pc.mu.Lock()
	late, slowest := 0, time.Duration(0)
	for name, seen := range pc.seen {
		b, ok := pc.bound[name]
		if !ok {
			t.Errorf("pod %s never seen bound", name)
			continue
		}
		wait := b.Sub(seen)
		slowest = max(slowest, wait)
		if wait > startUp {
			late++
			t.Errorf("pod %s pending %v, longer than its start-up %v", name, wait, startUp)
		}
		if pc.unschedulable[name] {
			t.Errorf("pod %s was marked unschedulable", name)
		}
	}
	pods := len(pc.seen)
	pc.mu.Unlock()
	if pods < to {
		t.Errorf("saw %d pods, want at least %d", pods, to)
	}
	t.Logf("%d pods, slowest bound after %v, %d late", pods, slowest, late)
	g := cl.asgState(t, "pool")
	if g.Desired != want || launches(g) != want-1 {
		t.Errorf("pool: desired %d, %d launches; want %d and %d", g.Desired, launches(g), want, want-1)
	}
	if n := len(run.Trace.changes("pool", false)); n != len(raised) {
		t.Errorf("%d increases in all, %d before the rise: the pods needed more after T", n, len(raised))
	}
	run.Stop()
	replayTrace(t, run)
}

// replicas is a Deployment's spec.replicas.
func (e *env) replicas(name string) int32 {
	e.t.Helper()
	d, err := e.Kube.AppsV1().Deployments(e.NS).Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return *d.Spec.Replicas
}
