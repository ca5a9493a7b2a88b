package nodes_test

// Shared helpers of the node autoscaling end-to-end tests.
//
// A test builds a cloud (newASGCloud / newESSCloud), then an env on it
// (newEnv: checks the cluster is clean, starts the bridge, creates a namespace),
// creates workloads (e.createDeployment, e.createPod) and starts the autoscaler
// (e.startCA) with the short loop settings. Everything is undone when the test
// ends, in this order: the autoscaler stops, the namespace is deleted and its
// pods are gone, the bridge deletes its Nodes and they are gone.
//
//	cl := newASGCloud(t, asgGroup{Name: "web", Max: 6})           // or newESSCloud(t, ess.ScalingRules, essGroup{...})
//	e := newEnv(t, cl)                                             // e.C, e.Kube, e.NS, e.Bridge (Hold, Nodes, Sync, WaitNodes)
//	ca := e.startCA(func(c *autoscale.ClusterAutoscalerConfig) {}) // ca.CA, ca.Trace (Steps, Increases, Deletes), ca.Stop
//	e.createDeployment("web", 5, "800m", "512Mi", nil)
//	e.waitRunning("app=web", 5, 90*time.Second)
//	e.waitNodes(3, 30*time.Second)
//
// The emulators are cl.ASG / cl.ESS (faults, stock-outs, Group, Instances), the
// providers cl.ASGProvider / cl.ESSProvider; cl.desired, cl.instances and
// cl.running read a group in the emulator; e.watchEvictions records pods
// evicted through the Eviction API; podsPerNode, pendingPods and
// simulateScaleUp compute predictions.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/go-logr/logr/funcr"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

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

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }

// Timings of the emulated clouds and the loop.
const (
	launchDelay     = 2 * time.Second // Pending → InService
	terminateDelay  = time.Second     // Terminating / Removing → gone
	refreshInterval = time.Second     // providers' cache lifetime
	scanInterval    = 2 * time.Second
	unneededTime    = 10 * time.Second
)

// shortLoop is the decision loop's configuration for tests: cluster-autoscaler's
// defaults with the waits cut to seconds.
func shortLoop() autoscaler.Config {
	return autoscaler.Config{
		ScanInterval:               scanInterval,
		ScaleDownUnneededTime:      unneededTime,
		ScaleDownDelayAfterAdd:     unneededTime,
		ScaleDownDelayAfterDelete:  scanInterval,
		ScaleDownDelayAfterFailure: unneededTime,
		MaxNodeProvisionTime:       30 * time.Second,
	}
}

// ---- clouds ----

// cloud is an emulator with its provider and the bridge Source over them.
type cloud struct {
	Kind     string // "asg" or "ess"
	Provider nodegroup.Provider
	Source   nodebridge.Source
	Groups   []string // group ids (ASG names, ESS ids), in the order given

	ASG         *asgtest.Server
	ASGProvider *asg.Provider
	ESS         *esstest.Server
	ESSProvider *ess.Provider
}

// asgGroup is an Auto Scaling group for newASGCloud.
type asgGroup struct {
	Name         string
	InstanceType string // m5.large if empty
	Min, Max     int
	Desired      int      // InService from the start
	Zones        []string // us-test-1a if empty
	Tags         map[string]string
}

// newASGCloud starts an Auto Scaling emulator with these groups (one launch
// template each) and an asg.Provider managing them by name.
func newASGCloud(t *testing.T, groups ...asgGroup) *cloud {
	t.Helper()
	srv := asgtest.NewServer(asgtest.Config{LaunchDelay: launchDelay, TerminateDelay: terminateDelay})
	t.Cleanup(srv.Close)
	cl := &cloud{Kind: "asg", ASG: srv}
	for _, g := range groups {
		if g.InstanceType == "" {
			g.InstanceType = "m5.large"
		}
		if len(g.Zones) == 0 {
			g.Zones = []string{"us-test-1a"}
		}
		srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: g.Name + "-lt", InstanceType: g.InstanceType})
		if err := srv.AddGroup(asgtest.Group{Name: g.Name, Min: g.Min, Max: g.Max, Desired: g.Desired, Zones: g.Zones,
			LaunchTemplate: &asgtest.LaunchTemplateRef{Name: g.Name + "-lt"}, Tags: g.Tags}); err != nil {
			t.Fatal(err)
		}
		cl.Groups = append(cl.Groups, g.Name)
	}
	aws := srv.AWSConfig()
	p, err := asg.New(t.Context(), asg.Config{AutoScaling: autoscaling.NewFromConfig(aws), EC2: ec2.NewFromConfig(aws),
		GroupNames: cl.Groups, RefreshInterval: refreshInterval})
	if err != nil {
		t.Fatal(err)
	}
	cl.ASGProvider, cl.Provider, cl.Source = p, p, nodebridge.FromASG(srv, p)
	return cl
}

