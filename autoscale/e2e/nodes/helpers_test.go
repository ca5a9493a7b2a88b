package nodes_test

// Shared helpers of the node autoscaling end-to-end tests.
//
// A test builds a cloud (newASGCloud / newESSCloud, with cloudOpts for its
// timings and isolation), then an env on it (newEnv: checks the cluster is
// clean, starts the bridge, creates a namespace), creates workloads
// (e.createDeployment, e.createPod) and starts the autoscaler (e.startCA) with
// the short loop settings, or others (withLoop(faultLoop(0))). Everything is
// undone when the test ends, in this order: the autoscaler stops, the
// namespace is deleted and its pods are gone, the bridge deletes its Nodes and
// they are gone.
//
//	cl := newASGCloud(t, cloudOpts{}, asgGroup{Name: "web", Max: 6}) // or newESSCloud(t, cloudOpts{}, ess.ScalingRules, essGroup{...})
//	e := newEnv(t, cl)                                                // e.C, e.Kube, e.NS, e.Prefix, e.Bridge (Hold, Nodes, Sync, WaitNodes)
//	ca := e.startCA(func(c *autoscale.ClusterAutoscalerConfig) {})    // ca.CA, ca.Loop, ca.Trace (Steps, Increases, Deletes, changes), ca.Stop
//	e.createDeployment("web", 5, "800m", "512Mi", nil)
//	e.waitRunning("app=web", 5, 90*time.Second)
//	e.waitNodes(3, 30*time.Second)
//
// The emulators are cl.ASG / cl.ESS (faults, stock-outs, Group, Instances), the
// providers cl.ASGProvider / cl.ESSProvider, cl.AutoScaling the raw SDK client
// for acting behind the autoscaler's back; cl.desired, cl.asgState,
// cl.instances and cl.maxDesired read a group in the emulator. With
// cloudOpts.Pool the groups' nodes carry a label unique to the test and the
// env's pods select it. waitFor polls a condition; e.watchEvictions records
// pods evicted through the Eviction API; ca.backoffs samples the backoffs;
// podsPerNode, cl.perNode, pendingPods and simulateScaleUp compute
// predictions.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
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

// poolLabel ties a test's pods to its own groups' nodes (a node-template
// label tag) when its cloud is made with cloudOpts.Pool, so nothing else in
// the shared control plane can take them.
const poolLabel = "e2e.kscale.dev/pool"

// defaultZone is an Auto Scaling group's zone unless given.
const defaultZone = "us-test-1a"

// cloudOpts are a cloud's timings and isolation; zero fields take the
// package's defaults.
type cloudOpts struct {
	LaunchDelay time.Duration // launchDelay if zero
	Refresh     time.Duration // the providers' cache lifetime; refreshInterval if zero
	// Pool tags every group with poolLabel=<the test's pool>, and the env's
	// pods then select it.
	Pool bool
	// EmulatorClock gives the asg provider the emulator's clock (which the
	// bridge advances) instead of time.Now.
	EmulatorClock bool
}

// cloud is an emulator with its provider and the bridge Source over them.
type cloud struct {
	Kind     string // "asg" or "ess"
	Provider nodegroup.Provider
	Source   nodebridge.Source
	Groups   []string // group ids (ASG names, ESS ids), in the order given
	Pool     string   // poolLabel's value on this test's nodes; "" without cloudOpts.Pool

	ASG         *asgtest.Server
	ASGProvider *asg.Provider
	AutoScaling *autoscaling.Client // the raw SDK client, to act behind the controller's back
	ESS         *esstest.Server
	ESSProvider *ess.Provider
}

// asgGroup is an Auto Scaling group for newASGCloud.
type asgGroup struct {
	Name         string
	InstanceType string // m5.large if empty
	Min, Max     int
	Desired      int      // InService from the start
	Zones        []string // defaultZone if empty
	Tags         map[string]string
}

// poolOf is a test's pool name (the env's node prefix without its dash).
func poolOf(t *testing.T, o cloudOpts) string {
	if !o.Pool {
		return ""
	}
	return strings.TrimSuffix(nodePrefix(t.Name()), "-")
}

// withPool is tags plus the pool label tag, if pool is set.
func withPool(tags map[string]string, pool string) map[string]string {
	if pool == "" {
		return tags
	}
	out := map[string]string{nodegroup.TagLabelPrefix + poolLabel: pool}
	for k, v := range tags {
		out[k] = v
	}
	return out
}

