package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/kscale/kscale/simulate/autoscaler"
)

// maxPodEventsPerScan bounds the pod Events of one kind (TriggeredScaleUp,
// NotTriggerScaleUp) one scan records; the others are counted in
// kscale_cluster_autoscaler_events_dropped_total. cluster-autoscaler
// records one per pod and leaves the flood to the EventRecorder's spam
// filter; kscale caps it so that a burst of thousands of pending pods
// costs a bounded number of API writes per scan.
const maxPodEventsPerScan = 100

// maxEventMessageLen is the API server's limit on an Event's message.
const maxEventMessageLen = 1024

// Event texts, cluster-autoscaler's.
const (
	msgNodeRemoved       = "nodes removed by cluster autoscaler"
	msgDrainFailed       = "failed to drain and delete node: %s"
	msgEmptyDeleteFailed = "failed to delete empty node: %s"
	msgPodEvicted        = "deleting pod for node scale down"
)

// clusterReporter makes a ClusterAutoscaler visible as cluster-autoscaler
// is: the status ConfigMap, Events on pods and nodes, Prometheus metrics.
// Safe for concurrent use (drains report evictions from their goroutines).
type clusterReporter struct {
	kube      kubernetes.Interface
	rec       *recorder
	log       logr.Logger
	namespace string // status ConfigMap namespace
	name      string // status ConfigMap name
	m         *caMetrics

	mu       sync.Mutex
	last     *caStatus       // the last status built, for transition times
	groups   map[string]bool // groups with per-group series
	unneeded map[string]int  // nodes unneeded per group, from setUnneeded
	// statusRef is the status ConfigMap last written, the object of the
	// ScaledUpGroup/ScaleDown log Events.
	statusRef *corev1.ObjectReference
	// unneededSet: setUnneeded was called; otherwise the nodes chosen for
	// removal stand for the candidates.
	unneededSet bool
}

// newClusterReporter registers the metrics on reg (nil: none).
func newClusterReporter(kube kubernetes.Interface, rec *recorder, reg prometheus.Registerer, log logr.Logger, namespace, name string) (*clusterReporter, error) {
	if namespace == "" {
		namespace = caStatusNamespace
	}
	if name == "" {
		name = caStatusConfigMap
	}
	if rec == nil {
		rec = &recorder{}
	}
	c := &clusterReporter{kube: kube, rec: rec, log: log, namespace: namespace, name: name, groups: map[string]bool{}}
	if reg != nil {
		m, err := newCAMetrics(reg)
		if err != nil {
			return nil, fmt.Errorf("cluster autoscaler metrics: %w", err)
		}
		c.m = m
	}
	return c, nil
}

// setUnneeded gives the nodes the loop holds unneeded, per group
// (autoscaler.State.Unneeded), for the scale-down candidates of the next
// publish and cluster_autoscaler_unneeded_nodes_count. Without it the
// nodes a scan chose for removal stand for the candidates.
func (c *clusterReporter) setUnneeded(byGroup map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unneeded = make(map[string]int, len(byGroup))
	for g, n := range byGroup {
		c.unneeded[g] = caNonNeg(n)
	}
	c.unneededSet = true
}

// publish reports one scan: metrics, pod Events (TriggeredScaleUp,
// NotTriggerScaleUp), node Events for r.Finished, and (unless r.DryRun)
// the status ConfigMap.
func (c *clusterReporter) publish(ctx context.Context, r *ScanResult) {
	if c == nil || r == nil {
		return
	}
	c.mu.Lock()
	unneeded := c.unneeded
	if !c.unneededSet {
		unneeded = map[string]int{}
		for _, d := range r.Actions.Deletes {
			unneeded[d.Group]++
		}
	}
	groups, _ := caGroupViews(r, unneeded)
	total := 0
	for _, n := range unneeded {
		total = caSatAdd(total, caNonNeg(n))
	}
	st := buildCAStatus(r, groups, total, c.last)
	if !r.DryRun {
		c.last = st
	}
	c.metricsLocked(r, groups, total)
	c.mu.Unlock()

	if r.DryRun {
		return
	}
	c.podEvents(r, groups)
	c.finishedEvents(r)
	cm, err := c.writeStatus(ctx, st)
	if err != nil {
		c.log.Error(err, "writing the status ConfigMap", "namespace", c.namespace, "name", c.name)
		if c.m != nil {
			c.m.statusErrors.Inc()
		}
	}
	c.statusEvents(r, groups, cm)
}