// essGroup is an ESS scaling group for newESSCloud.
type essGroup struct {
	ID           string
	InstanceType string // ecs.g7.large (2 vCPUs, 8 GiB) if empty
	Min, Max     int
	Size         int    // InService from the start
	Zone         string // <region>-a if empty
	Tags         map[string]string
}

// newESSCloud starts an ESS emulator with these groups and an ess.Provider in
// the given scale mode managing them by id.
func newESSCloud(t *testing.T, mode ess.ScaleMode, groups ...essGroup) *cloud {
	t.Helper()
	srv := esstest.NewServer(esstest.Config{Region: "cn-test", LaunchDelay: launchDelay, RemoveDelay: terminateDelay})
	t.Cleanup(srv.Close)
	cl := &cloud{Kind: "ess", ESS: srv}
	for _, g := range groups {
		if g.InstanceType == "" {
			g.InstanceType = "ecs.g7.large"
		}
		id := srv.AddGroup(esstest.Group{ID: g.ID, MinSize: g.Min, MaxSize: g.Max, Size: g.Size, Zone: g.Zone, Tags: g.Tags,
			Configuration: esstest.Configuration{InstanceTypes: []string{g.InstanceType}}})
		cl.Groups = append(cl.Groups, id)
	}
	p, err := ess.New(t.Context(), ess.Config{Region: srv.Region(), AccessKeyID: "id", AccessKeySecret: "secret",
		ESSEndpoint: srv.URL, ECSEndpoint: srv.URL, GroupIDs: cl.Groups, ScaleMode: mode,
		RefreshInterval: refreshInterval, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cl.ESSProvider, cl.Provider, cl.Source = p, p, nodebridge.FromESS(srv, p)
	return cl
}

// group is the provider's handle of a group.
func (cl *cloud) group(t *testing.T, id string) nodegroup.NodeGroup {
	t.Helper()
	gs, err := cl.Provider.NodeGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Id() == id {
			return g
		}
	}
	t.Fatalf("provider has no group %s", id)
	return nil
}

// template is a group's template as the provider builds it.
func (cl *cloud) template(t *testing.T, id string) nodegroup.Template {
	t.Helper()
	tpl, err := cl.group(t, id).Template(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return *tpl
}

// desired is the group's desired capacity in the emulator.
func (cl *cloud) desired(t *testing.T, id string) int {
	t.Helper()
	if cl.ASG != nil {
		st, ok := cl.ASG.Group(id)
		if !ok {
			t.Fatalf("emulator has no group %s", id)
		}
		return st.Desired
	}
	return cl.ESS.Desired(id)
}

// instances are the group's instances in the emulator (running or not).
func (cl *cloud) instances(id string) []nodebridge.Instance {
	var out []nodebridge.Instance
	for _, in := range cl.Source.Instances() {
		if in.Group == id {
			out = append(out, in)
		}
	}
	return out
}

// running counts the group's running instances.
func (cl *cloud) running(id string) int {
	n := 0
	for _, in := range cl.instances(id) {
		if in.Running {
			n++
		}
	}
	return n
}

// ---- environment ----

// env is one test's world: the cluster, its cloud and bridge, a namespace.
type env struct {
	t      *testing.T
	C      *testcluster.Cluster
	Kube   kubernetes.Interface
	NS     string
	Cloud  *cloud
	Bridge *nodebridge.Bridge
}

// newEnv waits until the cluster is clean (no bridge Nodes, no pods outside
// kube-system), starts a bridge for the cloud (node names prefixed with a short
// form of the test name) and creates a namespace.
func newEnv(t *testing.T, cl *cloud) *env {
	t.Helper()
	c := testcluster.Shared(t)
	e := &env{t: t, C: c, Kube: c.AdminClient(), Cloud: cl}
	e.requireClean()
	e.Bridge = nodebridge.Start(t.Context(), t, nodebridge.Options{Cluster: c, Source: cl.Source, Prefix: nodePrefix(t.Name())})
	e.NS = e.namespace()
	return e
}

// nodePrefix is a node-name prefix from a test name: "e2e-" + up to 24 letters
// and digits + "-".
func nodePrefix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	s := strings.TrimPrefix(b.String(), "test")
	if len(s) > 24 {
		s = s[len(s)-24:]
	}
	return "e2e-" + s + "-"
}

// requireClean waits up to a minute for a cluster without bridge Nodes or pods
// outside kube-system, left by an earlier test, and fails the test otherwise.
func (e *env) requireClean() {
	e.t.Helper()
	var last string
	err := poll(e.t.Context(), 250*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
		nodes, err := e.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		var left []string
		for _, n := range nodes.Items {
			if _, ok := n.Annotations[nodebridge.OwnerAnnotation]; ok {
				left = append(left, "node/"+n.Name)
			}
		}
		pods, err := e.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, p := range pods.Items {
			if p.Namespace != metav1.NamespaceSystem {
				left = append(left, "pod/"+p.Namespace+"/"+p.Name)
			}
		}
		last = strings.Join(left, ", ")
		return len(left) == 0, nil
	})
	if err != nil {
		e.t.Fatalf("cluster not clean after a minute: %s", last)
	}
}

