package autoscale_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/fake"
	"github.com/kscale/kscale/schedule"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// caEnv is a fake cluster for the cluster autoscaler: a fake clientset
// whose Nodes mirror a fake provider's running instances, and an eviction
// reactor that deletes the evicted pod (or refuses, as a PDB does).
type caEnv struct {
	kube *kubefake.Clientset
	prov *fake.Provider
	ca   *autoscale.ClusterAutoscaler
	ctx  context.Context

	rec       *record.FakeRecorder
	evictions atomic.Int32
	refuse    atomic.Bool // answer every eviction with 429
}

func template(pool string, cpu int64) nodegroup.Template {
	return nodegroup.Template{InstanceType: pool + ".large", Labels: map[string]string{"pool": pool},
		Allocatable: nodegroup.Resources{MilliCPU: cpu, Memory: 8 << 30, Pods: 110}}
}

func caNode(name, providerID, pool string, cpu int64, age time.Duration) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": pool},
		CreationTimestamp: metav1.NewTime(time.Now().Add(-age))},
		Spec: corev1.NodeSpec{ProviderID: providerID},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(8<<30, resource.BinarySI), corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func caPod(name, node string, cpu int64) *corev1.Pod {
	yes := true
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: k8stypes.UID("uid-" + name),
		Labels:          map[string]string{"app": "web"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", Controller: &yes}}},
		Spec: corev1.PodSpec{NodeName: node, NodeSelector: map[string]string{"pool": "small"},
			Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI)}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if node == "" {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
	}
	return p
}

// newCAEnv builds the provider's groups, a Node per running instance
// (named <group>-<n>, the first the oldest) and the extra objects.
func newCAEnv(t *testing.T, cfg autoscale.ClusterAutoscalerConfig, groups []fake.GroupConfig, objs ...runtime.Object) *caEnv {
	t.Helper()
	e := &caEnv{prov: fake.New(time.Now(), groups...)}
	for _, g := range groups {
		gs, _ := e.prov.NodeGroups(context.Background())
		for _, x := range gs {
			if x.Id() != g.ID {
				continue
			}
			insts, _ := x.Nodes(context.Background())
			for i, in := range insts {
				objs = append(objs, caNode(fmt.Sprintf("%s-%d", g.ID, i), in.ProviderID, g.Template.Labels["pool"],
					g.Template.Allocatable.MilliCPU, time.Duration(len(insts)-i)*time.Hour))
			}
		}
	}
	e.kube = kubefake.NewClientset(objs...)
	e.kube.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		e.evictions.Add(1)
		ev := a.(clienttesting.CreateAction).GetObject().(*policyv1.Eviction)
		if e.refuse.Load() {
			return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		}
		err := e.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ev.Namespace, ev.Name)
		return true, nil, err
	})
	cfg.Kube, cfg.Provider = e.kube, e.prov
	if cfg.Recorder == nil {
		e.rec = record.NewFakeRecorder(1000)
		cfg.Recorder = e.rec
	}
	ca, err := autoscale.NewClusterAutoscaler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.ca = ca
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.ctx = ctx
	if err := ca.StartInformers(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// fastLoop removes an unneeded node at the second scan.
func fastLoop() autoscaler.Config {
	return autoscaler.Config{ScaleDownUnneededTime: time.Nanosecond, ScaleDownDelayAfterAdd: time.Nanosecond,
		ScaleDownDelayAfterDelete: time.Nanosecond, ScaleDownDelayAfterFailure: time.Nanosecond}
}

func (e *caEnv) ops(op string) []fake.Event {
	var out []fake.Event
	for _, ev := range e.prov.Events() {
		if ev.Op == op {
			out = append(out, ev)
		}
	}
	return out
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestClusterAutoscalerScaleUpRaisesTheFittingGroup(t *testing.T) {
	groups := []fake.GroupConfig{
		{ID: "big", Min: 0, Max: 10, Size: 0, Template: template("big", 8000)},
		{ID: "small", Min: 0, Max: 10, Size: 1, Template: template("small", 2000)},
	}
	// The small node is full; three 1-CPU pods that only fit "small" nodes
	// pend: two 2-CPU nodes are needed.
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{}, groups,
		caPod("busy", "small-0", 1900), caPod("p1", "", 1000), caPod("p2", "", 1000), caPod("p3", "", 1000),
		// Not marked unschedulable yet: not pending for the cluster autoscaler.
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fresh", Namespace: "shop"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}})
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unschedulable) != 3 {
		t.Fatalf("unschedulable = %v, want p1..p3", res.Unschedulable)
	}
	inc := e.ops("IncreaseSize")
	if len(inc) != 1 || inc[0].Group != "small" || inc[0].Delta != 2 {
		t.Fatalf("IncreaseSize calls = %+v, want one of small by 2", inc)
	}
	if len(res.Increases) != 1 || res.Increases[0].Err != "" || res.Actions.Increases[0].Reason != autoscaler.ReasonScaleUp {
		t.Fatalf("increases = %+v / %+v", res.Increases, res.Actions.Increases)
	}
	if res.Nodes != 1 || res.ReadyNodes != 1 || len(res.Groups) != 2 || res.Groups[1].Upcoming != 2 || res.Groups[1].Target != 1 {
		t.Fatalf("result = %+v", res)
	}
	// The next scan sees the launches as upcoming: no second increase.
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.ops("IncreaseSize")); n != 1 {
		t.Fatalf("%d IncreaseSize calls after the second scan, want 1", n)
	}
	if st := e.ca.State(); len(st.Launches["small"]) != 2 {
		t.Fatalf("launches = %v", st.Launches)
	}
}

