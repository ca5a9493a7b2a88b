package nodes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/internal/nodebridge"
	"github.com/kscale/kscale/internal/testcluster"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// The fault, restart, pre-provisioning and replay tests share the helpers
// below (prefixed fault…): one Auto Scaling emulator per test, the asg
// provider on it through the real SDK, a nodebridge playing the instances
// as kwok Nodes, and a ClusterAutoscaler whose every Step is recorded.

// faultPoolLabel ties a test's pods to its own groups' nodes (a
// node-template label tag), so nothing else in the shared control plane
// can take them.
const faultPoolLabel = "e2e.kscale.dev/pool"

// faultZone is the emulator's one zone.
const faultZone = "us-test-1a"

// faultGroup is an Auto Scaling group of a test.
type faultGroup struct {
	Name, InstanceType string
	Max, Desired       int
}

// faultCloud is one test's cloud and cluster.
type faultCloud struct {
	c    *testcluster.Cluster
	kube kubernetes.Interface
	ns   string
	pool string          // faultPoolLabel's value on this test's nodes
	srv  *asgtest.Server // nil on ESS
	p    *asg.Provider
	ess  *esstest.Server // nil on Auto Scaling
	prov nodegroup.Provider
	b    *nodebridge.Bridge
	as   *autoscaling.Client // behind the controller's back
}

// newFaultCloud starts an emulator with groups (min 0), the asg provider on
// it and a bridge whose node names start with prefix; everything is
// removed when the test ends, the namespace waited for.
func newFaultCloud(t *testing.T, prefix string, launchDelay time.Duration, groups ...faultGroup) *faultCloud {
	t.Helper()
	ctx := t.Context()
	c := testcluster.Shared(t)
	fc := &faultCloud{c: c, kube: c.AdminClient(), pool: strings.TrimSuffix(prefix, "-")}
	faultRequireClean(t, fc.kube)
	t.Cleanup(func() { faultWaitNamespaceGone(t, fc.kube, fc.ns) }) // runs last
	fc.ns = c.Namespace(t)
	fc.srv = asgtest.NewServer(asgtest.Config{LaunchDelay: launchDelay, TerminateDelay: time.Second})
	t.Cleanup(fc.srv.Close)
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		fc.srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: g.Name + "-lt", InstanceType: g.InstanceType})
		if err := fc.srv.AddGroup(asgtest.Group{Name: g.Name, Min: 0, Max: g.Max, Desired: g.Desired, Zones: []string{faultZone},
			LaunchTemplate: &asgtest.LaunchTemplateRef{Name: g.Name + "-lt"},
			Tags:           map[string]string{asg.TagLabelPrefix + faultPoolLabel: fc.pool}}); err != nil {
			t.Fatal(err)
		}
		names = append(names, g.Name)
	}
	cfg := fc.srv.AWSConfig()
	fc.as = autoscaling.NewFromConfig(cfg)
	p, err := asg.New(ctx, asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg),
		GroupNames: names, RefreshInterval: 500 * time.Millisecond, Now: fc.srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	fc.p, fc.prov = p, p
	fc.b = nodebridge.Start(ctx, t, nodebridge.Options{Cluster: c, Source: nodebridge.FromASG(fc.srv, p), Prefix: prefix})
	return fc
}

