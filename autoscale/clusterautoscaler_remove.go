package autoscale

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// Reasons of the node Events and of failed increases.
const (
	reasonIncreaseSizeFailed  = "IncreaseSizeFailed"
	reasonOutOfCapacityFailed = "OutOfResources"
	msgMarkedToBeDeleted      = "marked the node as toBeDeleted/unschedulable"
)

// drainJob is a node removal in progress.
type drainJob struct {
	del   autoscaler.Delete
	ng    nodegroup.NodeGroup
	start time.Time
}

// carryOut applies a step's actions in order: cancels, increases, then
// removals. Failures are reported in res and, for increases and
// removals, in the State (backoff, scale-down failure delay).
func (ca *ClusterAutoscaler) carryOut(ctx context.Context, now time.Time, v *view, act *autoscaler.Actions, res *ScanResult) {
	log := ca.log
	for _, c := range act.Cancels {
		var out Outcome
		if ng := v.groupOf(c.Group); ng == nil {
			out.Err = fmt.Sprintf("no node group %q", c.Group)
		} else if err := ca.cancel(ctx, ng, c); err != nil {
			out.Err = err.Error()
			log.Error(err, "Cancelling launches failed", "group", c.Group, "delta", c.Delta, "reason", c.Reason)
		} else {
			log.Info("Cancelled launches", "group", c.Group, "delta", c.Delta, "reason", c.Reason, "message", c.Message)
		}
		res.Cancels = append(res.Cancels, out)
	}
	for _, c := range act.Increases {
		var out Outcome
		ng := v.groupOf(c.Group)
		var err error
		if ng == nil {
			err = fmt.Errorf("no node group %q", c.Group)
		} else {
			err = ng.IncreaseSize(ctx, c.Delta)
		}
		if err != nil {
			out.Err = err.Error()
			reason := reasonIncreaseSizeFailed
			if errors.Is(err, nodegroup.ErrOutOfCapacity) {
				reason = reasonOutOfCapacityFailed
			}
			ca.loop.State.IncreaseFailed(now, c, reason)
			log.Error(err, "Scale-up failed", "group", c.Group, "delta", c.Delta, "reason", c.Reason)
		} else {
			log.Info("Scale-up", "group", c.Group, "delta", c.Delta, "reason", c.Reason, "message", c.Message)
		}
		res.Increases = append(res.Increases, out)
	}
	// The deletion budgets, as upstream's actuator crops them: removals in
	// progress count against MaxScaleDownParallelism, drains in progress
	// against MaxDrainParallelism. A removal over budget is not started
	// (the node stays unneeded and is chosen again).
	loop := ca.loop.Config()
	ca.dmu.Lock()
	inFlight := len(ca.draining)
	ca.dmu.Unlock()
	total, drains := inFlight, inFlight
	for _, d := range act.Deletes {
		if total >= loop.MaxScaleDownParallelism || (!d.Empty && drains >= loop.MaxDrainParallelism) {
			res.Deletes = append(res.Deletes, Outcome{Err: fmt.Sprintf("not started: %d removal(s) in progress (max-scale-down-parallelism %d, max-drain-parallelism %d)",
				inFlight, loop.MaxScaleDownParallelism, loop.MaxDrainParallelism)})
			continue
		}
		o := ca.remove(ctx, now, v, d)
		if o.Started {
			drains++
			total++
		}
		res.Deletes = append(res.Deletes, o)
	}
	res.Finished = append(res.Finished, ca.takeFinished()...)
	res.Draining = ca.drainingNodes()
}

// cancel carries out a cancel: DecreaseTargetSize. Launches the cloud
// fulfilled but whose nodes never registered cannot be cancelled that way
// (the providers refuse to lower the target below the instances that
// exist, as the cloud would then remove any of them): after
// max-node-provision-time those instances are deleted by their provider
// IDs instead, as cluster-autoscaler removes unregistered nodes older than
// --max-node-provision-time (TestFaultsLaunchesNeverRegister shows it on
// a real cluster).
func (ca *ClusterAutoscaler) cancel(ctx context.Context, ng nodegroup.NodeGroup, c autoscaler.Change) error {
	err := ng.DecreaseTargetSize(ctx, c.Delta)
	if err == nil || c.Reason != autoscaler.ReasonMaxNodeProvisionTime {
		return err
	}
	insts, ierr := ng.Nodes(ctx)
	if ierr != nil {
		return fmt.Errorf("%w; listing the group's instances: %w", err, ierr)
	}
	nodes, lerr := ca.nodes.List(everything)
	if lerr != nil {
		return fmt.Errorf("%w; listing the nodes: %w", err, lerr)
	}
	registered := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		registered[n.Spec.ProviderID] = true
	}
	var ids []string
	for _, in := range insts {
		if len(ids) == c.Delta {
			break
		}
		if in.State != nodegroup.InstanceDeleting && !registered[in.ProviderID] {
			ids = append(ids, in.ProviderID)
		}
	}
	if len(ids) == 0 {
		return err
	}
	if derr := ng.DeleteNodes(ctx, ids); derr != nil {
		return fmt.Errorf("%w; deleting the unregistered instances: %w", err, derr)
	}
	ca.log.Info("Deleted instances that never registered", "group", c.Group, "instances", ids, "decreaseTargetSize", err.Error())
	return nil
}