// statusEvents records, as cluster-autoscaler's log recorder does, the
// scan's resizes and removals on the status ConfigMap (the one just
// written, else the last one written; none before a first write).
func (c *clusterReporter) statusEvents(r *ScanResult, groups []caGroupView, cm *corev1.ConfigMap) {
	c.mu.Lock()
	if cm != nil {
		c.statusRef = &corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: cm.Namespace, Name: cm.Name,
			UID: cm.UID, ResourceVersion: cm.ResourceVersion}
	}
	ref := c.statusRef
	c.mu.Unlock()
	rec := c.rec.get()
	if ref == nil || rec == nil {
		return
	}
	for _, g := range groups {
		for _, msg := range g.resized {
			rec.Event(ref, corev1.EventTypeNormal, "ScaledUpGroup", clipEventMessage(msg))
		}
	}
	for i, o := range r.Increases {
		if i < len(r.Actions.Increases) && o.Err != "" {
			rec.Event(ref, corev1.EventTypeWarning, "FailedToScaleUpGroup",
				clipEventMessage(fmt.Sprintf("Scale-up failed for group %s: %s", r.Actions.Increases[i].Group, o.Err)))
		}
	}
	for _, f := range r.Finished {
		switch {
		case f.Node == "" || f.Err != "":
		case f.Empty:
			rec.Event(ref, corev1.EventTypeNormal, "ScaleDownEmpty", clipEventMessage(fmt.Sprintf("Scale-down: empty node %s removed", f.Node)))
		default:
			rec.Event(ref, corev1.EventTypeNormal, autoscaler.ReasonScaleDown, clipEventMessage(fmt.Sprintf("Scale-down: node %s removed with drain", f.Node)))
		}
	}
}

// podEvents records TriggeredScaleUp on the unschedulable pods this scan's
// scale-up is for, and, in a scan that attempted no scale-up,
// NotTriggerScaleUp on the pods the loop explained (cluster-autoscaler
// skips the latter in a loop whose scale-up succeeded or failed).
func (c *clusterReporter) podEvents(r *ScanResult, groups []caGroupView) {
	rec := c.rec.get()
	var infos []string
	for _, g := range groups {
		infos = append(infos, g.upInfos...)
	}
	pending := make(map[string]bool, len(r.Actions.Pending))
	for _, p := range r.Actions.Pending {
		pending[p.Pod] = true
	}
	attempted := false
	for _, a := range r.Actions.Increases {
		attempted = attempted || a.Reason == autoscaler.ReasonScaleUp
	}
	dropped := 0
	switch {
	case len(infos) > 0:
		// The increases name how many pending pods they are for; the
		// unschedulable pods the loop did not explain are those.
		want := 0
		for i, o := range r.Increases {
			if i < len(r.Actions.Increases) && o.Err == "" && r.Actions.Increases[i].Reason == autoscaler.ReasonScaleUp {
				want = caSatAdd(want, caNonNeg(r.Actions.Increases[i].Pods))
			}
		}
		msg := "pod triggered scale-up: [" + strings.Join(infos, " ") + "]"
		sent := 0
		for _, p := range r.Unschedulable {
			if sent >= want {
				break
			}
			if p.Name == "" || pending[p.Namespace+"/"+p.Name] {
				continue
			}
			sent++
			if sent > maxPodEventsPerScan {
				dropped++
				continue
			}
			if rec != nil {
				rec.Event(podEventRef(p), corev1.EventTypeNormal, autoscaler.ReasonScaleUp, clipEventMessage(msg))
			}
		}
	case !attempted:
		byKey := make(map[string]PodRef, len(r.Unschedulable))
		for _, p := range r.Unschedulable {
			byKey[p.Namespace+"/"+p.Name] = p
		}
		sent := 0
		for _, pe := range r.Actions.Pending {
			ref, ok := byKey[pe.Pod]
			if !ok {
				ns, name, cut := strings.Cut(pe.Pod, "/")
				if !cut || name == "" {
					continue
				}
				ref = PodRef{Namespace: ns, Name: name}
			}
			sent++
			if sent > maxPodEventsPerScan {
				dropped++
				continue
			}
			if rec != nil {
				rec.Event(podEventRef(ref), corev1.EventTypeNormal, autoscaler.ReasonNotTriggerScaleUp, clipEventMessage(notTriggeredMessage(pe.Reasons)))
			}
		}
	}
	if dropped > 0 && c.m != nil {
		c.m.eventsDropped.Add(float64(dropped))
	}
}