// newASGCloud starts an Auto Scaling emulator with these groups (one launch
// template each) and an asg.Provider managing them by name.
func newASGCloud(t *testing.T, o cloudOpts, groups ...asgGroup) *cloud {
	t.Helper()
	srv := asgtest.NewServer(asgtest.Config{LaunchDelay: cmp.Or(o.LaunchDelay, launchDelay), TerminateDelay: terminateDelay})
	t.Cleanup(srv.Close)
	cl := &cloud{Kind: "asg", ASG: srv, Pool: poolOf(t, o)}
	for _, g := range groups {
		if g.InstanceType == "" {
			g.InstanceType = "m5.large"
		}
		if len(g.Zones) == 0 {
			g.Zones = []string{defaultZone}
		}
		srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: g.Name + "-lt", InstanceType: g.InstanceType})
		if err := srv.AddGroup(asgtest.Group{Name: g.Name, Min: g.Min, Max: g.Max, Desired: g.Desired, Zones: g.Zones,
			LaunchTemplate: &asgtest.LaunchTemplateRef{Name: g.Name + "-lt"}, Tags: withPool(g.Tags, cl.Pool)}); err != nil {
			t.Fatal(err)
		}
		cl.Groups = append(cl.Groups, g.Name)
	}
	aws := srv.AWSConfig()
	cl.AutoScaling = autoscaling.NewFromConfig(aws)
	cfg := asg.Config{AutoScaling: autoscaling.NewFromConfig(aws), EC2: ec2.NewFromConfig(aws),
		GroupNames: cl.Groups, RefreshInterval: cmp.Or(o.Refresh, refreshInterval)}
	if o.EmulatorClock {
		cfg.Now = srv.Now
	}
	p, err := asg.New(t.Context(), cfg)
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