// newFaultESSCloud is newFaultCloud on an ESS emulator (region cn-test)
// with an ess.Provider in ScaleWithAdjustment mode; a group's Name is its
// ID, Desired its initial size.
func newFaultESSCloud(t *testing.T, prefix string, launchDelay time.Duration, groups ...faultGroup) *faultCloud {
	t.Helper()
	ctx := t.Context()
	c := testcluster.Shared(t)
	fc := &faultCloud{c: c, kube: c.AdminClient(), pool: strings.TrimSuffix(prefix, "-")}
	faultRequireClean(t, fc.kube)
	t.Cleanup(func() { faultWaitNamespaceGone(t, fc.kube, fc.ns) }) // runs last
	fc.ns = c.Namespace(t)
	fc.ess = esstest.NewServer(esstest.Config{Region: "cn-test", LaunchDelay: launchDelay, RemoveDelay: time.Second})
	t.Cleanup(fc.ess.Close)
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, fc.ess.AddGroup(esstest.Group{ID: g.Name, MinSize: 0, MaxSize: g.Max, Size: g.Desired,
			Tags:          map[string]string{nodegroup.TagLabelPrefix + faultPoolLabel: fc.pool},
			Configuration: esstest.Configuration{InstanceTypes: []string{g.InstanceType}}}))
	}
	p, err := ess.New(ctx, ess.Config{Region: fc.ess.Region(), AccessKeyID: "id", AccessKeySecret: "secret",
		ESSEndpoint: fc.ess.URL, ECSEndpoint: fc.ess.URL, GroupIDs: ids, ScaleMode: ess.ScaleWithAdjustment,
		RefreshInterval: 500 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fc.prov = p
	fc.b = nodebridge.Start(ctx, t, nodebridge.Options{Cluster: c, Source: nodebridge.FromESS(fc.ess, p), Prefix: prefix})
	return fc
}

// faultRequireClean waits up to a minute until the cluster has no bridge
// Nodes and no pods outside kube-system (an earlier test's pending pod would
// make this test's controller scale up), and fails the test otherwise.
func faultRequireClean(t *testing.T, kube kubernetes.Interface) {
	t.Helper()
	faultWait(t, time.Minute, "a clean cluster", func() (bool, string) {
		var left []string
		nodes, err := kube.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, n := range nodes.Items {
			if _, ok := n.Annotations[nodebridge.OwnerAnnotation]; ok {
				left = append(left, "node/"+n.Name)
			}
		}
		pods, err := kube.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range pods.Items {
			if p.Namespace != metav1.NamespaceSystem {
				left = append(left, "pod/"+p.Namespace+"/"+p.Name)
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
}

// faultWaitNamespaceGone waits for a deleted namespace to be gone.
func faultWaitNamespaceGone(t *testing.T, kube kubernetes.Interface, ns string) {
	if ns == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("namespace %s still there 90s after the test", ns)
}

// deployment creates a Deployment of n pods requesting milli CPU and 128Mi,
// selecting this test's nodes; its pods are deleted (while the nodes are
// still there) when the test ends.
func (fc *faultCloud) deployment(t *testing.T, name string, n int32, milli int64) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fc.ns},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{NodeSelector: map[string]string{faultPoolLabel: fc.pool},
					TerminationGracePeriodSeconds: new(int64),
					Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(milli, resource.DecimalSI),
							corev1.ResourceMemory: resource.MustParse("128Mi")}}}}}}}}
	if _, err := fc.kube.AppsV1().Deployments(fc.ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = fc.kube.AppsV1().Deployments(fc.ns).Delete(ctx, name, metav1.DeleteOptions{})
		_ = fc.kube.CoreV1().Pods(fc.ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)},
			metav1.ListOptions{LabelSelector: "app=" + name})
		faultWait(t, time.Minute, "pods of "+name+" gone", func() (bool, string) {
			pods, err := fc.kube.CoreV1().Pods(fc.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
			if err != nil {
				return false, err.Error()
			}
			return len(pods.Items) == 0, fmt.Sprintf("%d pods left", len(pods.Items))
		})
	})
}

// scale sets a Deployment's replicas.
func (fc *faultCloud) scale(t *testing.T, name string, n int32) {
	t.Helper()
	s, err := fc.kube.AppsV1().Deployments(fc.ns).GetScale(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := fc.kube.AppsV1().Deployments(fc.ns).UpdateScale(t.Context(), name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// podsOf lists app's pods.
func (fc *faultCloud) podsOf(ctx context.Context, app string) ([]corev1.Pod, error) {
	l, err := fc.kube.CoreV1().Pods(fc.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// waitRunning waits until app has exactly n pods, all Running and bound,
// and returns them.
func (fc *faultCloud) waitRunning(t *testing.T, app string, n int, timeout time.Duration) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	faultWait(t, timeout, fmt.Sprintf("%d pods of %s Running", n, app), func() (bool, string) {
		var err error
		pods, err = fc.podsOf(t.Context(), app)
		if err != nil {
			return false, err.Error()
		}
		running, pending := 0, 0
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
				running++
			} else {
				pending++
			}
		}
		return running == n && pending == 0 && len(pods) == n,
			fmt.Sprintf("%d pods: %d running, %d not; cloud %s", len(pods), running, pending, fc.describe())
	})
	return pods
}

// waitUnschedulable waits until app has n pods, all marked unschedulable by
// the scheduler, so a controller started next sees them all at once.
func (fc *faultCloud) waitUnschedulable(t *testing.T, app string, n int) {
	t.Helper()
	faultWait(t, 30*time.Second, fmt.Sprintf("%d pods of %s unschedulable", n, app), func() (bool, string) {
		pods, err := fc.podsOf(t.Context(), app)
		if err != nil {
			return false, err.Error()
		}
		u := 0
		for _, p := range pods {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					u++
				}
			}
		}
		return u == n && len(pods) == n, fmt.Sprintf("%d pods, %d unschedulable", len(pods), u)
	})
}

