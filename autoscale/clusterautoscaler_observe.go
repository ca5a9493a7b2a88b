package autoscale

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/schedule"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// maxGroups bounds the node groups a provider may report.
const maxGroups = 10_000

// obsCache is the last observation and what it was built from: the
// buffers are reused from scan to scan (Step keeps no reference), and the
// nodes and pods are rebuilt only when an informer event, a volume, a
// drain or the groups changed since.
type obsCache struct {
	obs autoscaler.Observation
	// key is what the nodes and bound pods were built from; podsKey the
	// pending pods.
	key     obsKey
	podsKey int64
	built   bool
	ctr     int64 // hands out Observation versions
	nBound  int   // obs.Pods[:nBound] are bound, the rest pending
	conv    map[types.UID]*convPod
	base    view // the node-derived part of the last view
}

type obsKey struct {
	version, vol, drains int64
	groups               string
}

// convPod is a converted pod, kept while its resourceVersion (and, for a
// pod with claims, the volumes) are unchanged.
type convPod struct {
	rv   string
	vol  int64
	seen int64
	pod  simulate.Pod
	bad  bool // the conversion failed
}

// view is what a scan observed beyond the Observation: the node groups to
// act on and the counts for the ScanResult.
type view struct {
	groups        []nodegroup.NodeGroup
	targets       []int
	nodes, ready  int
	registered    map[string]int
	readyIn       map[string]int
	unschedulable []PodRef
	// startedBy is when the first node still starting (left out, see
	// buildNodes) stops counting as starting (zero: none); the nodes are
	// rebuilt then, as no event marks it.
	startedBy time.Time
}

// observe builds ca.obs at now: the groups from the provider (every
// scan), the nodes and pods from the informers (when they changed), the
// rises from the schedules.
func (ca *ClusterAutoscaler) observe(ctx context.Context, now time.Time) (*view, error) {
	p := ca.cfg.Provider
	if err := p.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("autoscale: provider refresh: %w", err)
	}
	ngs, err := p.NodeGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("autoscale: provider node groups: %w", err)
	}
	if len(ngs) > maxGroups {
		return nil, fmt.Errorf("autoscale: provider reports %d node groups, over %d", len(ngs), maxGroups)
	}
	v := &view{groups: ngs, targets: make([]int, len(ngs))}
	// The drains in progress, read with the targets under the scan lock
	// (a drain calls DeleteNodes under it too).
	drains, draining, dgen := ca.drainingGroups()
	obs := &ca.obs
	groups := slices.Grow(obs.Groups[:0], len(ngs))[:len(ngs)]
	ids := make(map[string]bool, len(ngs))
	var gkey strings.Builder
	for i, ng := range ngs {
		if ng == nil {
			return nil, fmt.Errorf("autoscale: provider node group %d is nil", i)
		}
		id := ng.Id()
		g := autoscaler.Group{ID: id, Min: ng.MinSize(), Max: ng.MaxSize()}
		switch {
		case id == "":
			return nil, fmt.Errorf("autoscale: provider node group %d has an empty id", i)
		case ids[id]:
			return nil, fmt.Errorf("autoscale: provider lists node group %q twice", id)
		case g.Min < 0 || g.Max < g.Min:
			return nil, fmt.Errorf("autoscale: node group %q: min %d and max %d are not 0 ≤ min ≤ max", id, g.Min, g.Max)
		}
		ids[id] = true
		if g.Target, err = ng.TargetSize(ctx); err != nil {
			return nil, fmt.Errorf("autoscale: node group %q: target size: %w", id, err)
		}
		if g.Target < 0 {
			return nil, fmt.Errorf("autoscale: node group %q: target size %d is negative", id, g.Target)
		}
		t, err := ng.Template(ctx)
		if err != nil {
			return nil, fmt.Errorf("autoscale: node group %q: template: %w", id, err)
		}
		if t == nil {
			return nil, fmt.Errorf("autoscale: node group %q: no template", id)
		}
		g.Template = *t
		v.targets[i] = g.Target
		groups[i] = g
		fmt.Fprintf(&gkey, "%s\x00%d\x00", id, g.Target)
	}
	obs.Groups = groups

	key := obsKey{version: ca.version.Load(), vol: ca.volVersion.Load(), drains: dgen, groups: gkey.String()}
	podsKey := ca.podsVersion.Load()
	switch {
	case !ca.built || key != ca.key || !ca.base.startedBy.IsZero() && !now.Before(ca.base.startedBy):
		if err := ca.buildNodes(ctx, now, draining); err != nil {
			ca.built = false
			return nil, err
		}
		ca.ctr++
		obs.Version = ca.ctr
		ca.buildPods(now, true)
		ca.ctr++
		obs.PodsVersion = ca.ctr
		ca.key, ca.podsKey, ca.built = key, podsKey, true
	case podsKey != ca.podsKey:
		ca.buildPods(now, false)
		ca.ctr++
		obs.PodsVersion = ca.ctr
		ca.podsKey = podsKey
	}
	base := ca.base
	v.nodes, v.ready, v.registered, v.readyIn, v.unschedulable = base.nodes, base.ready, base.registered, base.readyIn, base.unschedulable

	// Draining nodes are going away: their group's target is seen without
	// them, as the registered nodes are.
	for i := range obs.Groups {
		g := &obs.Groups[i]
		g.Target = max(0, g.Target-drains[g.ID])
		g.Instances = nil
		if g.Target != v.registered[g.ID] {
			insts, err := ngs[i].Nodes(ctx)
			if err != nil {
				return nil, fmt.Errorf("autoscale: node group %q: instances: %w", g.ID, err)
			}
			g.Instances = insts
		}
	}
	if err := ca.observeOthers(now); err != nil {
		return nil, err
	}
	obs.Rises = obs.Rises[:0]
	for i := range ca.cfg.Schedules {
		r, ok, err := ca.rise(&ca.cfg.Schedules[i], now)
		if err != nil {
			ca.log.Info("Scheduled workload skipped", "workload", ca.cfg.Schedules[i].Namespace+"/"+ca.cfg.Schedules[i].Name, "err", err)
			continue
		}
		if ok {
			obs.Rises = append(obs.Rises, r)
		}
	}
	return v, nil
}