func TestClusterAutoscalerIncreaseFailureBacksOff(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 0, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{}, groups, caPod("p1", "", 1000))
	e.prov.FailNext("IncreaseSize", errors.New("quota exceeded"))
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Increases) != 1 || !strings.Contains(res.Increases[0].Err, "quota exceeded") {
		t.Fatalf("increases = %+v", res.Increases)
	}
	st := e.ca.State()
	if _, ok := st.Backoff.Groups["small"]; !ok || len(st.Launches["small"]) != 0 {
		t.Fatalf("state after a failed increase: backoff %+v launches %v", st.Backoff, st.Launches)
	}
	if _, ok := res.Backoff.Groups["small"]; !ok {
		t.Fatalf("result backoff = %+v", res.Backoff)
	}
	// Backed off: the next scan does not raise it again.
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	if inc := e.ops("IncreaseSize"); len(inc) != 1 {
		t.Fatalf("IncreaseSize calls = %+v, want only the failed one", inc)
	}
}

func TestClusterAutoscalerRemovesUnneededNode(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	ds := true
	daemon := caPod("agent", "small-0", 50)
	daemon.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent", Controller: &ds}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop(), EvictionRetryTime: 10 * time.Millisecond},
		groups, caPod("a", "small-0", 300), daemon, caPod("b", "small-1", 400))
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Deletes) != 0 {
		t.Fatalf("first scan deletes %+v: the nodes just became unneeded", res.Actions.Deletes)
	}
	time.Sleep(time.Millisecond)
	res, err = e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Deletes) != 1 || res.Actions.Deletes[0].Node != "small-0" || !res.Deletes[0].Started {
		t.Fatalf("deletes = %+v outcomes %+v", res.Actions.Deletes, res.Deletes)
	}
	eventually(t, "DeleteNodes", func() bool { return len(e.ops("DeleteNodes")) == 1 })
	del := e.ops("DeleteNodes")[0]
	if del.Group != "small" || len(del.IDs) != 1 || del.IDs[0] != res.Actions.Deletes[0].ProviderID {
		t.Fatalf("DeleteNodes = %+v", del)
	}
	n, err := e.kube.CoreV1().Nodes().Get(e.ctx, "small-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !n.Spec.Unschedulable || len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != autoscaler.TaintToBeDeleted ||
		n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Fatalf("node after removal: unschedulable %v taints %+v", n.Spec.Unschedulable, n.Spec.Taints)
	}
	if _, err := e.kube.CoreV1().Pods("shop").Get(e.ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod a not evicted: %v", err)
	}
	if _, err := e.kube.CoreV1().Pods("shop").Get(e.ctx, "agent", metav1.GetOptions{}); err != nil {
		t.Fatalf("the DaemonSet pod was evicted: %v", err)
	}
	if e.evictions.Load() != 1 {
		t.Fatalf("%d evictions, want 1", e.evictions.Load())
	}
	var fin []autoscale.Removal
	eventually(t, "the removal in Finished", func() bool {
		r, err := e.ca.Scan(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		fin = append(fin, r.Finished...)
		return len(fin) > 0
	})
	if fin[0].Node != "small-0" || fin[0].Err != "" || fin[0].Evicted != 1 || fin[0].Empty {
		t.Fatalf("finished = %+v", fin)
	}
}

func TestClusterAutoscalerDeletesEmptyNodeAtOnce(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop()}, groups, caPod("b", "small-1", 1500))
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deletes) != 1 || res.Deletes[0].Started || res.Deletes[0].Err != "" || !res.Actions.Deletes[0].Empty {
		t.Fatalf("deletes = %+v / %+v", res.Actions.Deletes, res.Deletes)
	}
	if len(res.Finished) != 1 || res.Finished[0].Node != "small-0" || !res.Finished[0].Empty {
		t.Fatalf("finished = %+v", res.Finished)
	}
	if d := e.ops("DeleteNodes"); len(d) != 1 {
		t.Fatalf("DeleteNodes = %+v", d)
	}
	if e.evictions.Load() != 0 {
		t.Fatal("an empty node was drained")
	}
}