// group is the emulator's view of a group.
func (fc *faultCloud) group(t *testing.T, name string) asgtest.GroupState {
	t.Helper()
	g, ok := fc.srv.Group(name)
	if !ok {
		t.Fatalf("no group %s in the emulator", name)
	}
	return g
}

// describe summarises every group of the emulator and the bridge's nodes.
func (fc *faultCloud) describe() string {
	var b strings.Builder
	gs, _ := fc.prov.NodeGroups(context.Background())
	for _, ng := range gs {
		if fc.ess != nil {
			fmt.Fprintf(&b, "%s desired %d instances %d; ", ng.Id(), fc.ess.Desired(ng.Id()), len(fc.ess.Instances(ng.Id())))
			continue
		}
		g, _ := fc.srv.Group(ng.Id())
		fmt.Fprintf(&b, "%s desired %d instances %d launches %d; ", g.Name, g.Desired, len(faultLive(g)), faultLaunches(g))
	}
	fmt.Fprintf(&b, "nodes %v", fc.b.Nodes())
	return b.String()
}

// live are a group's instances not terminating.
func faultLive(g asgtest.GroupState) []asgtest.Instance {
	var out []asgtest.Instance
	for _, in := range g.Instances {
		if in.LifecycleState != "Terminating" {
			out = append(out, in)
		}
	}
	return out
}

// launches counts a group's successful launch activities.
func faultLaunches(g asgtest.GroupState) int {
	n := 0
	for _, a := range g.Activities {
		if strings.HasPrefix(a.Description, "Launching a new EC2 instance: ") {
			n++
		}
	}
	return n
}

// nodeName is the bridge's Node of an instance.
func (fc *faultCloud) nodeName(prefix, instanceID string) string {
	return prefix + strings.ToLower(instanceID)
}

// nodesOf are the registered Nodes of a group (by the provider's mapping).
func (fc *faultCloud) nodesOf(ctx context.Context, group string) ([]corev1.Node, error) {
	l, err := fc.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: faultPoolLabel + "=" + fc.pool})
	if err != nil {
		return nil, err
	}
	var out []corev1.Node
	for _, n := range l.Items {
		ng, err := fc.prov.NodeGroupForNode(ctx, n.Spec.ProviderID)
		if err == nil && ng != nil && ng.Id() == group {
			out = append(out, n)
		}
	}
	return out, nil
}