// remove starts one node's removal: taint and cordon, then DeleteNodes at
// once for an empty node, or a background drain.
func (ca *ClusterAutoscaler) remove(ctx context.Context, now time.Time, v *view, d autoscaler.Delete) Outcome {
	ng := v.groupOf(d.Group)
	if ng == nil {
		ca.loop.State.DeleteFailed(now, d)
		return Outcome{Err: fmt.Sprintf("no node group %q", d.Group)}
	}
	node, err := ca.markToBeDeleted(ctx, d.Node, now)
	if err != nil {
		ca.loop.State.DeleteFailed(now, d)
		ca.log.Error(err, "Marking the node for deletion failed", "node", d.Node)
		return Outcome{Err: err.Error()}
	}
	ca.rep.nodeEvent(node, corev1.EventTypeNormal, autoscaler.ReasonScaleDown, msgMarkedToBeDeleted)
	ca.log.Info("Scale-down: removing node", "node", d.Node, "group", d.Group, "empty", d.Empty, "message", d.Message)
	j := &drainJob{del: d, ng: ng, start: now}
	if d.Empty {
		// A pod bound between the observation and the taint (or an
		// unanswered list) makes it a drain.
		if pods, err := ca.podsToEvict(ctx, d.Node); err != nil || len(pods) > 0 {
			j.del.Empty = false
		}
	}
	if j.del.Empty {
		// Empty: no drain; the scan holds the lock DeleteNodes needs.
		err := ng.DeleteNodes(ctx, []string{d.ProviderID})
		if err != nil {
			ca.loop.State.DeleteFailed(now, d)
			ca.undo(ctx, node, err)
		}
		ca.finish(j, 0, err)
		if err != nil {
			return Outcome{Err: err.Error()}
		}
		return Outcome{}
	}
	ca.dmu.Lock()
	ca.draining[d.Node] = j
	ca.dgen++
	ca.dmu.Unlock()
	ca.drains.Add(1)
	go ca.drain(ctx, j, node)
	return Outcome{Started: true}
}