func TestClusterAutoscalerEvictionRefusedUntaintsAndReports(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop(),
		MaxPodEvictionTime: 150 * time.Millisecond, EvictionRetryTime: 20 * time.Millisecond},
		groups, caPod("a", "small-0", 300), caPod("b", "small-1", 300))
	e.refuse.Store(true)
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deletes) != 1 || !res.Deletes[0].Started {
		t.Fatalf("deletes = %+v", res.Deletes)
	}
	node := res.Actions.Deletes[0].Node
	var fin []autoscale.Removal
	eventually(t, "the failed removal in Finished", func() bool {
		r, err := e.ca.Recommend(e.ctx) // Recommend does not take Finished
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Finished) != 0 {
			t.Fatal("Recommend reported Finished")
		}
		r, err = e.ca.Scan(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		fin = append(fin, r.Finished...)
		return len(fin) > 0
	})
	if fin[0].Node != node || !strings.Contains(fin[0].Err, "not evicted") || !strings.Contains(fin[0].Err, "disruption budget") {
		t.Fatalf("finished = %+v", fin)
	}
	if n := e.evictions.Load(); n < 3 {
		t.Fatalf("%d eviction attempts, want retries every 20ms for 150ms", n)
	}
	if d := e.ops("DeleteNodes"); len(d) != 0 {
		t.Fatalf("a node whose pods could not move was deleted: %+v", d)
	}
	n, _ := e.kube.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
	if n.Spec.Unschedulable || len(n.Spec.Taints) != 0 || n.Annotations[autoscale.AnnotationCordoned] != "" {
		t.Fatalf("node kept tainted or cordoned: %+v %+v", n.Spec, n.Annotations)
	}
	if st := e.ca.State(); st.LastScaleDownFailure.IsZero() {
		t.Fatal("State.LastScaleDownFailure not set")
	}
	evs := drainEvents(e.rec)
	if !strings.Contains(evs, "Normal ScaleDown marked the node as toBeDeleted/unschedulable") || !strings.Contains(evs, "Warning ScaleDownFailed") {
		t.Fatalf("events:\n%s", evs)
	}
	if _, err := e.kube.CoreV1().Pods("shop").Get(e.ctx, "a", metav1.GetOptions{}); err != nil {
		t.Fatalf("pod a: %v", err)
	}
}

func TestClusterAutoscalerKeepsACordonItDidNotSet(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop(),
		MaxPodEvictionTime: 30 * time.Millisecond, EvictionRetryTime: 10 * time.Millisecond},
		groups, caPod("a", "small-0", 300), caPod("b", "small-1", 300))
	n, _ := e.kube.CoreV1().Nodes().Get(e.ctx, "small-1", metav1.GetOptions{})
	n.Spec.Unschedulable = true // cordoned by an operator
	if _, err := e.kube.CoreV1().Nodes().Update(e.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.refuse.Store(true)
	eventually(t, "a removal", func() bool {
		r, err := e.ca.Scan(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(r.Actions.Deletes) > 0
	})
	eventually(t, "the node untainted", func() bool {
		_, _ = e.ca.Scan(e.ctx)
		n, _ := e.kube.CoreV1().Nodes().Get(e.ctx, "small-1", metav1.GetOptions{})
		m, _ := e.kube.CoreV1().Nodes().Get(e.ctx, "small-0", metav1.GetOptions{})
		return len(n.Spec.Taints) == 0 && len(m.Spec.Taints) == 0 && len(e.ca.State().Unneeded) >= 0 && e.evictions.Load() > 0
	})
	n, _ = e.kube.CoreV1().Nodes().Get(e.ctx, "small-1", metav1.GetOptions{})
	if !n.Spec.Unschedulable {
		t.Fatal("the operator's cordon was removed")
	}
}

func TestClusterAutoscalerProviderErrorsEndTheScan(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 0, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{}, groups, caPod("p1", "", 1000))
	e.prov.FailNext("Refresh", errors.New("API down"))
	res, err := e.ca.Scan(e.ctx)
	if err == nil || !strings.Contains(err.Error(), "API down") || res.Err != err.Error() {
		t.Fatalf("scan = %+v, %v", res, err)
	}
	if len(e.ops("IncreaseSize")) != 0 || len(res.Actions.Increases) != 0 {
		t.Fatal("a failed scan acted")
	}
	// The next scan works.
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.ops("IncreaseSize")) != 1 {
		t.Fatal("no scale-up after the provider recovered")
	}
}

// lying wraps a provider's groups with bad answers.
type lying struct {
	*fake.Provider
	target   int
	min, max int
	dup      bool
}

type lyingGroup struct {
	nodegroup.NodeGroup
	l *lying
}

func (g lyingGroup) TargetSize(context.Context) (int, error) { return g.l.target, nil }
func (g lyingGroup) MinSize() int                            { return g.l.min }
func (g lyingGroup) MaxSize() int                            { return g.l.max }