// perNode is how many pods of milli CPU and 128Mi a node of group fits by
// its template's allocatable.
func (fc *faultCloud) perNode(t *testing.T, group string, milli int64) int {
	t.Helper()
	gs, err := fc.prov.NodeGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(gs, func(g nodegroup.NodeGroup) bool { return g.Id() == group })
	if i < 0 {
		t.Fatalf("the provider has no group %s", group)
	}
	tpl, err := gs[i].Template(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := int(tpl.Allocatable.MilliCPU / milli)
	n = min(n, int(tpl.Allocatable.Memory/(128<<20)), int(tpl.Allocatable.Pods))
	if n < 1 {
		t.Fatalf("a %s node fits no pod", group)
	}
	return n
}

// faultWait polls cond every 250ms until it holds, failing the test with
// cond's last description after timeout.
func faultWait(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	last := ""
	for {
		ok, desc := cond()
		if ok {
			return time.Since(start)
		}
		last = desc
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// faultStep is one recorded Step of a controller.
type faultStep struct {
	Now time.Time
	// Obs and Act are the Step's observation and actions as JSON, copied
	// when Trace was called (the controller reuses the observation).
	Obs, Act []byte
	act      autoscaler.Actions
}

// faultTrace records a controller's Steps through ClusterAutoscalerConfig.Trace.
type faultTrace struct {
	mu    sync.Mutex
	steps []faultStep
	err   error
}

func (r *faultTrace) record(now time.Time, obs *autoscaler.Observation, act autoscaler.Actions) {
	o, err := json.Marshal(obs)
	a, err2 := json.Marshal(act)
	var cp autoscaler.Actions
	err3 := json.Unmarshal(a, &cp)
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := faultFirstErr(err, err2, err3); e != nil && r.err == nil {
		r.err = e
	}
	r.steps = append(r.steps, faultStep{Now: now, Obs: o, Act: a, act: cp})
}

func faultFirstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Steps is a copy of the steps so far.
func (r *faultTrace) Steps() []faultStep {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

// changes lists the increases (or cancels) of group in the steps so far.
func (r *faultTrace) changes(group string, cancels bool) []autoscaler.Change {
	var out []autoscaler.Change
	for _, s := range r.Steps() {
		cs := s.act.Increases
		if cancels {
			cs = s.act.Cancels
		}
		for _, c := range cs {
			if c.Group == group {
				out = append(out, c)
			}
		}
	}
	return out
}

// deletes counts the Delete actions per node in the steps so far.
func (r *faultTrace) deletes() map[string]int {
	out := map[string]int{}
	for _, s := range r.Steps() {
		for _, d := range s.act.Deletes {
			out[d.Node]++
		}
	}
	return out
}

// dump logs every recorded step in short: per group its target, nodes and
// instances; the pending pods; the actions.
func (r *faultTrace) dump(t testing.TB) {
	t.Helper()
	for i, s := range r.Steps() {
		var o autoscaler.Observation
		if err := json.Unmarshal(s.Obs, &o); err != nil {
			t.Logf("step %d: %v", i, err)
			continue
		}
		var b strings.Builder
		for _, g := range o.Groups {
			fmt.Fprintf(&b, "[%s target %d instances %d] ", g.ID, g.Target, len(g.Instances))
		}
		for _, n := range o.Nodes {
			fmt.Fprintf(&b, "{%s %s taints %v unsched %v} ", n.Name, n.Group, n.Taints, n.Unschedulable)
		}
		pending := 0
		for _, p := range o.Pods {
			if p.NodeName == "" {
				pending++
			}
		}
		t.Logf("step %d at %s: %s pods %d pending %d; actions %s", i, s.Now.Format("15:04:05.000"), b.String(), len(o.Pods), pending, s.Act)
	}
}

// waitStatusBackoff waits until the controller's status ConfigMap
// (kube-system/cluster-autoscaler-status, cluster-autoscaler's shape)
// shows group's scale-up in Backoff with this error code.
func (fc *faultCloud) waitStatusBackoff(t *testing.T, group, code string) {
	t.Helper()
	faultWait(t, 15*time.Second, "the status ConfigMap showing "+group+" backed off", func() (bool, string) {
		cm, err := fc.kube.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(t.Context(), autoscale.DefaultStatusConfigMap, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		var st struct {
			NodeGroups []struct {
				Name    string `json:"name"`
				ScaleUp struct {
					Status      string `json:"status"`
					BackoffInfo struct {
						ErrorCode string `json:"errorCode"`
					} `json:"backoffInfo"`
				} `json:"scaleUp"`
			} `json:"nodeGroups"`
		}
		if err := yaml.Unmarshal([]byte(cm.Data["status"]), &st); err != nil {
			return false, err.Error()
		}
		for _, g := range st.NodeGroups {
			if g.Name == group {
				return g.ScaleUp.Status == "Backoff" && g.ScaleUp.BackoffInfo.ErrorCode == code,
					fmt.Sprintf("scaleUp %+v", g.ScaleUp)
			}
		}
		return false, "no group " + group + " in " + cm.Data["status"]
	})
}

// faultCA is a running ClusterAutoscaler with its recorded trace.
type faultCA struct {
	ca    *autoscale.ClusterAutoscaler
	trace *faultTrace
	loop  autoscaler.Config
	stop  func()
}

// faultLoop is the loop configuration of these tests: one scan a second,
// scale-down quick enough to see within a test (3 s unneeded, 2 s after a
// failed removal), and no expiry of a launch within a test unless
// maxProvision is set. Scale-down waits 15 s after a scale-up (a short
// scale-down-delay-after-add). New nodes register empty and kube-scheduler
// binds the pods it had found unschedulable only after its backoff (up to
// 10 s); the loop counts those pending pods on the nodes they fit, as
// cluster-autoscaler's filter-out-schedulable does, so the nodes are not
// removed meanwhile (TestRestartMidScaleUpDoesNotLaunchTwice runs with no
// delay in force).
func faultLoop(maxProvision time.Duration) autoscaler.Config {
	return autoscaler.Config{ScanInterval: time.Second, ScaleDownUnneededTime: 3 * time.Second,
		ScaleDownDelayAfterAdd: 15 * time.Second, ScaleDownDelayAfterDelete: time.Millisecond,
		ScaleDownDelayAfterFailure: 2 * time.Second, MaxNodeProvisionTime: maxProvision}
}

// startCA runs a ClusterAutoscaler on fc's cluster and provider with cfg
// (Kube, Provider and Trace filled in) until stop or the end of the test,
// and waits for its informers.
func (fc *faultCloud) startCA(t *testing.T, cfg autoscale.ClusterAutoscalerConfig) *faultCA {
	t.Helper()
	tr := &faultTrace{}
	cfg.Kube, cfg.Provider, cfg.Trace = fc.kube, fc.prov, tr.record
	cfg.EvictionRetryTime = time.Second
	ca, err := autoscale.NewClusterAutoscaler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- ca.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("ClusterAutoscaler.Run: %v", err)
			}
			tr.mu.Lock()
			defer tr.mu.Unlock()
			if tr.err != nil {
				t.Errorf("trace: %v", tr.err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			tr.dump(t)
		}
	})
	faultWait(t, 30*time.Second, "informers synced", func() (bool, string) { return ca.HasSynced(), "" })
	return &faultCA{ca: ca, trace: tr, loop: cfg.Loop, stop: stop}
}

// backoffs samples the controller's State every 100ms until the test ends;
// the returned func reads the backoff reasons seen for a group.
func (r *faultCA) backoffs(t *testing.T) func(group string) []string {
	var mu sync.Mutex
	seen := map[string][]string{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			st := r.ca.State()
			mu.Lock()
			for g, e := range st.Backoff.Groups {
				if !slices.Contains(seen[g], e.Reason) {
					seen[g] = append(seen[g], e.Reason)
				}
			}
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func(group string) []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen[group])
	}
}

// maxDesired samples a group's desired capacity every 100ms until the test
// ends; the returned func reads the largest seen.
func (fc *faultCloud) maxDesired(t *testing.T, group string) func() int {
	var mu sync.Mutex
	top := fc.group(t, group).Desired
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if g, ok := fc.srv.Group(group); ok {
				mu.Lock()
				top = max(top, g.Desired)
				mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() int {
		g, _ := fc.srv.Group(group)
		mu.Lock()
		defer mu.Unlock()
		return max(top, g.Desired)
	}
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
	const milli = 900
	fc := newFaultCloud(t, "flt-5xx-", 2*time.Second, faultGroup{Name: "workers", InstanceType: "m5.large", Max: 10})
	per := fc.perNode(t, "workers", milli)
	const pods = 6
	want := (pods + per - 1) / per
	// Faults are taken in the order injected, and the SDK's retryer makes
	// five attempts. The controller's first refresh is throttled twice,
	// then answered 500 until the retryer gives up (a failed scan); the
	// next refresh succeeds on its third attempt.
	fc.srv.Inject(asgtest.FaultThrottle, "DescribeAutoScalingGroups", 2)
	fc.srv.Inject(asgtest.FaultServerError, "DescribeAutoScalingGroups", 5)
	// The first scale-up is throttled twice, then applied with its answer
	// lost, three times: IncreaseSize fails although the cloud took it.
	fc.srv.Inject(asgtest.FaultThrottle, "SetDesiredCapacity", 2)
	fc.srv.Inject(asgtest.FaultLostResponse, "SetDesiredCapacity", 3)
	top := fc.maxDesired(t, "workers")
	fc.deployment(t, "web", pods, milli)
	fc.waitUnschedulable(t, "web", pods)
	run := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: faultLoop(0)})
	backoffs := run.backoffs(t)
	fc.waitRunning(t, "web", pods, 90*time.Second)
	calls := fc.srv.Calls()
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
	g := fc.group(t, "workers")
	if g.Desired != want || len(faultLive(g)) != want || faultLaunches(g) != want || top() != want {
		t.Fatalf("after the faulted scale-up: desired %d (at most %d), %d instances, %d launches; want exactly %d of each",
			g.Desired, top(), len(faultLive(g)), faultLaunches(g), want)
	}
	if inc := run.trace.changes("workers", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases %+v, want one of %d", inc, want)
	}

	// No lost deletion: every attempt of the first termination answers 500.
	before := fc.srv.Calls()["TerminateInstanceInAutoScalingGroup"]
	fc.srv.Inject(asgtest.FaultServerError, "TerminateInstanceInAutoScalingGroup", 5)
	const left = 2
	fc.scale(t, "web", left)
	need := (left + per - 1) / per
	faultWait(t, 2*time.Minute, "the group down to the nodes the pods need", func() (bool, string) {
		g, _ := fc.srv.Group("workers")
		nodes, err := fc.nodesOf(t.Context(), "workers")
		return err == nil && g.Desired == need && len(faultLive(g)) == need && len(nodes) == need, fc.describe()
	})
	fc.waitRunning(t, "web", left, 30*time.Second)
	if n := fc.srv.Calls()["TerminateInstanceInAutoScalingGroup"] - before; n < 5+want-need {
		t.Fatalf("%d TerminateInstanceInAutoScalingGroup calls, want the 5 faulted and %d more", n, want-need)
	}
	// The node whose termination failed was decided again and is gone.
	retried := 0
	for node, n := range run.trace.deletes() {
		if n < 2 {
			continue
		}
		retried++
		if _, err := fc.kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("node %s, removed twice, is still there (%v)", node, err)
		}
	}
	if retried == 0 {
		t.Errorf("no removal was decided again after its termination failed: deletes %v", run.trace.deletes())
	}
	if g := fc.group(t, "workers"); faultLaunches(g) != want {
		t.Errorf("%d launches after the scale-down, want still %d", faultLaunches(g), want)
	}
}