// buildNodes rebuilds obs.Nodes, oldest first, and the node counts. Nodes
// going away are left out: those being drained, and those carrying
// ToBeDeletedByClusterAutoscaler (deleted, not deregistered yet).
//
// A node of a group that is not ready and was created less than
// maxNodeStartupTime ago is still starting (cluster-autoscaler's
// NotStarted): it is left out too and stays one of its group's upcoming
// nodes, as clusterstate's GetUpcomingNodes counts it, so its pending pods
// are placed on the template node it will become rather than raising the
// group again while the node-lifecycle controller has not yet lifted its
// not-ready taint.
func (ca *ClusterAutoscaler) buildNodes(ctx context.Context, now time.Time, draining map[string]bool) error {
	list, err := ca.nodes.List(everything)
	if err != nil {
		return fmt.Errorf("autoscale: list nodes: %w", err)
	}
	slices.SortFunc(list, func(a, b *corev1.Node) int {
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	obs := &ca.obs
	obs.Nodes = slices.Grow(obs.Nodes[:0], len(list))
	b := view{registered: map[string]int{}, readyIn: map[string]int{}}
	byID := map[string]string{}
	for _, n := range list {
		b.nodes++
		ready := nodeReady(n)
		if ready {
			b.ready++
		}
		id := n.Spec.ProviderID
		group, ok := byID[id]
		if !ok && id != "" {
			ng, err := ca.cfg.Provider.NodeGroupForNode(ctx, id)
			if err != nil {
				return fmt.Errorf("autoscale: node group of node %s (%s): %w", n.Name, id, err)
			}
			if ng != nil {
				group = ng.Id()
			}
			byID[id] = group
		}
		if draining[n.Name] || hasToBeDeleted(n) {
			continue
		}
		if until := n.CreationTimestamp.Add(maxNodeStartupTime); group != "" && !ready && now.Before(until) {
			if b.startedBy.IsZero() || until.Before(b.startedBy) {
				b.startedBy = until
			}
			continue
		}
		if group != "" {
			b.registered[group]++
			if ready {
				b.readyIn[group]++
			}
		}
		sn, err := simulate.NodeFromV1(n, group)
		if err != nil {
			return fmt.Errorf("autoscale: node %s: %w", n.Name, err)
		}
		obs.Nodes = append(obs.Nodes, autoscaler.Node{Node: sn, ProviderID: id})
	}
	ca.base = b
	return nil
}

// maxNodeStartupTime is how long after its creation a node that is not
// ready counts as starting (cluster-autoscaler's MaxNodeStartupTime).
const maxNodeStartupTime = 15 * time.Minute

// nodeReady reports readiness as cluster-autoscaler reads it: the Ready
// condition True and none of the not-ready, disk-pressure and
// network-unavailable taints.
func nodeReady(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		switch t.Key {
		case corev1.TaintNodeNotReady, corev1.TaintNodeDiskPressure, corev1.TaintNodeNetworkUnavailable:
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

// unschedulable reports whether the scheduler marked p unschedulable
// (PodScheduled=False, reason Unschedulable), as cluster-autoscaler
// reads it.
func unschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable
		}
	}
	return false
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// buildPods rebuilds obs.Pods: the bound pods on observed nodes, grouped
// by node (when all is set; otherwise the bound part is kept), then the
// unschedulable ones, oldest first. A pod that fails to convert is left
// out; when it is bound, its node is kept from scale-down.
func (ca *ClusterAutoscaler) buildPods(now time.Time, all bool) {
	obs := &ca.obs
	list := ca.podStore.List()
	if ca.conv == nil {
		ca.conv = map[types.UID]*convPod{}
	}
	ca.ctr++
	seen := ca.ctr
	vol := ca.volVersion.Load()
	var pending []*corev1.Pod
	var byNode [][]*corev1.Pod // bound pods per observed node
	var nodeIdx map[string]int
	if all {
		nodeIdx = make(map[string]int, len(obs.Nodes))
		for i := range obs.Nodes {
			nodeIdx[obs.Nodes[i].Name] = i
		}
		byNode = make([][]*corev1.Pod, len(obs.Nodes))
	}
	lastNode, lastIdx, lastOK := "", 0, false
	for _, o := range list {
		p, ok := o.(*corev1.Pod)
		if !ok || terminal(p) {
			continue
		}
		if p.Spec.NodeName != "" {
			if !all {
				if c := ca.conv[p.UID]; c != nil {
					c.seen = seen // kept in the bound part
				}
				continue
			}
			if p.Spec.NodeName != lastNode {
				lastNode = p.Spec.NodeName
				lastIdx, lastOK = nodeIdx[lastNode]
			}
			if lastOK {
				byNode[lastIdx] = append(byNode[lastIdx], p)
			}
			continue
		}
		if p.DeletionTimestamp == nil && unschedulable(p) {
			pending = append(pending, p)
		}
	}
	if all {
		// Bound pods in node order (the observation's), by name within a
		// node: deterministic, and grouped as Step tallies them.
		obs.Pods = obs.Pods[:0]
		for i, ps := range byNode {
			slices.SortFunc(ps, func(a, b *corev1.Pod) int {
				if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
					return c
				}
				return strings.Compare(a.Name, b.Name)
			})
			for _, p := range ps {
				k := len(obs.Pods)
				obs.Pods = append(obs.Pods, simulate.Pod{})
				if !ca.convert(p, now, vol, seen, &obs.Pods[k]) {
					obs.Pods = obs.Pods[:k]
					obs.Nodes[i].ScaleDownDisabled = true
				}
			}
		}
		ca.nBound = len(obs.Pods)
	} else {
		obs.Pods = obs.Pods[:ca.nBound]
	}
	slices.SortFunc(pending, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	ca.base.unschedulable = ca.base.unschedulable[:0:0]
	for _, p := range pending {
		ca.base.unschedulable = append(ca.base.unschedulable, PodRef{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID)})
		k := len(obs.Pods)
		obs.Pods = append(obs.Pods, simulate.Pod{})
		if !ca.convert(p, now, vol, seen, &obs.Pods[k]) {
			obs.Pods = obs.Pods[:k]
		}
	}
	for uid, c := range ca.conv {
		if c.seen != seen {
			delete(ca.conv, uid)
		}
	}
}

// convert writes simulate.PodFromV1 of p to out, reusing the last
// conversion while p is unchanged; false when p does not convert.
func (ca *ClusterAutoscaler) convert(p *corev1.Pod, now time.Time, vol, seen int64, out *simulate.Pod) bool {
	c := ca.conv[p.UID]
	if c != nil && c.rv == p.ResourceVersion && p.DeletionTimestamp == nil && (c.vol == vol || !hasClaims(p)) {
		c.seen = seen
		*out = c.pod
		return !c.bad
	}
	sp, err := simulate.PodFromV1(p, simulate.ConvertOptions{Now: now, Volume: ca.volume})
	if err != nil {
		ca.log.Info("Pod left out of the simulation", "pod", p.Namespace+"/"+p.Name, "err", err)
	}
	if c == nil {
		c = &convPod{}
		ca.conv[p.UID] = c
	}
	*c = convPod{rv: p.ResourceVersion, vol: vol, seen: seen, pod: sp, bad: err != nil}
	*out = sp
	return err == nil
}

func hasClaims(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			return true
		}
	}
	return false
}