// newESSCloud starts an ESS emulator (region cn-test) with these groups and
// an ess.Provider in the given scale mode managing them by id.
func newESSCloud(t *testing.T, o cloudOpts, mode ess.ScaleMode, groups ...essGroup) *cloud {
	t.Helper()
	srv := esstest.NewServer(esstest.Config{Region: "cn-test", LaunchDelay: cmp.Or(o.LaunchDelay, launchDelay), RemoveDelay: terminateDelay})
	t.Cleanup(srv.Close)
	cl := &cloud{Kind: "ess", ESS: srv, Pool: poolOf(t, o)}
	for _, g := range groups {
		if g.InstanceType == "" {
			g.InstanceType = "ecs.g7.large"
		}
		id := srv.AddGroup(esstest.Group{ID: g.ID, MinSize: g.Min, MaxSize: g.Max, Size: g.Size, Zone: g.Zone, Tags: withPool(g.Tags, cl.Pool),
			Configuration: esstest.Configuration{InstanceTypes: []string{g.InstanceType}}})
		cl.Groups = append(cl.Groups, id)
	}
	p, err := ess.New(t.Context(), ess.Config{Region: srv.Region(), AccessKeyID: "id", AccessKeySecret: "secret",
		ESSEndpoint: srv.URL, ECSEndpoint: srv.URL, GroupIDs: cl.Groups, ScaleMode: mode,
		RefreshInterval: cmp.Or(o.Refresh, refreshInterval), BaseBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
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

// perNode is how many pods requesting cpu and memory a node of the group
// fits (podsPerNode of its template); it fails the test if none fits.
func (cl *cloud) perNode(t *testing.T, id, cpu, memory string) int {
	t.Helper()
	n := podsPerNode(cl.template(t, id), milli(cpu), bytesOf(memory))
	if n < 1 {
		t.Fatalf("a %s node fits no pod", id)
	}
	return n
}

// desired is the group's desired capacity in the emulator.
func (cl *cloud) desired(t *testing.T, id string) int {
	t.Helper()
	if cl.ASG != nil {
		return cl.asgState(t, id).Desired
	}
	return cl.ESS.Desired(id)
}

// asgState is the Auto Scaling emulator's view of a group.
func (cl *cloud) asgState(t *testing.T, id string) asgtest.GroupState {
	t.Helper()
	st, ok := cl.ASG.Group(id)
	if !ok {
		t.Fatalf("emulator has no group %s", id)
	}
	return st
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

// live are an Auto Scaling group's instances not terminating.
func live(g asgtest.GroupState) []asgtest.Instance {
	var out []asgtest.Instance
	for _, in := range g.Instances {
		if in.LifecycleState != "Terminating" {
			out = append(out, in)
		}
	}
	return out
}

// launches counts an Auto Scaling group's successful launch activities.
func launches(g asgtest.GroupState) int {
	n := 0
	for _, a := range g.Activities {
		if strings.HasPrefix(a.Description, "Launching a new EC2 instance: ") {
			n++
		}
	}
	return n
}

// maxDesired samples an Auto Scaling group's desired capacity every 100ms
// until the test ends; the returned func reads the largest seen.
func (cl *cloud) maxDesired(t *testing.T, id string) func() int {
	var mu sync.Mutex
	top := cl.asgState(t, id).Desired
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if g, ok := cl.ASG.Group(id); ok {
				mu.Lock()
				top = max(top, g.Desired)
				mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() int {
		g, _ := cl.ASG.Group(id)
		mu.Lock()
		defer mu.Unlock()
		return max(top, g.Desired)
	}
}

// ---- environment ----

// env is one test's world: the cluster, its cloud and bridge, a namespace.
type env struct {
	t      *testing.T
	C      *testcluster.Cluster
	Kube   kubernetes.Interface
	NS     string
	Prefix string // the bridge's node-name prefix
	Cloud  *cloud
	Bridge *nodebridge.Bridge
}

// newEnv waits until the cluster is clean (no bridge Nodes, no pods outside
// kube-system), starts a bridge for the cloud (node names prefixed with a short
// form of the test name) and creates a namespace.
func newEnv(t *testing.T, cl *cloud) *env {
	t.Helper()
	c := testcluster.Shared(t)
	e := &env{t: t, C: c, Kube: c.AdminClient(), Cloud: cl, Prefix: nodePrefix(t.Name())}
	e.requireClean()
	e.Bridge = nodebridge.Start(t.Context(), t, nodebridge.Options{Cluster: c, Source: cl.Source, Prefix: e.Prefix})
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
// outside kube-system, left by an earlier test (an earlier test's pending pod
// would make this test's autoscaler scale up), and fails the test otherwise.
func (e *env) requireClean() {
	e.t.Helper()
	waitFor(e.t, time.Minute, "a clean cluster", func() (bool, string) {
		nodes, err := e.Kube.CoreV1().Nodes().List(e.t.Context(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var left []string
		for _, n := range nodes.Items {
			if _, ok := n.Annotations[nodebridge.OwnerAnnotation]; ok {
				left = append(left, "node/"+n.Name)
			}
		}
		pods, err := e.Kube.CoreV1().Pods("").List(e.t.Context(), metav1.ListOptions{})
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

// namespace creates a namespace and, at cleanup (before the bridge removes
// its Nodes), deletes it, force-deletes its pods and waits up to 90 s until
// it is gone.
func (e *env) namespace() string {
	e.t.Helper()
	ns, err := e.Kube.CoreV1().Namespaces().Create(e.t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: strings.TrimSuffix(nodePrefix(e.t.Name()), "-") + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := e.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			e.t.Errorf("delete namespace %s: %v", ns.Name, err)
			return
		}
		zero := int64(0)
		waitFor(e.t, 90*time.Second, "namespace "+ns.Name+" gone", func() (bool, string) {
			pods, err := e.Kube.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					_ = e.Kube.CoreV1().Pods(ns.Name).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
				}
			}
			_, err = e.Kube.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
	})
	// Pods are refused until the default ServiceAccount exists.
	waitFor(e.t, 30*time.Second, "namespace "+ns.Name+"'s default ServiceAccount", func() (bool, string) {
		_, err := e.Kube.CoreV1().ServiceAccounts(ns.Name).Get(e.t.Context(), "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return ns.Name
}

// waitFor polls cond every 250ms until it holds and returns how long that
// took; after timeout it fails the test with what and cond's last
// description.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		ok, desc := cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, timeout, desc)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ---- workloads ----

// podSpec is what the test pods look like: requests only, one-second grace
// period, and on a pooled cloud a node selector for the pool's nodes.
func (e *env) podSpec(cpu, memory string) corev1.PodSpec {
	grace := int64(1)
	s := corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}}}},
	}
	if e.Cloud.Pool != "" {
		s.NodeSelector = map[string]string{poolLabel: e.Cloud.Pool}
	}
	return s
}

// createDeployment creates a Deployment of n pods labelled app=name, each
// requesting cpu and memory; mod, if set, edits it first.
func (e *env) createDeployment(name string, n int32, cpu, memory string, mod func(*appsv1.Deployment)) *appsv1.Deployment {
	e.t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: e.podSpec(cpu, memory)}}}
	if mod != nil {
		mod(d)
	}
	d, err := e.Kube.AppsV1().Deployments(e.NS).Create(e.t.Context(), d, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// noGrace is a createDeployment mod: pods with no termination grace period.
func noGrace(d *appsv1.Deployment) { d.Spec.Template.Spec.TerminationGracePeriodSeconds = new(int64) }

// createPod creates a pod without a controller, labelled app=name.
func (e *env) createPod(name, cpu, memory string, mod func(*corev1.Pod)) *corev1.Pod {
	e.t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.NS, Labels: map[string]string{"app": name}},
		Spec: e.podSpec(cpu, memory)}
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
	waitFor(e.t, timeout, fmt.Sprintf("exactly %d pods %q Running", n, selector), func() (bool, string) {
		list, err := e.Kube.CoreV1().Pods(e.NS).List(e.t.Context(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
				pods = append(pods, p)
			}
		}
		return len(pods) == n && len(list.Items) == n,
			fmt.Sprintf("%d Running of %d; %s", len(pods), len(list.Items), e.describe())
	})
	return pods
}

// waitUnschedulable waits up to 30 s until exactly n pods match selector,
// all marked unschedulable by the scheduler, so an autoscaler started next
// sees them all at once.
func (e *env) waitUnschedulable(selector string, n int) {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, fmt.Sprintf("%d pods %q unschedulable", n, selector), func() (bool, string) {
		list, err := e.Kube.CoreV1().Pods(e.NS).List(e.t.Context(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err.Error()
		}
		u := 0
		for _, p := range list.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
					u++
				}
			}
		}
		return u == n && len(list.Items) == n, fmt.Sprintf("%d pods, %d unschedulable", len(list.Items), u)
	})
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

// groupNodes are the registered Nodes of a group (by the provider's
// mapping of their providerIDs; only the pool's Nodes on a pooled cloud).
func (e *env) groupNodes(ctx context.Context, group string) ([]corev1.Node, error) {
	var sel string
	if e.Cloud.Pool != "" {
		sel = poolLabel + "=" + e.Cloud.Pool
	}
	l, err := e.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	var out []corev1.Node
	for _, n := range l.Items {
		ng, err := e.Cloud.Provider.NodeGroupForNode(ctx, n.Spec.ProviderID)
		if err == nil && ng != nil && ng.Id() == group {
			out = append(out, n)
		}
	}
	return out, nil
}

// describe summarises every group of the emulator and the bridge's nodes.
func (e *env) describe() string {
	var b strings.Builder
	for _, id := range e.Cloud.Groups {
		if e.Cloud.ESS != nil {
			fmt.Fprintf(&b, "%s desired %d instances %d; ", id, e.Cloud.ESS.Desired(id), len(e.Cloud.ESS.Instances(id)))
			continue
		}
		g, _ := e.Cloud.ASG.Group(id)
		fmt.Fprintf(&b, "%s desired %d instances %d launches %d; ", id, g.Desired, len(live(g)), launches(g))
	}
	fmt.Fprintf(&b, "nodes %v", e.Bridge.Nodes())
	return b.String()
}

// hasTaint reports whether the Node has a taint with this key.
func hasTaint(n *corev1.Node, key string) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key })
}