// drain evicts a node's pods, waits for them to go and deletes the node;
// if a pod cannot be evicted within MaxPodEvictionTime (a PDB at its
// limit) or does not go in time, the node is untainted and kept.
func (ca *ClusterAutoscaler) drain(ctx context.Context, j *drainJob, node *corev1.Node) {
	defer ca.drains.Done()
	clk := ca.cfg.Clock
	name := j.del.Node
	deadline := j.start.Add(ca.cfg.MaxPodEvictionTime)
	if n := clk.Now(); n.After(j.start) {
		deadline = n.Add(ca.cfg.MaxPodEvictionTime)
	}
	fail := func(err error) {
		ca.mu.Lock()
		ca.loop.State.DeleteFailed(clk.Now(), j.del)
		ca.mu.Unlock()
		ca.undo(ctx, node, err)
		ca.finish(j, 0, err)
	}
	pods, err := ca.podsToEvict(ctx, name)
	for err != nil {
		if ctx.Err() != nil || !clk.Now().Before(deadline) {
			fail(err)
			return
		}
		ca.pause(ctx, ca.cfg.EvictionRetryTime)
		pods, err = ca.podsToEvict(ctx, name)
	}
	gone := map[types.UID]*corev1.Pod{}
	var maxGrace int64
	remaining := pods
	evicted := 0
	var lastErr error
	for {
		var next []*corev1.Pod
		for _, p := range remaining {
			grace := ca.grace(p)
			err := ca.cfg.Kube.CoreV1().Pods(p.Namespace).EvictV1(ctx, &policyv1.Eviction{
				ObjectMeta:    metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name},
				DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: &grace, Preconditions: &metav1.Preconditions{UID: &p.UID}}})
			switch {
			case err == nil:
				evicted++
				gone[p.UID] = p
				maxGrace = max(maxGrace, grace)
				ca.rep.podEvicted(p, name)
			case apierrors.IsNotFound(err) || apierrors.IsConflict(err): // gone, or replaced by another pod of that name
			default:
				lastErr = fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
				next = append(next, p)
			}
		}
		remaining = next
		if len(remaining) == 0 {
			break
		}
		if ctx.Err() != nil {
			fail(fmt.Errorf("drain of %s stopped: %w", name, context.Cause(ctx)))
			return
		}
		if !clk.Now().Before(deadline) {
			fail(fmt.Errorf("%d pod(s) on %s not evicted within %s: %w", len(remaining), name, ca.cfg.MaxPodEvictionTime, lastErr))
			return
		}
		ca.pause(ctx, ca.cfg.EvictionRetryTime)
	}
	// Wait for the evicted pods to go (their grace period and a headroom).
	wait := time.Duration(maxGrace)*time.Second + podEvictionHeadroom
	until := clk.Now().Add(wait)
	poll := min(ca.cfg.EvictionRetryTime, 5*time.Second)
	for {
		left := 0
		for uid, p := range gone {
			q, err := ca.cfg.Kube.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				delete(gone, uid)
			case err != nil || (q.UID == uid && q.Spec.NodeName == name):
				left++ // still there (or not known): wait
			default:
				delete(gone, uid) // replaced by another pod of that name
			}
		}
		if left == 0 {
			break
		}
		if ctx.Err() != nil {
			fail(fmt.Errorf("drain of %s stopped: %w", name, context.Cause(ctx)))
			return
		}
		if !clk.Now().Before(until) {
			fail(fmt.Errorf("%d evicted pod(s) still on %s after %s", left, name, wait))
			return
		}
		ca.pause(ctx, poll)
	}
	// DeleteNodes under the scan lock: a scan sees the node either as
	// draining (target not yet lowered) or as deleted (target lowered).
	ca.mu.Lock()
	err = j.ng.DeleteNodes(ctx, []string{j.del.ProviderID})
	if err != nil {
		ca.loop.State.DeleteFailed(clk.Now(), j.del)
	}
	ca.finish(j, evicted, err)
	ca.mu.Unlock()
	if err != nil {
		ca.undo(ctx, node, err)
	}
}

// pause waits d on the configured clock, or until ctx is done.
func (ca *ClusterAutoscaler) pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-ca.cfg.Clock.After(d):
	}
}

// grace is p's grace period capped by MaxGracefulTerminationSec.
func (ca *ClusterAutoscaler) grace(p *corev1.Pod) int64 {
	g := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if p.Spec.TerminationGracePeriodSeconds != nil {
		g = *p.Spec.TerminationGracePeriodSeconds
	}
	return max(0, min(g, ca.cfg.MaxGracefulTerminationSec))
}

// evictable reports whether a drain of node evicts p: not a DaemonSet
// pod, a mirror pod, a finished pod or a pod already being deleted.
func evictable(p *corev1.Pod, node string) bool {
	if p.Spec.NodeName != node || terminal(p) || p.DeletionTimestamp != nil {
		return false
	}
	if _, mirror := p.Annotations["kubernetes.io/config.mirror"]; mirror {
		return false
	}
	ref := metav1.GetControllerOf(p)
	return ref == nil || ref.Kind != "DaemonSet"
}