func (l *lying) NodeGroups(ctx context.Context) ([]nodegroup.NodeGroup, error) {
	gs, err := l.Provider.NodeGroups(ctx)
	var out []nodegroup.NodeGroup
	for _, g := range gs {
		out = append(out, lyingGroup{g, l})
		if l.dup {
			out = append(out, lyingGroup{g, l})
		}
	}
	return out, err
}

func TestClusterAutoscalerDistrustsTheProvider(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    lying
		want string
	}{
		{"negative target", lying{target: -1, max: 5}, `"small": target size -1 is negative`},
		{"min over max", lying{target: 1, min: 4, max: 2}, `"small": min 4 and max 2`},
		{"duplicate", lying{target: 1, max: 5, dup: true}, `node group "small" twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			l.Provider = fake.New(time.Now(), fake.GroupConfig{ID: "small", Max: 5, Template: template("small", 2000)})
			kube := kubefake.NewClientset(caPod("p1", "", 1000))
			ca, err := autoscale.NewClusterAutoscaler(autoscale.ClusterAutoscalerConfig{Kube: kube, Provider: &l, Recorder: record.NewFakeRecorder(10)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := ca.StartInformers(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := ca.Scan(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) || res.Err == "" {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if len(l.Events()) != 1 { // Refresh only
				t.Fatalf("provider calls = %+v", l.Events())
			}
		})
	}
}

func TestClusterAutoscalerRecommendWritesNothing(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop()}, groups,
		caPod("a", "small-0", 300), caPod("b", "small-1", 300), caPod("p1", "", 1900))
	before, _ := json.Marshal(e.ca.State())
	writes := func() int {
		n := 0
		for _, a := range e.kube.Actions() {
			if v := a.GetVerb(); v != "list" && v != "watch" && v != "get" {
				n++
			}
		}
		return n
	}
	w0 := writes()
	for range 3 {
		res, err := e.ca.Recommend(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.DryRun || len(res.Actions.Increases) != 1 || len(res.Increases) != 0 {
			t.Fatalf("recommend = %+v", res)
		}
	}
	after, _ := json.Marshal(e.ca.State())
	if string(before) != string(after) {
		t.Fatalf("state changed: %s → %s", before, after)
	}
	for _, ev := range e.prov.Events() {
		if ev.Op != "Refresh" {
			t.Fatalf("provider written: %+v", ev)
		}
	}
	if w := writes(); w != w0 {
		t.Fatalf("%d API writes", w-w0)
	}
	// A DryRun controller's Scan is a Recommend.
	dry := newCAEnv(t, autoscale.ClusterAutoscalerConfig{DryRun: true},
		[]fake.GroupConfig{{ID: "small", Max: 10, Template: template("small", 2000)}}, caPod("p1", "", 1900))
	res, err := dry.ca.Scan(dry.ctx)
	if err != nil || !res.DryRun || len(res.Actions.Increases) != 1 || len(dry.ops("IncreaseSize")) != 0 {
		t.Fatalf("dry-run scan = %+v, %v", res, err)
	}
}

func TestClusterAutoscalerRunCleansStaleTaints(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: autoscaler.Config{ScanInterval: time.Hour, ScaleDownDisabled: true}}, groups)
	for i, cordonedByUs := range []bool{true, false} {
		n, _ := e.kube.CoreV1().Nodes().Get(e.ctx, fmt.Sprintf("small-%d", i), metav1.GetOptions{})
		n.Spec.Taints = []corev1.Taint{{Key: autoscaler.TaintToBeDeleted, Value: "1700000000", Effect: corev1.TaintEffectNoSchedule},
			{Key: "other", Effect: corev1.TaintEffectNoExecute}}
		n.Spec.Unschedulable = true
		if cordonedByUs {
			n.Annotations = map[string]string{autoscale.AnnotationCordoned: "true"}
		}
		if _, err := e.kube.CoreV1().Nodes().Update(e.ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.ca.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	eventually(t, "stale taints removed", func() bool {
		for i := range 2 {
			n, _ := e.kube.CoreV1().Nodes().Get(e.ctx, fmt.Sprintf("small-%d", i), metav1.GetOptions{})
			if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "other" {
				return false
			}
		}
		return true
	})
	n0, _ := e.kube.CoreV1().Nodes().Get(e.ctx, "small-0", metav1.GetOptions{})
	n1, _ := e.kube.CoreV1().Nodes().Get(e.ctx, "small-1", metav1.GetOptions{})
	if n0.Spec.Unschedulable || n0.Annotations[autoscale.AnnotationCordoned] != "" || !n1.Spec.Unschedulable {
		t.Fatalf("cordons after cleanup: ours %v, operator's %v", n0.Spec.Unschedulable, n1.Spec.Unschedulable)
	}
}

func TestNewClusterAutoscalerRefusesBadConfig(t *testing.T) {
	kube := kubefake.NewClientset()
	prov := fake.New(time.Now())
	for _, tc := range []struct {
		name string
		cfg  autoscale.ClusterAutoscalerConfig
		want []string
	}{
		{"nil clients", autoscale.ClusterAutoscalerConfig{}, []string{"kube is required", "provider is required"}},
		{"negative durations", autoscale.ClusterAutoscalerConfig{Kube: kube, Provider: prov, MaxPodEvictionTime: -1,
			EvictionRetryTime: -time.Second, MaxGracefulTerminationSec: -5, Resync: -1},
			[]string{"maxPodEvictionTime", "evictionRetryTime", "maxGracefulTerminationSec", "resync"}},
		{"bad loop", autoscale.ClusterAutoscalerConfig{Kube: kube, Provider: prov, Loop: autoscaler.Config{ScanInterval: -time.Second}},
			[]string{"loop:", "ScanInterval"}},
		{"bad schedule", autoscale.ClusterAutoscalerConfig{Kube: kube, Provider: prov, Schedules: []autoscale.ScheduledWorkload{
			{Name: "web", Kind: "CronJob"}, {Name: "", Schedule: &schedule.Schedule{}, Policy: "Sometimes", StartUp: -1}}},
			[]string{"schedules[0]: ", "kind \"CronJob\"", "schedule is required", "schedules[1]", "name is required", "policy", "startUp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := autoscale.NewClusterAutoscaler(tc.cfg)
			if !errors.Is(err, autoscale.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not name %q", err, w)
				}
			}
		})
	}
	_, err := autoscale.ScheduledFromCronTarget(autoscale.CronTarget{Name: "x", Namespace: "shop"}, time.Minute)
	if !errors.Is(err, autoscale.ErrInvalidConfig) {
		t.Fatalf("ScheduledFromCronTarget without a schedule: %v", err)
	}
}

func TestClusterAutoscalerScanBeforeSync(t *testing.T) {
	ca, err := autoscale.NewClusterAutoscaler(autoscale.ClusterAutoscalerConfig{Kube: kubefake.NewClientset(), Provider: fake.New(time.Now()),
		Recorder: record.NewFakeRecorder(1)})
	if err != nil {
		t.Fatal(err)
	}
	if ca.HasSynced() {
		t.Fatal("synced before start")
	}
	if _, err := ca.Scan(context.Background()); !errors.Is(err, autoscale.ErrNotSynced) {
		t.Fatalf("scan before sync: %v", err)
	}
}

// noonFloor is a UTC schedule holding at least floor replicas from 12:00
// to 13:00.
func noonFloor(t *testing.T, floor int32) *schedule.Schedule {
	t.Helper()
	sched, err := schedule.New(schedule.Spec{TimeZone: "UTC", Rules: []schedule.RuleSpec{{
		Name: "noon", Start: "0 12 * * *", End: "0 13 * * *", Bounds: schedule.Floor(floor)}}})
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

// smallPoolTemplate is a pod template for the small pool asking cpu.
func smallPoolTemplate(cpu string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{NodeSelector: map[string]string{"pool": "small"}, Containers: []corev1.Container{{Name: "app",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}}}
}

func TestClusterAutoscalerPreProvisionsForASchedule(t *testing.T) {
	sched := noonFloor(t, 20)
	two := int32(2)
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Template: smallPoolTemplate("1")}}
	web.Spec.Template.Labels = map[string]string{"app": "web"}
	w, err := autoscale.ScheduledFromCronTarget(autoscale.CronTarget{Name: "noon", Namespace: "shop", Schedule: sched,
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "web" || w.Kind != "Deployment" || w.Policy != schedule.PolicyClamp || w.StartUp != time.Minute {
		t.Fatalf("scheduled workload = %+v", w)
	}
	clk := testingclock.NewFakeClock(time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC))
	groups := []fake.GroupConfig{{ID: "small", Max: 30, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Clock: clk, Schedules: []autoscale.ScheduledWorkload{w}}, groups, web)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Increases) != 0 {
		t.Fatalf("raised 30 min ahead: %+v", res.Actions.Increases)
	}
	clk.SetTime(time.Date(2026, 3, 2, 11, 54, 0, 0, time.UTC)) // within the 5 min floor + start-up + scan
	res, err = e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	inc := res.Actions.Increases
	if len(inc) != 1 || inc[0].Reason != autoscaler.ReasonPreProvision || inc[0].Workload != "shop/web" || inc[0].Replicas != 20 ||
		!inc[0].At.Equal(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) || inc[0].Delta != 9 {
		t.Fatalf("increases = %+v, want 9 nodes for 18 one-CPU pods ahead of 12:00", inc)
	}
	if ev := e.ops("IncreaseSize"); len(ev) != 1 || ev[0].Delta != 9 {
		t.Fatalf("IncreaseSize = %+v", ev)
	}
	if st := e.ca.State(); len(st.Holds) != 1 {
		t.Fatalf("holds = %+v", st.Holds)
	}
}

func drainEvents(r *record.FakeRecorder) string {
	var b strings.Builder
	for {
		select {
		case ev := <-r.Events:
			b.WriteString(ev + "\n")
		default:
			return b.String()
		}
	}
}

func TestClusterAutoscalerDrainsAnEmptyNodeThatGotAPod(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop(), EvictionRetryTime: 10 * time.Millisecond},
		groups, caPod("b", "small-1", 1500))
	// The scheduler binds a pod to small-0 just before the taint lands.
	var once sync.Once
	e.kube.PrependReactor("update", "nodes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if n := a.(clienttesting.UpdateAction).GetObject().(*corev1.Node); n.Name == "small-0" {
			once.Do(func() {
				_ = e.kube.Tracker().Add(caPod("late", "small-0", 100))
			})
		}
		return false, nil, nil
	})
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Deletes) != 1 || !res.Actions.Deletes[0].Empty || !res.Deletes[0].Started {
		t.Fatalf("deletes = %+v / %+v: the node with a late pod must be drained", res.Actions.Deletes, res.Deletes)
	}
	eventually(t, "DeleteNodes after the drain", func() bool { return len(e.ops("DeleteNodes")) == 1 })
	if e.evictions.Load() != 1 {
		t.Fatalf("%d evictions, want the late pod's", e.evictions.Load())
	}
}

func TestClusterAutoscalerOutOfCapacityCancelsAndFallsBack(t *testing.T) {
	groups := []fake.GroupConfig{
		{ID: "a", Max: 10, Template: template("small", 2000), LaunchDelay: time.Hour},
		{ID: "b", Max: 10, Template: template("small", 4000), LaunchDelay: time.Hour},
	}
	// Least waste picks a (2 CPU for a 1.5-CPU pod); a is out of stock.
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{}, groups, caPod("p1", "", 1500))
	e.prov.SetOutOfCapacity("a", true)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Increases) != 1 || res.Actions.Increases[0].Group != "a" {
		t.Fatalf("first increase = %+v", res.Actions.Increases)
	}
	res, err = e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Cancels) != 1 || res.Actions.Cancels[0].Group != "a" || res.Actions.Cancels[0].Reason != autoscaler.ReasonOutOfCapacity ||
		len(res.Cancels) != 1 || res.Cancels[0].Err != "" {
		t.Fatalf("cancels = %+v / %+v", res.Actions.Cancels, res.Cancels)
	}
	if len(res.Actions.Increases) != 1 || res.Actions.Increases[0].Group != "b" {
		t.Fatalf("fallback increase = %+v", res.Actions.Increases)
	}
	if d := e.ops("DecreaseTargetSize"); len(d) != 1 || d[0].Group != "a" {
		t.Fatalf("DecreaseTargetSize = %+v", d)
	}
	if _, ok := res.Backoff.Groups["a"]; !ok {
		t.Fatalf("a not backed off: %+v", res.Backoff)
	}
}

func TestClusterAutoscalerSeesInformerEvents(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Max: 10, Size: 1, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: autoscaler.Config{ScaleDownDisabled: true}}, groups, caPod("a", "small-0", 1500))
	res, err := e.ca.Scan(e.ctx)
	if err != nil || len(res.Actions.Increases) != 0 {
		t.Fatalf("scan = %+v, %v", res.Actions, err)
	}
	// A pod the scheduler could not place appears, then a new node joins.
	if _, err := e.kube.CoreV1().Pods("shop").Create(e.ctx, caPod("p1", "", 1000), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the scale-up for the new pod", func() bool {
		res, err = e.ca.Scan(e.ctx)
		return err == nil && len(res.Actions.Increases) == 1
	})
	insts := func() []nodegroup.Instance {
		gs, _ := e.prov.NodeGroups(e.ctx)
		i, _ := gs[0].Nodes(e.ctx)
		return i
	}()
	if _, err := e.kube.CoreV1().Nodes().Create(e.ctx, caNode("small-new", insts[len(insts)-1].ProviderID, "small", 2000, 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new node registered", func() bool {
		res, err = e.ca.Scan(e.ctx)
		return err == nil && res.Nodes == 2 && res.Groups[0].Registered == 2 && res.Groups[0].Upcoming == 0
	})
	if st := e.ca.State(); len(st.Launches["small"]) != 0 || len(st.Latencies["small"]) != 1 {
		t.Fatalf("state after registration: %+v", st)
	}
}

func TestClusterAutoscalerConcurrentScans(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Max: 100, Size: 2, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{}, groups, caPod("a", "small-0", 300), caPod("b", "small-1", 300), caPod("p1", "", 1900))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = e.ca.Scan(e.ctx)
			} else {
				_, err = e.ca.Recommend(e.ctx)
				_ = e.ca.State()
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if inc := e.ops("IncreaseSize"); len(inc) != 1 {
		t.Fatalf("IncreaseSize = %+v, want one (the next scans see the launch)", inc)
	}
}

func TestClusterAutoscalerKeepsANodeWithAPodItCannotRead(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 2, Template: template("small", 2000)}}
	bad := caPod("bad", "small-0", 100)
	// An anti-affinity term without a topology key: the API server would
	// refuse it; the simulator cannot place it.
	bad.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop()}, groups, bad, caPod("b", "small-1", 1500))
	for range 3 {
		res, err := e.ca.Scan(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Actions.Deletes {
			if d.Node == "small-0" {
				t.Fatalf("a node whose pod could not be read was removed: %+v", d)
			}
		}
		time.Sleep(time.Millisecond)
	}
	res, err := e.ca.Recommend(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, u := range res.Actions.Unremovable {
		kept = kept || u.Node == "small-0"
	}
	if !kept {
		t.Fatalf("small-0 not reported unremovable: %+v", res.Actions.Unremovable)
	}
}

func TestClusterAutoscalerDrainsInProgressCountAgainstTheBudget(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Min: 0, Max: 10, Size: 4, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: fastLoop(),
		MaxPodEvictionTime: 3 * time.Second, EvictionRetryTime: 20 * time.Millisecond},
		groups, caPod("a", "small-0", 200), caPod("b", "small-1", 200), caPod("c", "small-2", 200), caPod("d", "small-3", 200))
	e.refuse.Store(true) // the first drain stays in progress
	var started, deferred int
	for range 6 {
		res, err := e.ca.Scan(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Deletes {
			switch {
			case o.Started:
				started++
			case strings.Contains(o.Err, "not started"):
				deferred++
			}
		}
		if len(res.Draining) > 1 {
			t.Fatalf("%d drains in progress, max-drain-parallelism is 1: %v", len(res.Draining), res.Draining)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if started != 1 || deferred == 0 {
		t.Fatalf("started %d, deferred %d: want one drain and the rest deferred", started, deferred)
	}
}

func TestClusterAutoscalerPreProvisionsAStatefulSet(t *testing.T) {
	sched := noonFloor(t, 4)
	one := int32(1)
	db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
		Spec: appsv1.StatefulSetSpec{Replicas: &one, Template: smallPoolTemplate("1500m")}}
	clk := testingclock.NewFakeClock(time.Date(2026, 3, 2, 11, 55, 0, 0, time.UTC))
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Clock: clk, Schedules: []autoscale.ScheduledWorkload{
		{Namespace: "shop", Name: "db", Kind: "StatefulSet", Schedule: sched}}},
		[]fake.GroupConfig{{ID: "small", Max: 10, Template: template("small", 2000)}}, db)
	res, err := e.ca.Recommend(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inc := res.Actions.Increases; len(inc) != 1 || inc[0].Workload != "shop/db" || inc[0].Replicas != 4 || inc[0].Delta != 3 {
		t.Fatalf("increases = %+v, want 3 nodes for the 3 pods the rise adds", inc)
	}
}

// A node that registered but is not ready yet (here: still carrying the
// not-ready taint the node-lifecycle controller lifts) and is younger than
// cluster-autoscaler's 15 min MaxNodeStartupTime is starting: it stays one
// of its group's upcoming nodes, so the pod waiting for it raises nothing.
// The same node 20 minutes old counts as registered and unready: the pod
// does not fit it and the group is raised.
func TestClusterAutoscalerStartingNodeStaysUpcoming(t *testing.T) {
	for _, tc := range []struct {
		age      time.Duration
		increase bool
	}{{time.Minute, false}, {20 * time.Minute, true}} {
		t.Run(tc.age.String(), func(t *testing.T) {
			groups := []fake.GroupConfig{{ID: "small", Max: 10, Template: template("small", 2000)}}
			e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{}, groups, caPod("p1", "", 1000))
			g, _ := e.prov.NodeGroups(e.ctx)
			if err := g[0].IncreaseSize(e.ctx, 1); err != nil {
				t.Fatal(err)
			}
			insts, _ := g[0].Nodes(e.ctx)
			n := caNode("small-new", insts[0].ProviderID, "small", 2000, tc.age)
			n.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}}
			n.Status.Conditions[0].Status = corev1.ConditionFalse
			if _, err := e.kube.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the node in the informer", func() bool {
				r, err := e.ca.Recommend(e.ctx)
				return err == nil && r.Nodes == 1
			})
			res, err := e.ca.Scan(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			inc := len(e.ops("IncreaseSize")) - 1 // the test's own
			if got := inc > 0; got != tc.increase {
				t.Fatalf("node %s old: %d IncreaseSize calls by the controller, want increase=%v (groups %+v, scale-up %q)",
					tc.age, inc, tc.increase, res.Groups, res.Actions.ScaleUp)
			}
			if !tc.increase && (res.Groups[0].Upcoming != 1 || res.Groups[0].Registered != 0) {
				t.Fatalf("starting node: groups %+v, want it upcoming, not registered", res.Groups)
			}
		})
	}
}

// A starting node stops counting as starting 15 min after its creation,
// with no event to mark it: the scan at that time sees it registered and
// unready (the pending pod does not fit it) and raises the group.
func TestClusterAutoscalerStartingNodeAgesOut(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	groups := []fake.GroupConfig{{ID: "small", Max: 10, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Clock: clk}, groups, caPod("p1", "", 1000))
	g, _ := e.prov.NodeGroups(e.ctx)
	if err := g[0].IncreaseSize(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
	insts, _ := g[0].Nodes(e.ctx)
	n := caNode("small-new", insts[0].ProviderID, "small", 2000, 14*time.Minute)
	n.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}}
	n.Status.Conditions[0].Status = corev1.ConditionFalse
	if _, err := e.kube.CoreV1().Nodes().Create(e.ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node in the informer", func() bool {
		r, err := e.ca.Recommend(e.ctx)
		return err == nil && r.Nodes == 1
	})
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Groups[0].Registered != 0 || len(e.ops("IncreaseSize")) != 1 {
		t.Fatalf("14 min old: groups %+v, IncreaseSize %+v; want the node starting and no increase", res.Groups, e.ops("IncreaseSize"))
	}
	clk.Step(2 * time.Minute)
	if res, err = e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	if res.Groups[0].Registered != 1 || len(e.ops("IncreaseSize")) != 2 {
		t.Fatalf("16 min old: groups %+v, IncreaseSize %+v; want the node registered and the group raised", res.Groups, e.ops("IncreaseSize"))
	}
}

// A launch the cloud fulfilled whose node never registers cannot be
// cancelled by DecreaseTargetSize (the instance runs): after
// max-node-provision-time the controller deletes the instance by its
// provider ID, as cluster-autoscaler deletes unregistered nodes, and backs
// the group off.
func TestClusterAutoscalerDeletesInstancesThatNeverRegistered(t *testing.T) {
	groups := []fake.GroupConfig{{ID: "small", Max: 10, Template: template("small", 2000)}}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: autoscaler.Config{MaxNodeProvisionTime: 50 * time.Millisecond}},
		groups, caPod("p1", "", 1000))
	if _, err := e.ca.Scan(e.ctx); err != nil {
		t.Fatal(err)
	}
	g, _ := e.prov.NodeGroups(e.ctx)
	insts, _ := g[0].Nodes(e.ctx)
	if len(insts) != 1 || insts[0].State != nodegroup.InstanceRunning {
		t.Fatalf("instances after the scale-up: %+v", insts)
	}
	time.Sleep(100 * time.Millisecond)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions.Cancels) != 1 || res.Actions.Cancels[0].Reason != autoscaler.ReasonMaxNodeProvisionTime || res.Cancels[0].Err != "" {
		t.Fatalf("cancels %+v / %+v", res.Actions.Cancels, res.Cancels)
	}
	del := e.ops("DeleteNodes")
	if len(del) != 1 || len(del[0].IDs) != 1 || del[0].IDs[0] != insts[0].ProviderID {
		t.Fatalf("DeleteNodes calls %+v, want the unregistered %s", del, insts[0].ProviderID)
	}
	if target, _ := g[0].TargetSize(e.ctx); target != 0 {
		t.Fatalf("target %d after the cancel, want 0", target)
	}
	if _, ok := res.Backoff.Groups["small"]; !ok {
		t.Fatalf("group not backed off: %+v", res.Backoff)
	}
}

// In Karpenter's mode one scan raises every group the pending pods need:
// pods for pool small and pool big are both given nodes at once.
func TestClusterAutoscalerProvisionModeRaisesEveryGroupAtOnce(t *testing.T) {
	groups := []fake.GroupConfig{
		{ID: "big", Max: 10, Template: template("big", 8000)},
		{ID: "small", Max: 10, Template: template("small", 2000)},
	}
	bigPod := caPod("b1", "", 6000)
	bigPod.Spec.NodeSelector = map[string]string{"pool": "big"}
	e := newCAEnv(t, autoscale.ClusterAutoscalerConfig{Loop: autoscaler.Config{ScaleUpMode: autoscaler.ScaleUpProvision}}, groups,
		caPod("s1", "", 1500), bigPod)
	res, err := e.ca.Scan(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ev := range e.ops("IncreaseSize") {
		got[ev.Group] += ev.Delta
	}
	if len(got) != 2 || got["big"] != 1 || got["small"] != 1 {
		t.Fatalf("IncreaseSize calls %v (scale-up %q), want big +1 and small +1 in one scan", got, res.Actions.ScaleUp)
	}
}