// volume resolves a claim to its bound volume through the informers.
func (ca *ClusterAutoscaler) volume(namespace, claim string) *corev1.PersistentVolume {
	pvc, err := ca.pvcs.PersistentVolumeClaims(namespace).Get(claim)
	if err != nil || pvc.Spec.VolumeName == "" {
		return nil
	}
	pv, err := ca.pvs.Get(pvc.Spec.VolumeName)
	if err != nil {
		return nil
	}
	return pv
}

// rise is w's next scheduled rise, if its schedule raises the replicas at
// its next transition (as rises() in simulate/cluster computes it).
func (ca *ClusterAutoscaler) rise(w *ScheduledWorkload, now time.Time) (autoscaler.Rise, bool, error) {
	var replicas int32 = 1
	var tmpl *corev1.PodTemplateSpec
	var owner, ownerName, uid string
	switch w.Kind {
	case "StatefulSet":
		s, err := ca.stsets.StatefulSets(w.Namespace).Get(w.Name)
		if err != nil {
			return autoscaler.Rise{}, false, err
		}
		if s.Spec.Replicas != nil {
			replicas = *s.Spec.Replicas
		}
		tmpl, owner, ownerName, uid = &s.Spec.Template, "StatefulSet", s.Name, string(s.UID)
	default:
		d, err := ca.deploys.Deployments(w.Namespace).Get(w.Name)
		if err != nil {
			return autoscaler.Rise{}, false, err
		}
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		tmpl, owner, ownerName, uid = &d.Spec.Template, "ReplicaSet", d.Name, string(d.UID)
	}
	if replicas < 0 {
		return autoscaler.Rise{}, false, fmt.Errorf("replicas %d is negative", replicas)
	}
	st := w.Schedule.At(now)
	if st.Next.IsZero() {
		return autoscaler.Rise{}, false, nil
	}
	d, err := schedule.Compose(replicas, w.Schedule.At(st.Next).Bounds, w.Policy)
	if err != nil {
		return autoscaler.Rise{}, false, err
	}
	if d.Replicas <= replicas {
		return autoscaler.Rise{}, false, nil
	}
	pod, err := simulate.PodFromV1(simulate.TemplatePod(tmpl, w.Namespace, w.Name, owner, ownerName, uid), simulate.ConvertOptions{Now: now, Volume: ca.volume})
	if err != nil {
		return autoscaler.Rise{}, false, err
	}
	return autoscaler.Rise{Workload: w.Namespace + "/" + w.Name, At: st.Next, Current: replicas, Replicas: d.Replicas,
		Pod: pod, StartUp: w.StartUp}, true, nil
}