// waitStatusBackoff waits up to 15 s until the autoscaler's status ConfigMap
// (kube-system/cluster-autoscaler-status, cluster-autoscaler's shape)
// shows group's scale-up in Backoff with this error code.
func (e *env) waitStatusBackoff(group, code string) {
	e.t.Helper()
	waitFor(e.t, 15*time.Second, "the status ConfigMap showing "+group+" backed off", func() (bool, string) {
		cm, err := e.Kube.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(e.t.Context(), autoscale.DefaultStatusConfigMap, metav1.GetOptions{})
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

// traceStep is one Step of a running autoscaler, as its Trace saw it.
type traceStep struct {
	Now     time.Time
	Groups  []autoscaler.Group // without templates and instances
	Actions autoscaler.Actions // a deep copy
	// Obs and Act are the Step's observation and actions as JSON, copied
	// when Trace was called (the controller reuses the observation).
	Obs, Act []byte
}

// traceLog keeps every Step, through ClusterAutoscalerConfig.Trace.
type traceLog struct {
	mu    sync.Mutex
	steps []traceStep
	err   error // the first failure to encode a Step
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
	var err, err2 error
	s.Obs, err = json.Marshal(obs)
	s.Act, err2 = json.Marshal(act)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = cmp.Or(err, err2)
	}
	l.steps = append(l.steps, s)
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

// changes lists the increases (or cancels) of group decided so far.
func (l *traceLog) changes(group string, cancels bool) []autoscaler.Change {
	var out []autoscaler.Change
	for _, s := range l.Steps() {
		cs := s.Actions.Increases
		if cancels {
			cs = s.Actions.Cancels
		}
		for _, c := range cs {
			if c.Group == group {
				out = append(out, c)
			}
		}
	}
	return out
}

// deleteCounts counts the removals decided so far per node.
func (l *traceLog) deleteCounts() map[string]int {
	out := map[string]int{}
	for _, d := range l.Deletes() {
		out[d.Node]++
	}
	return out
}

// dump logs every recorded step in short: per group its target, nodes and
// instances; the pending pods; the actions.
func (l *traceLog) dump(t testing.TB) {
	t.Helper()
	for i, s := range l.Steps() {
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
	Loop  autoscaler.Config // the loop configuration it runs with

	t      *testing.T
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	logMu  sync.Mutex
	log    bytes.Buffer
	once   sync.Once
}

// faultLoop is the loop configuration of the fault, restart and replay
// tests: one scan a second, scale-down quick enough to see within a test
// (3 s unneeded, 2 s after a failed removal), and no expiry of a launch
// within a test unless maxProvision is set. Scale-down waits 15 s after a
// scale-up (a short scale-down-delay-after-add). New nodes register empty
// and kube-scheduler binds the pods it had found unschedulable only after
// its backoff (up to 10 s); the loop counts those pending pods on the nodes
// they fit, as cluster-autoscaler's filter-out-schedulable does, so the
// nodes are not removed meanwhile (TestRestartMidScaleUpDoesNotLaunchTwice
// runs with no delay in force).
func faultLoop(maxProvision time.Duration) autoscaler.Config {
	return autoscaler.Config{ScanInterval: time.Second, ScaleDownUnneededTime: 3 * time.Second,
		ScaleDownDelayAfterAdd: 15 * time.Second, ScaleDownDelayAfterDelete: time.Millisecond,
		ScaleDownDelayAfterFailure: 2 * time.Second, MaxNodeProvisionTime: maxProvision}
}

// faultOpts are the clouds of the fault, restart and pre-provisioning
// tests: instances launching in launch, the providers refreshing every
// 500ms (the asg provider on the emulator's clock), the groups pooled.
func faultOpts(launch time.Duration) cloudOpts {
	return cloudOpts{LaunchDelay: launch, Refresh: 500 * time.Millisecond, Pool: true, EmulatorClock: true}
}

// withLoop is a startCA mod that sets the loop configuration.
func withLoop(loop autoscaler.Config) func(*autoscale.ClusterAutoscalerConfig) {
	return func(c *autoscale.ClusterAutoscalerConfig) { c.Loop = loop }
}

// startCA starts a ClusterAutoscaler on the env's provider with shortLoop's
// settings, its Trace recorded, its log kept (the log and the trace are shown
// if the test fails); mod edits the configuration first. It waits until the
// informers have synced. The autoscaler stops when the test ends (before the
// namespace goes), or at Stop; the test fails if Run returns an error or a
// Step could not be recorded.
func (e *env) startCA(mod func(*autoscale.ClusterAutoscalerConfig)) *runningCA {
	e.t.Helper()
	cfg := e.C.Config()
	cfg.QPS, cfg.Burst = 200, 400
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &runningCA{Trace: &traceLog{}, t: e.t, done: make(chan struct{})}
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
	r.CA, r.Loop = ca, c.Loop
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.err = ca.Run(ctx)
	}()
	e.t.Cleanup(func() {
		r.Stop()
		if e.t.Failed() {
			r.Trace.dump(e.t)
			r.logMu.Lock()
			lines := strings.Split(strings.TrimSpace(r.log.String()), "\n")
			r.logMu.Unlock()
			if len(lines) > 200 {
				lines = lines[len(lines)-200:]
			}
			e.t.Logf("cluster autoscaler log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
		}
	})
	waitFor(e.t, 30*time.Second, "cluster autoscaler synced", func() (bool, string) {
		select {
		case <-r.done:
			e.t.Fatalf("cluster autoscaler: Run returned before syncing: %v", r.err)
		default:
		}
		return ca.HasSynced(), ""
	})
	return r
}

// Stop stops the autoscaler and waits until Run has returned; it is safe to
// call more than once.
func (r *runningCA) Stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		if r.err != nil {
			r.t.Errorf("ClusterAutoscaler.Run: %v", r.err)
		}
		r.Trace.mu.Lock()
		defer r.Trace.mu.Unlock()
		if r.Trace.err != nil {
			r.t.Errorf("trace: %v", r.Trace.err)
		}
	})
}

// backoffs samples the autoscaler's State every 100ms until the test ends;
// the returned func reads the backoff reasons seen for a group.
func (r *runningCA) backoffs() func(group string) []string {
	var mu sync.Mutex
	seen := map[string][]string{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			st := r.CA.State()
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
	r.t.Cleanup(func() { cancel(); <-done })
	return func(group string) []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen[group])
	}
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
