package nodebridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/kscale/kscale/internal/testcluster"
	"github.com/kscale/kscale/nodegroup"
)

// OwnerAnnotation marks the Nodes a Bridge created; its value is the Bridge's prefix.
const OwnerAnnotation = "nodebridge.kscale.dev/owner"

// Labels a kubelet and cloud controller manager set on every node.
const (
	LabelHostname = "kubernetes.io/hostname"
)

// DefaultInterval is Options.Interval when zero.
const DefaultInterval = 250 * time.Millisecond

// Options configure a Bridge.
type Options struct {
	Cluster *testcluster.Cluster // required
	Source  Source               // required: FromASG or FromESS
	// Interval is the poll period (DefaultInterval if zero).
	Interval time.Duration
	// Prefix starts every node name (the rest is the instance ID, lower-cased),
	// so bridges of different tests never collide; "nb<n>-" if empty. It must
	// make valid node names: lower-case letters, digits, '-' and '.'.
	Prefix string
}

// A Bridge plays the cloud's node lifecycle for an emulator: every instance the
// cloud reports running becomes a kwok Node (the group template's capacity,
// allocatable, labels and taints, plus zone, instance-type and hostname labels,
// and the provider's providerID); the Node of an instance gone or terminating
// is deleted. It advances the emulator's virtual clock with real time.
type Bridge struct {
	o    Options
	kube kubernetes.Interface

	syncMu    sync.Mutex // one Sync at a time
	last      time.Time  // wall time of the last Advance
	templates map[[2]string]*nodegroup.Template

	mu    sync.Mutex
	hold  map[string]bool
	nodes []string // sorted

	cancel context.CancelFunc
	done   chan struct{}
}

var bridges atomic.Int64

// Start starts a Bridge: it reads every group's templates, syncs once, and then
// syncs every Interval until the test ends, when it stops and deletes its
// Nodes. Bad options or unreadable templates fail the test.
func Start(ctx context.Context, t testing.TB, o Options) *Bridge {
	t.Helper()
	if o.Cluster == nil || o.Source == nil {
		t.Fatal("nodebridge: Options.Cluster and Options.Source are required")
	}
	if o.Interval < 0 {
		t.Fatalf("nodebridge: Options.Interval %v: must not be negative", o.Interval)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("nb%d-", bridges.Add(1))
	}
	if errs := validation.IsDNS1123Subdomain(o.Prefix + "i-0"); len(errs) > 0 {
		t.Fatalf("nodebridge: Options.Prefix %q: %s", o.Prefix, strings.Join(errs, "; "))
	}
	b := &Bridge{o: o, kube: o.Cluster.AdminClient(), templates: map[[2]string]*nodegroup.Template{}, hold: map[string]bool{}}
	// Read the templates now, so the bridge makes no API call once the test
	// starts injecting faults.
	for _, g := range o.Source.Groups() {
		if _, err := b.template(ctx, g, ""); err != nil {
			t.Fatalf("nodebridge: template of group %s: %v", g, err)
		}
	}
	if err := b.Sync(ctx); err != nil {
		t.Logf("nodebridge: first sync: %v", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel, b.done = cancel, make(chan struct{})
	go b.loop(loopCtx, t)
	t.Cleanup(func() {
		b.stop()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.deleteAll(cctx); err != nil {
			t.Errorf("nodebridge: delete nodes: %v", err)
		}
	})
	return b
}

func (b *Bridge) stop() {
	b.cancel()
	<-b.done
}

func (b *Bridge) loop(ctx context.Context, t testing.TB) {
	defer close(b.done)
	tick := time.NewTicker(b.o.Interval)
	defer tick.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := b.Sync(ctx)
		if ctx.Err() != nil {
			return
		}
		// Log an error once, not every Interval.
		if msg := fmt.Sprint(err); err != nil && msg != lastErr {
			t.Logf("nodebridge: sync: %v", err)
			lastErr = msg
		} else if err == nil {
			lastErr = ""
		}
	}
}

// Hold turns holding a group on or off: while on, the group's instances launch
// and run in the cloud but their Nodes never register (Nodes already
// registered stay). Off, they register at the next Sync.
func (b *Bridge) Hold(group string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if on {
		b.hold[group] = true
	} else {
		delete(b.hold, group)
	}
}

func (b *Bridge) held(group string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hold[group]
}

// Nodes lists, sorted, the names of the Nodes the Bridge created that existed at
// its last Sync.
func (b *Bridge) Nodes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.nodes)
}

// NodeName is the name of the Node an instance registers as.
func (b *Bridge) NodeName(instanceID string) string { return b.o.Prefix + strings.ToLower(instanceID) }

// Prefix is the node name prefix in use.
func (b *Bridge) Prefix() string { return b.o.Prefix }