// The same on Alibaba Cloud ESS: describe calls throttled and answered 503
// (retried), and a scale-up whose ScaleWithAdjustment is applied with its
// answer lost (500) twice before the third attempt is answered: the
// provider retries with the same ClientToken, so the group's desired
// capacity goes to exactly the needed count, with one scaling activity and
// one instance per node.
func TestFaultsESSThrottlingAndLostResponses(t *testing.T) {
	const milli = 900
	fc := newFaultESSCloud(t, "flt-ess-", 2*time.Second, faultGroup{Name: "asg-workers", InstanceType: "ecs.g7.large", Max: 10})
	per := fc.perNode(t, "asg-workers", milli)
	const pods = 6
	want := (pods + per - 1) / per
	fc.ess.Throttle("ess:DescribeScalingGroups", 2)
	fc.ess.FailServer("ess:DescribeScalingInstances", 2)
	fc.ess.InjectFault(esstest.Fault{Action: "ess:ScaleWithAdjustment", Code: esstest.CodeInternalError, Times: 2, AfterApply: true})
	fc.deployment(t, "web", pods, milli)
	fc.waitUnschedulable(t, "web", pods)
	run := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: faultLoop(0)})
	fc.waitRunning(t, "web", pods, 90*time.Second)
	time.Sleep(3 * time.Second) // a few more scans with every pod running
	calls := fc.ess.Calls()
	if calls["ess:ScaleWithAdjustment"] < 3 || calls["ess:DescribeScalingGroups"] < 3 {
		t.Fatalf("the faults were not all met: calls %v", calls)
	}
	adds := 0
	for _, a := range fc.ess.Activities("asg-workers") {
		if strings.HasPrefix(a.Description, "Add ") {
			adds++
		}
	}
	if d, n := fc.ess.Desired("asg-workers"), len(fc.ess.Instances("asg-workers")); d != want || n != want || adds != 1 {
		t.Errorf("desired %d, %d instances, %d scaling activities; want %d, %d and 1", d, n, adds, want, want)
	}
	if inc := run.trace.changes("asg-workers", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases %+v, want one of %d", inc, want)
	}
	if r := run.ca.State().Backoff.Groups; len(r) != 0 {
		t.Errorf("backoffs %v after a scale-up that succeeded on a retry", r)
	}
}