// observeOthers converts the DaemonSets and PDBs (every scan: they are
// few).
func (ca *ClusterAutoscaler) observeOthers(now time.Time) error {
	obs := &ca.obs
	dss, err := ca.dsets.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("autoscale: list DaemonSets: %w", err)
	}
	slices.SortFunc(dss, func(a, b *appsDaemonSet) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	obs.DaemonSets = obs.DaemonSets[:0]
	for _, ds := range dss {
		p, err := simulate.DaemonSetPodFromV1(ds, simulate.ConvertOptions{Now: now, Volume: ca.volume})
		if err != nil {
			ca.log.Info("DaemonSet left out of the simulation", "daemonSet", ds.Namespace+"/"+ds.Name, "err", err)
			continue
		}
		obs.DaemonSets = append(obs.DaemonSets, p)
	}
	pdbs, err := ca.pdbs.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("autoscale: list PodDisruptionBudgets: %w", err)
	}
	slices.SortFunc(pdbs, func(a, b *policyPDB) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	obs.PDBs = obs.PDBs[:0]
	for _, b := range pdbs {
		p, err := simulate.PDBFromV1(b)
		if err != nil {
			return fmt.Errorf("autoscale: %w", err) // a PDB read wrong could let a node go: stop
		}
		obs.PDBs = append(obs.PDBs, p)
	}
	return nil
}

var everything = labels.Everything()

type (
	appsDaemonSet = appsv1.DaemonSet
	policyPDB     = policyv1.PodDisruptionBudget
)