// Sync reconciles once now: advance the emulator's clock by the real time since
// the last Sync, create the Nodes of running instances that have none (unless
// their group is held), and delete the Nodes whose instance is no longer
// running. It returns the errors of the Nodes it could not create or delete,
// joined; the others are done.
func (b *Bridge) Sync(ctx context.Context) error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	now := time.Now()
	if !b.last.IsZero() {
		if d := now.Sub(b.last); d > 0 {
			b.o.Source.Advance(d)
		}
	}
	b.last = now

	owned, err := b.owned(ctx)
	if err != nil {
		return err
	}
	want := map[string]Instance{}
	for _, in := range b.o.Source.Instances() {
		if in.Running {
			want[b.NodeName(in.ID)] = in
		}
	}
	var errs []error
	for name, in := range want {
		if _, ok := owned[name]; ok || b.held(in.Group) {
			continue
		}
		if err := b.create(ctx, name, in); err != nil {
			errs = append(errs, err)
			continue
		}
		owned[name] = true
	}
	for name := range owned {
		if _, ok := want[name]; ok {
			continue
		}
		err := b.kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("nodebridge: delete node %s: %w", name, err))
			continue
		}
		delete(owned, name)
	}
	names := make([]string, 0, len(owned))
	for name := range owned {
		names = append(names, name)
	}
	slices.Sort(names)
	b.mu.Lock()
	b.nodes = names
	b.mu.Unlock()
	return errors.Join(errs...)
}

// owned lists the Nodes this Bridge created.
func (b *Bridge) owned(ctx context.Context) (map[string]bool, error) {
	list, err := b.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("nodebridge: list nodes: %w", err)
	}
	out := map[string]bool{}
	for _, n := range list.Items {
		if n.Annotations[OwnerAnnotation] == b.o.Prefix && n.DeletionTimestamp == nil {
			out[n.Name] = true
		}
	}
	return out, nil
}

func (b *Bridge) template(ctx context.Context, group, instanceType string) (*nodegroup.Template, error) {
	if t, ok := b.templates[[2]string{group, instanceType}]; ok {
		return t, nil
	}
	t, err := b.o.Source.Template(ctx, group, instanceType)
	if err != nil {
		return nil, err
	}
	b.templates[[2]string{group, instanceType}] = t
	if instanceType == "" {
		b.templates[[2]string{group, t.InstanceType}] = t
	}
	return t, nil
}

func (b *Bridge) create(ctx context.Context, name string, in Instance) error {
	tpl, err := b.template(ctx, in.Group, in.InstanceType)
	if err != nil {
		return fmt.Errorf("nodebridge: template of group %s, type %s: %w", in.Group, in.InstanceType, err)
	}
	node := NodeFor(name, in, tpl)
	node.Annotations[OwnerAnnotation] = b.o.Prefix
	_, err = b.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("nodebridge: create node %s: %w", name, err)
	}
	return nil
}

// NodeFor is the kwok Node an instance registers as: the template's capacity,
// allocatable, labels and taints, the instance's zone, type and hostname labels,
// and its providerID.
func NodeFor(name string, in Instance, tpl *nodegroup.Template) *corev1.Node {
	labels := map[string]string{nodegroup.LabelOS: "linux", nodegroup.LabelArch: "amd64"}
	for k, v := range tpl.Labels {
		labels[k] = v
	}
	if in.Zone != "" {
		labels[nodegroup.LabelZone] = in.Zone
	}
	if in.InstanceType != "" {
		labels[nodegroup.LabelInstanceType] = in.InstanceType
	}
	labels[LabelHostname] = name
	var taints []corev1.Taint
	for _, t := range tpl.Taints {
		taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: labels,
			Annotations: map[string]string{
				testcluster.KwokNodeAnnotation:    "fake",
				testcluster.MetricsPathAnnotation: "/metrics/nodes/" + name + "/metrics/resource",
			},
		},
		Spec: corev1.NodeSpec{ProviderID: in.ProviderID, Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    ResourceList(tpl.Capacity),
			Allocatable: ResourceList(tpl.Allocatable),
			Phase:       corev1.NodeRunning,
		},
	}
}

// ResourceList converts template resources to a Node's capacity or allocatable.
func ResourceList(r nodegroup.Resources) corev1.ResourceList {
	out := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(r.MilliCPU, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(r.Memory, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(r.Pods, resource.DecimalSI),
	}
	if r.EphemeralStorage > 0 {
		out[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(r.EphemeralStorage, resource.BinarySI)
	}
	for k, v := range r.Extended {
		out[corev1.ResourceName(k)] = *resource.NewQuantity(v, resource.DecimalSI)
	}
	return out
}

// WaitNodes waits until the Bridge holds exactly want Nodes and every one is
// Ready without the not-ready taint, and returns their names.
func (b *Bridge) WaitNodes(ctx context.Context, want int, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		names, ready, err := b.readyNodes(ctx)
		if err == nil && len(names) == want && ready == want {
			return names, nil
		}
		select {
		case <-ctx.Done():
			return names, fmt.Errorf("nodebridge: waiting for %d Ready nodes: have %d, %d Ready (last error: %v): %w", want, len(names), ready, err, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *Bridge) readyNodes(ctx context.Context) ([]string, int, error) {
	list, err := b.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	var names []string
	ready := 0
	for i := range list.Items {
		n := &list.Items[i]
		if n.Annotations[OwnerAnnotation] != b.o.Prefix || n.DeletionTimestamp != nil {
			continue
		}
		names = append(names, n.Name)
		if Ready(n) {
			ready++
		}
	}
	slices.Sort(names)
	return names, ready, nil
}

// Ready reports whether a Node is Ready and free of the not-ready and
// unreachable taints, so the scheduler places pods on it.
func Ready(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == "node.kubernetes.io/not-ready" || t.Key == "node.kubernetes.io/unreachable" {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deleteAll deletes every Node this Bridge created and waits until they are gone.
func (b *Bridge) deleteAll(ctx context.Context) error {
	owned, err := b.owned(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for name := range owned {
		if err := b.kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	b.mu.Lock()
	b.nodes = nil
	b.mu.Unlock()
	return errors.Join(errs...)
}