// A stock-out of the first-choice group's instance type: its launch fails
// (InsufficientInstanceCapacity), the controller cancels it and backs the
// group off (in its State and its status ConfigMap, reason OutOfCapacity),
// and the other group launches the nodes instead; every pod runs on the
// other group's nodes. The run is replayed through a fresh loop.
func TestFaultsStockOutFallsBack(t *testing.T) {
	const milli = 900
	fc := newFaultCloud(t, "flt-so-", 2*time.Second,
		faultGroup{Name: "first", InstanceType: "c5.large", Max: 10},
		faultGroup{Name: "second", InstanceType: "m5.large", Max: 10})
	fc.srv.StockOut("c5.large", faultZone, true)
	prio, err := simulate.NewPriority(map[int][]string{10: {"^first$"}, 1: {"^second$"}})
	if err != nil {
		t.Fatal(err)
	}
	loop := faultLoop(0)
	loop.Expander = prio
	per := fc.perNode(t, "second", milli)
	const pods = 4
	want := (pods + per - 1) / per
	fc.deployment(t, "web", pods, milli)
	fc.waitUnschedulable(t, "web", pods)
	run := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: loop})
	fc.waitRunning(t, "web", pods, 90*time.Second)
	st := run.ca.State()
	if e, ok := st.Backoff.Groups["first"]; !ok || !e.Until.After(time.Now()) || e.Reason != autoscaler.ReasonOutOfCapacity {
		t.Errorf("backoff of first %+v (present %v), want active with reason %s", e, ok, autoscaler.ReasonOutOfCapacity)
	}
	fc.waitStatusBackoff(t, "first", autoscaler.ReasonOutOfCapacity)
	if inc := run.trace.changes("first", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of first %+v, want one of %d", inc, want)
	}
	if c := run.trace.changes("first", true); len(c) != 1 || c[0].Delta != want || c[0].Reason != autoscaler.ReasonOutOfCapacity {
		t.Errorf("cancels of first %+v, want one of %d for %s", c, want, autoscaler.ReasonOutOfCapacity)
	}
	if inc := run.trace.changes("second", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of second %+v, want one of %d", inc, want)
	}
	first, second := fc.group(t, "first"), fc.group(t, "second")
	failed := 0
	for _, a := range first.Activities {
		if a.StatusCode == "Failed" {
			failed++
		}
	}
	if first.Desired != 0 || len(first.Instances) != 0 || failed == 0 {
		t.Errorf("first: desired %d, %d instances, %d failed activities; want 0, 0 and some", first.Desired, len(first.Instances), failed)
	}
	if second.Desired != want || faultLaunches(second) != want {
		t.Errorf("second: desired %d, %d launches; want %d", second.Desired, faultLaunches(second), want)
	}
	nodes, err := fc.nodesOf(t.Context(), "second")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, n := range nodes {
		names[n.Name] = true
	}
	pods2, err := fc.podsOf(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods2 {
		if !names[p.Spec.NodeName] {
			t.Errorf("pod %s on %q, not a node of second %v", p.Name, p.Spec.NodeName, names)
		}
	}
	run.stop()
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
	const milli = 900
	const maxProvision = 12 * time.Second
	fc := newFaultCloud(t, "flt-hold-", 2*time.Second,
		faultGroup{Name: "held", InstanceType: "m5.large", Max: 10},
		faultGroup{Name: "spare", InstanceType: "m5.large", Max: 10})
	fc.b.Hold("held", true)
	prio, err := simulate.NewPriority(map[int][]string{10: {"^held$"}, 1: {"^spare$"}})
	if err != nil {
		t.Fatal(err)
	}
	loop := faultLoop(maxProvision)
	loop.Expander = prio
	per := fc.perNode(t, "spare", milli)
	const pods = 4
	want := (pods + per - 1) / per
	fc.deployment(t, "web", pods, milli)
	fc.waitUnschedulable(t, "web", pods)
	start := time.Now()
	run := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: loop})
	faultWait(t, 30*time.Second, "held raised", func() (bool, string) {
		g, _ := fc.srv.Group("held")
		return g.Desired == want, fc.describe()
	})
	fc.waitRunning(t, "web", pods, maxProvision+60*time.Second)
	if el := time.Since(start); el < maxProvision {
		t.Errorf("pods running after %v, before MaxNodeProvisionTime %v: the fallback came too early", el, maxProvision)
	}
	st := run.ca.State()
	if e, ok := st.Backoff.Groups["held"]; !ok || !e.Until.After(time.Now()) || e.Reason != autoscaler.ReasonMaxNodeProvisionTime {
		t.Errorf("backoff of held %+v (present %v), want active with reason %s", e, ok, autoscaler.ReasonMaxNodeProvisionTime)
	}
	fc.waitStatusBackoff(t, "held", "timeout") // cluster-autoscaler's error code for it
	c := run.trace.changes("held", true)
	if len(c) == 0 || c[0].Delta != want || c[0].Reason != autoscaler.ReasonMaxNodeProvisionTime {
		t.Errorf("cancels of held %+v, want first one of %d for %s", c, want, autoscaler.ReasonMaxNodeProvisionTime)
	}
	if inc := run.trace.changes("spare", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of spare %+v, want one of %d", inc, want)
	}
	if inc := run.trace.changes("held", false); len(inc) != 1 || inc[0].Delta != want {
		t.Errorf("increases of held %+v, want one of %d (no retry while backed off)", inc, want)
	}
	if nodes, err := fc.nodesOf(t.Context(), "held"); err != nil || len(nodes) != 0 {
		t.Errorf("held has Nodes %d (%v), want none", len(nodes), err)
	}
	if g := fc.group(t, "spare"); g.Desired != want || faultLaunches(g) != want {
		t.Errorf("spare: desired %d, %d launches; want %d", g.Desired, faultLaunches(g), want)
	}
	// The launches that never joined are not kept running in the cloud.
	faultWait(t, 30*time.Second, "held's launches given back", func() (bool, string) {
		g, _ := fc.srv.Group("held")
		return g.Desired == 0 && len(faultLive(g)) == 0, fc.describe()
	})
}