// finishedEvents records ScaleDown or ScaleDownFailed on the nodes whose
// removal ended.
func (c *clusterReporter) finishedEvents(r *ScanResult) {
	rec := c.rec.get()
	if rec == nil {
		return
	}
	for _, f := range r.Finished {
		if f.Node == "" {
			continue
		}
		ref := nodeEventRef(f.Node)
		switch {
		case f.Err == "":
			rec.Event(ref, corev1.EventTypeNormal, autoscaler.ReasonScaleDown, msgNodeRemoved)
		case f.Empty:
			rec.Event(ref, corev1.EventTypeWarning, "ScaleDownFailed", clipEventMessage(fmt.Sprintf(msgEmptyDeleteFailed, f.Err)))
		default:
			rec.Event(ref, corev1.EventTypeWarning, "ScaleDownFailed", clipEventMessage(fmt.Sprintf(msgDrainFailed, f.Err)))
		}
	}
}

// nodeEvent records an Event on a node as cluster-autoscaler does
// (ScaleDown when a node is tainted for removal, ScaleDownFailed).
func (c *clusterReporter) nodeEvent(n *corev1.Node, typ, reason, msg string) {
	if c == nil || n == nil {
		return
	}
	if rec := c.rec.get(); rec != nil {
		rec.Event(n, typ, reason, clipEventMessage(msg))
	}
}

// podEvicted records the ScaleDown Event on a pod evicted for a node's
// removal and counts it.
func (c *clusterReporter) podEvicted(p *corev1.Pod, node string) {
	if c == nil {
		return
	}
	if c.m != nil {
		c.m.evicted.WithLabelValues("succeeded").Inc()
	}
	if p == nil {
		return
	}
	if rec := c.rec.get(); rec != nil {
		rec.Event(p, corev1.EventTypeNormal, autoscaler.ReasonScaleDown, msgPodEvicted)
	}
}

// writeStatus creates or updates the status ConfigMap (other keys and
// annotations of an existing one are kept), retrying on conflicts.
func (c *clusterReporter) writeStatus(ctx context.Context, st *caStatus) (*corev1.ConfigMap, error) {
	if c.kube == nil {
		return nil, errors.New("no Kubernetes client")
	}
	body, err := yaml.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("marshal status: %w", err)
	}
	stamp := st.Time
	maps := c.kube.CoreV1().ConfigMaps(c.namespace)
	var written *corev1.ConfigMap
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := maps.Get(ctx, c.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: c.name,
					Annotations: map[string]string{caAnnotationLastUpdated: stamp}},
				Data: map[string]string{caStatusKey: string(body)},
			}
			written, err = maps.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Created meanwhile: retry as an update.
				return apierrors.NewConflict(corev1.Resource("configmaps"), c.name, err)
			}
			if err != nil {
				return fmt.Errorf("create ConfigMap %s/%s: %w", c.namespace, c.name, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("get ConfigMap %s/%s: %w", c.namespace, c.name, err)
		}
		cm = cm.DeepCopy()
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Data[caStatusKey] = string(body)
		cm.Annotations[caAnnotationLastUpdated] = stamp
		written, err = maps.Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("update ConfigMap %s/%s: %w", c.namespace, c.name, err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}

func podEventRef(p PodRef) runtime.Object {
	return &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: p.Namespace, Name: p.Name, UID: types.UID(p.UID)}
}

// nodeEventRef refers to a node by name; a node's Events carry its name as UID
// (as the kubelet's do), so they group with the node's own.
func nodeEventRef(name string) runtime.Object {
	return &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: name, UID: types.UID(name)}
}

// clipEventMessage shortens msg to the API server's limit on a valid UTF-8 boundary.
func clipEventMessage(msg string) string {
	if len(msg) <= maxEventMessageLen {
		return msg
	}
	cut := maxEventMessageLen - len("...")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "..."
}