// namespace creates a namespace and, at cleanup, deletes it, force-deletes its
// pods and waits until it is gone.
func (e *env) namespace() string {
	e.t.Helper()
	ns, err := e.Kube.CoreV1().Namespaces().Create(e.t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: strings.TrimSuffix(nodePrefix(e.t.Name()), "-") + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			e.t.Errorf("delete namespace %s: %v", ns.Name, err)
			return
		}
		zero := int64(0)
		err := poll(ctx, 250*time.Millisecond, time.Minute, func(ctx context.Context) (bool, error) {
			pods, err := e.Kube.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					_ = e.Kube.CoreV1().Pods(ns.Name).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
				}
			}
			_, err = e.Kube.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			e.t.Errorf("namespace %s not gone within a minute: %v", ns.Name, err)
		}
	})
	// Pods are refused until the default ServiceAccount exists.
	if err := poll(e.t.Context(), 100*time.Millisecond, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := e.Kube.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		e.t.Fatalf("namespace %s: no default ServiceAccount: %v", ns.Name, err)
	}
	return ns.Name
}

// poll runs cond every interval until it is true or timeout passes.
func poll(ctx context.Context, interval, timeout time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// ---- workloads ----

// podSpec is what the test pods look like: requests only, a label app=<name>,
// one-second grace period.
func podSpec(cpu, memory string) corev1.PodSpec {
	grace := int64(1)
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}}}},
	}
}

// createDeployment creates a Deployment of n pods labelled app=name, each
// requesting cpu and memory; mod, if set, edits it first.
func (e *env) createDeployment(name string, n int32, cpu, memory string, mod func(*appsv1.Deployment)) *appsv1.Deployment {
	e.t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(cpu, memory)}}}
	if mod != nil {
		mod(d)
	}
	d, err := e.Kube.AppsV1().Deployments(e.NS).Create(e.t.Context(), d, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// createPod creates a pod without a controller, labelled app=name.
func (e *env) createPod(name, cpu, memory string, mod func(*corev1.Pod)) *corev1.Pod {
	e.t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS, Labels: map[string]string{"app": name}},
		Spec: podSpec(cpu, memory)}
	if mod != nil {
		mod(p)
	}
	p, err := e.Kube.CoreV1().Pods(e.NS).Create(e.t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// scale sets a Deployment's replicas.
func (e *env) scale(name string, n int32) {
	e.t.Helper()
	_, err := e.Kube.AppsV1().Deployments(e.NS).UpdateScale(e.t.Context(), name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}, metav1.UpdateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
}

// pods lists the namespace's pods matching selector ("" for all), not deleted.
func (e *env) pods(selector string) []corev1.Pod {
	e.t.Helper()
	list, err := e.Kube.CoreV1().Pods(e.NS).List(e.t.Context(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// waitRunning waits until exactly n pods match selector, none being deleted,
// and all are Running on a node; it returns them.
func (e *env) waitRunning(selector string, n int, timeout time.Duration) []corev1.Pod {
	e.t.Helper()
	var pods []corev1.Pod
	var all int
	err := poll(e.t.Context(), 250*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		list, err := e.Kube.CoreV1().Pods(e.NS).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		pods, all = pods[:0], len(list.Items)
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
				pods = append(pods, p)
			}
		}
		return len(pods) == n && all == n, nil
	})
	if err != nil {
		e.t.Fatalf("pods %q: %d Running of %d, want exactly %d Running within %v (nodes %v)", selector, len(pods), all, n, timeout, e.Bridge.Nodes())
	}
	return pods
}

// waitNodes waits until the bridge holds exactly n Ready Nodes, and returns them.
func (e *env) waitNodes(n int, timeout time.Duration) []string {
	e.t.Helper()
	names, err := e.Bridge.WaitNodes(e.t.Context(), n, timeout)
	if err != nil {
		e.t.Fatal(err)
	}
	return names
}

// node gets a Node.
func (e *env) node(name string) *corev1.Node {
	e.t.Helper()
	n, err := e.Kube.CoreV1().Nodes().Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// nodeGroup is the group owning a bridge Node, from its providerID.
func (e *env) nodeGroup(name string) string {
	e.t.Helper()
	pid := e.node(name).Spec.ProviderID
	for _, in := range e.Cloud.Source.Instances() {
		if in.ProviderID == pid {
			return in.Group
		}
	}
	return ""
}

// hasTaint reports whether the Node has a taint with this key.
func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}

// ---- evictions ----

// evictions records the pods of a namespace that were evicted through the
// Eviction API: the API server marks them with the DisruptionTarget condition,
// reason EvictionByEvictionAPI, before deleting them.
type evictions struct {
	mu   sync.Mutex
	pods map[string]string // pod → node it was evicted from
}

// watchEvictions starts recording the namespace's evictions until the test ends.
func (e *env) watchEvictions() *evictions {
	e.t.Helper()
	ev := &evictions{pods: map[string]string{}}
	f := informers.NewSharedInformerFactoryWithOptions(e.Kube, 0, informers.WithNamespace(e.NS))
	inf := f.Core().V1().Pods().Informer()
	see := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				p, _ = d.Obj.(*corev1.Pod)
			}
		}
		if p == nil {
			return
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == "EvictionByEvictionAPI" {
				ev.mu.Lock()
				ev.pods[p.Name] = p.Spec.NodeName
				ev.mu.Unlock()
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: see, UpdateFunc: func(_, obj any) { see(obj) }, DeleteFunc: see,
	}); err != nil {
		e.t.Fatal(err)
	}
	stop := make(chan struct{})
	f.Start(stop)
	e.t.Cleanup(func() { close(stop); f.Shutdown() })
	if !cache.WaitForCacheSync(e.t.Context().Done(), inf.HasSynced) {
		e.t.Fatal("pod informer did not sync")
	}
	return ev
}