// An instance terminated behind the controller's back (through the SDK,
// decrementing the desired capacity): its Node goes, its pods are
// collected and recreated, they trigger one new scale-up, and the group
// ends with as many instances, Nodes and desired capacity as the pods need.
func TestFaultsInstanceTerminatedBehindTheBack(t *testing.T) {
	const milli = 900
	const prefix = "flt-term-"
	fc := newFaultCloud(t, prefix, 2*time.Second, faultGroup{Name: "workers", InstanceType: "m5.large", Max: 10})
	per := fc.perNode(t, "workers", milli)
	const pods = 4
	want := (pods + per - 1) / per
	if want < 2 {
		t.Fatalf("the test needs two nodes or more, %d pods need %d", pods, want)
	}
	fc.deployment(t, "web", pods, milli)
	fc.waitUnschedulable(t, "web", pods)
	run := fc.startCA(t, autoscale.ClusterAutoscalerConfig{Loop: faultLoop(0)})
	fc.waitRunning(t, "web", pods, 60*time.Second)
	g := fc.group(t, "workers")
	if g.Desired != want || len(faultLive(g)) != want {
		t.Fatalf("before: %s, want %d", fc.describe(), want)
	}
	victim := faultLive(g)[0]
	node := fc.nodeName(prefix, victim.ID)
	if _, err := fc.kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{}); err != nil {
		t.Fatalf("node of %s: %v", victim.ID, err)
	}
	incBefore := len(run.trace.changes("workers", false))
	top := fc.maxDesired(t, "workers")
	if _, err := fc.as.TerminateInstanceInAutoScalingGroup(t.Context(), &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(victim.ID), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	faultWait(t, 30*time.Second, "the terminated instance's Node gone", func() (bool, string) {
		_, err := fc.kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	// The pod garbage collector removes the pods of the deleted Node (after
	// its 40 s quarantine); their replacements need a node again.
	faultWait(t, 2*time.Minute, "the group back to the nodes the pods need", func() (bool, string) {
		g, _ := fc.srv.Group("workers")
		nodes, err := fc.nodesOf(t.Context(), "workers")
		return err == nil && g.Desired == want && len(faultLive(g)) == want && len(nodes) == want && faultLaunches(g) == want+1, fc.describe()
	})
	fc.waitRunning(t, "web", pods, 30*time.Second)
	for _, p := range fc.waitRunning(t, "web", pods, time.Second) {
		if p.Spec.NodeName == node {
			t.Errorf("pod %s still on the terminated instance's node", p.Name)
		}
	}
	if top() > want {
		t.Errorf("desired capacity went to %d, want at most %d", top(), want)
	}
	if inc := run.trace.changes("workers", false)[incBefore:]; len(inc) != 1 || inc[0].Delta != 1 {
		t.Errorf("increases after the termination %+v, want one of 1", inc)
	}
}