// podsToEvict are the pods a drain of node evicts, by name, as the API
// server lists them now (the cache may lag the scheduler).
func (ca *ClusterAutoscaler) podsToEvict(ctx context.Context, node string) ([]*corev1.Pod, error) {
	l, err := ca.cfg.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, fmt.Errorf("list the pods of %s: %w", node, err)
	}
	var out []*corev1.Pod
	for i := range l.Items {
		if p := &l.Items[i]; evictable(p, node) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// undo takes a removal back: the taint goes (and the cordon, when the
// removal set it). The ScaleDownFailed Event is the reporter's, from the
// removal in ScanResult.Finished.
func (ca *ClusterAutoscaler) undo(ctx context.Context, node *corev1.Node, cause error) {
	uctx := ctx
	if ctx.Err() != nil { // stopping: still clean up, briefly
		var cancel context.CancelFunc
		uctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
	}
	if err := ca.unmark(uctx, node.Name); err != nil {
		ca.log.Error(err, "Removing the ToBeDeleted taint failed", "node", node.Name)
	}
	ca.log.Info("Scale-down failed: node kept", "node", node.Name, "err", cause.Error())
}

// finish records a removal's end for the next ScanResult.
func (ca *ClusterAutoscaler) finish(j *drainJob, evicted int, err error) {
	r := Removal{Node: j.del.Node, Group: j.del.Group, ProviderID: j.del.ProviderID, Empty: j.del.Empty, Evicted: evicted,
		Start: j.start, End: ca.cfg.Clock.Now()}
	if err != nil {
		r.Err = err.Error()
	}
	ca.dmu.Lock()
	defer ca.dmu.Unlock()
	if _, ok := ca.draining[j.del.Node]; ok {
		delete(ca.draining, j.del.Node)
		ca.dgen++
	}
	ca.finished = append(ca.finished, r)
}

func (ca *ClusterAutoscaler) takeFinished() []Removal {
	ca.dmu.Lock()
	defer ca.dmu.Unlock()
	f := ca.finished
	ca.finished = nil
	return f
}

// drainingGroups counts the drains in progress per group.
func (ca *ClusterAutoscaler) drainingGroups() (map[string]int, map[string]bool, int64) {
	ca.dmu.Lock()
	defer ca.dmu.Unlock()
	g, n := map[string]int{}, map[string]bool{}
	for name, j := range ca.draining {
		g[j.del.Group]++
		n[name] = true
	}
	return g, n, ca.dgen
}

// drainingNodes are the nodes being drained, sorted.
func (ca *ClusterAutoscaler) drainingNodes() []string {
	ca.dmu.Lock()
	defer ca.dmu.Unlock()
	var out []string
	for name := range ca.draining {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func hasToBeDeleted(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == autoscaler.TaintToBeDeleted {
			return true
		}
	}
	return false
}

// markToBeDeleted taints the node ToBeDeletedByClusterAutoscaler
// (NoSchedule, the Unix time as value) and cordons it, in one update
// retried on conflict; a node it cordoned gets AnnotationCordoned.
func (ca *ClusterAutoscaler) markToBeDeleted(ctx context.Context, name string, now time.Time) (*corev1.Node, error) {
	api := ca.cfg.Kube.CoreV1().Nodes()
	var out *corev1.Node
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !hasToBeDeleted(n) {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: autoscaler.TaintToBeDeleted,
				Value: strconv.FormatInt(now.Unix(), 10), Effect: corev1.TaintEffectNoSchedule})
		}
		if !n.Spec.Unschedulable {
			n.Spec.Unschedulable = true
			if n.Annotations == nil {
				n.Annotations = map[string]string{}
			}
			n.Annotations[AnnotationCordoned] = "true"
		}
		out, err = api.Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("autoscale: taint node %s: %w", name, err)
	}
	return out, nil
}

// unmark removes the ToBeDeleted taint and, when the autoscaler cordoned
// the node, the cordon; a node that is gone needs nothing.
func (ca *ClusterAutoscaler) unmark(ctx context.Context, name string) error {
	api := ca.cfg.Kube.CoreV1().Nodes()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n = n.DeepCopy()
		changed := false
		if hasToBeDeleted(n) {
			n.Spec.Taints = slices.DeleteFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == autoscaler.TaintToBeDeleted })
			changed = true
		}
		if _, ok := n.Annotations[AnnotationCordoned]; ok {
			n.Spec.Unschedulable = false
			delete(n.Annotations, AnnotationCordoned)
			changed = true
		}
		if !changed {
			return nil
		}
		_, err = api.Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// cleanStaleTaints removes the ToBeDeleted taints (and the cordons the
// autoscaler set) that a previous run left on nodes, as cluster-autoscaler
// does at start.
func (ca *ClusterAutoscaler) cleanStaleTaints(ctx context.Context) int {
	// From the API server, not the cache: this runs once, and must see
	// every taint.
	nodes, err := ca.cfg.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		ca.log.Error(err, "Listing nodes for stale ToBeDeleted taints failed")
		return 0
	}
	_, draining, _ := ca.drainingGroups()
	n := 0
	for i := range nodes.Items {
		node := &nodes.Items[i]
		if draining[node.Name] || (!hasToBeDeleted(node) && node.Annotations[AnnotationCordoned] == "") {
			continue
		}
		if err := ca.unmark(ctx, node.Name); err != nil {
			ca.log.Error(err, "Removing a stale ToBeDeleted taint failed", "node", node.Name)
			continue
		}
		n++
	}
	if n > 0 {
		ca.log.Info("Removed stale ToBeDeleted taints", "nodes", n)
	}
	return n
}