// Evicted is the evicted pods and the nodes they were evicted from.
func (ev *evictions) Evicted() map[string]string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	out := make(map[string]string, len(ev.pods))
	for k, v := range ev.pods {
		out[k] = v
	}
	return out
}

// ---- the autoscaler ----

// traceStep is one Step of the running autoscaler, as its Trace saw it.
type traceStep struct {
	Now     time.Time
	Groups  []autoscaler.Group // without templates and instances
	Actions autoscaler.Actions
}

// traceLog keeps every Step.
type traceLog struct {
	mu    sync.Mutex
	steps []traceStep
}

func (l *traceLog) record(now time.Time, obs *autoscaler.Observation, act autoscaler.Actions) {
	s := traceStep{Now: now, Actions: autoscaler.Actions{
		Backoffs:    slices.Clone(act.Backoffs),
		Cancels:     slices.Clone(act.Cancels),
		Increases:   slices.Clone(act.Increases),
		Deletes:     slices.Clone(act.Deletes),
		Pending:     slices.Clone(act.Pending),
		Unremovable: slices.Clone(act.Unremovable),
		ScaleDown:   act.ScaleDown,
		ScaleUp:     act.ScaleUp,
	}}
	if len(act.Upcoming) > 0 {
		s.Actions.Upcoming = make(map[string]int, len(act.Upcoming))
		for k, v := range act.Upcoming {
			s.Actions.Upcoming[k] = v
		}
	}
	for _, g := range obs.Groups {
		s.Groups = append(s.Groups, autoscaler.Group{ID: g.ID, Min: g.Min, Max: g.Max, Target: g.Target})
	}
	l.mu.Lock()
	l.steps = append(l.steps, s)
	l.mu.Unlock()
}

// Steps is a copy of the steps so far.
func (l *traceLog) Steps() []traceStep {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.steps)
}

// Increases are every increase decided so far, in order.
func (l *traceLog) Increases() []autoscaler.Change {
	var out []autoscaler.Change
	for _, s := range l.Steps() {
		out = append(out, s.Actions.Increases...)
	}
	return out
}

// Deletes are every node removal decided so far, in order.
func (l *traceLog) Deletes() []autoscaler.Delete {
	var out []autoscaler.Delete
	for _, s := range l.Steps() {
		out = append(out, s.Actions.Deletes...)
	}
	return out
}

// increased sums the increases of a group.
func increased(changes []autoscaler.Change, group string) int {
	n := 0
	for _, c := range changes {
		if c.Group == group {
			n += c.Delta
		}
	}
	return n
}

// runningCA is an autoscale.ClusterAutoscaler running in the background.
type runningCA struct {
	CA    *autoscale.ClusterAutoscaler
	Trace *traceLog

	cancel context.CancelFunc
	done   chan struct{}
	err    error
	logMu  sync.Mutex
	log    bytes.Buffer
	once   sync.Once
}

// startCA starts a ClusterAutoscaler on the env's provider with shortLoop's
// settings, its Trace recorded, its log kept (and shown if the test fails); mod
// edits the configuration first. It waits until the informers have synced. The
// autoscaler stops when the test ends (before the namespace goes), or at Stop.
func (e *env) startCA(mod func(*autoscale.ClusterAutoscalerConfig)) *runningCA {
	e.t.Helper()
	cfg := e.C.Config()
	cfg.QPS, cfg.Burst = 200, 400
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &runningCA{Trace: &traceLog{}, done: make(chan struct{})}
	logger := funcr.New(func(prefix, args string) {
		r.logMu.Lock()
		defer r.logMu.Unlock()
		fmt.Fprintf(&r.log, "%s %s %s\n", time.Now().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{Verbosity: 4})
	c := autoscale.ClusterAutoscalerConfig{
		Kube: kube, Provider: e.Cloud.Provider, Loop: shortLoop(),
		EvictionRetryTime: time.Second, MaxPodEvictionTime: 20 * time.Second,
		Logger: logger,
		Trace:  r.Trace.record,
	}
	if mod != nil {
		mod(&c)
	}
	ca, err := autoscale.NewClusterAutoscaler(c)
	if err != nil {
		e.t.Fatal(err)
	}
	r.CA = ca
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.err = ca.Run(ctx)
	}()
	e.t.Cleanup(func() {
		r.Stop()
		if e.t.Failed() {
			r.logMu.Lock()
			lines := strings.Split(strings.TrimSpace(r.log.String()), "\n")
			r.logMu.Unlock()
			if len(lines) > 200 {
				lines = lines[len(lines)-200:]
			}
			e.t.Logf("cluster autoscaler log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
		}
	})
	if err := poll(e.t.Context(), 50*time.Millisecond, 30*time.Second, func(context.Context) (bool, error) {
		select {
		case <-r.done:
			return false, fmt.Errorf("Run returned: %v", r.err)
		default:
		}
		return ca.HasSynced(), nil
	}); err != nil {
		e.t.Fatalf("cluster autoscaler did not sync: %v", err)
	}
	return r
}

// Stop stops the autoscaler and waits until Run has returned; it is safe to
// call more than once.
func (r *runningCA) Stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// ---- predictions ----

// podsPerNode is how many pods requesting milliCPU and memory fit a node of the
// template, by its allocatable CPU, memory and pods.
func podsPerNode(tpl nodegroup.Template, milliCPU, memory int64) int {
	return int(min(tpl.Allocatable.MilliCPU/milliCPU, tpl.Allocatable.Memory/memory, tpl.Allocatable.Pods))
}

// ceilDiv is ⌈a/b⌉.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// pendingPods is n pending simulate pods requesting milliCPU and memory, of a
// ReplicaSet.
func pendingPods(ns, app string, n int, milliCPU, memory int64) []simulate.Pod {
	out := make([]simulate.Pod, n)
	for i := range out {
		out[i] = simulate.Pod{Namespace: ns, Name: fmt.Sprintf("%s-%d", app, i), Labels: map[string]string{"app": app},
			Requests: nodegroup.Resources{MilliCPU: milliCPU, Memory: memory},
			Owner:    &simulate.Owner{Kind: "ReplicaSet", Name: app + "-rs", UID: app + "-rs"}}
	}
	return out
}

// simulateScaleUp runs simulate.ScaleUp and returns its result, failing the
// test on an error.
func simulateScaleUp(t *testing.T, c *simulate.Cluster, groups []simulate.Group, exp simulate.Expander) *simulate.ScaleUpResult {
	t.Helper()
	res, err := simulate.ScaleUp(c, groups, simulate.ScaleUpOptions{Limits: simulate.DefaultLimits(), Expander: exp})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// milli is a quantity in thousandths (CPU); bytesOf a quantity's value (memory).
func milli(q string) int64 {
	v := resource.MustParse(q)
	return v.MilliValue()
}

func bytesOf(q string) int64 {
	v := resource.MustParse(q)
	return v.Value()
}
