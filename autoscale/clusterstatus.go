package autoscale

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// The status ConfigMap as cluster-autoscaler (1.30 and later) writes it:
// its YAML document under the key "status", and the time of the write in
// an annotation. The types below give cluster-autoscaler's field names
// (clusterstate/api) so that tools reading its ConfigMap read ours.
const (
	// caStatusNamespace and caStatusConfigMap are where
	// cluster-autoscaler writes its status (the defaults).
	caStatusNamespace = "kube-system"
	caStatusConfigMap = "cluster-autoscaler-status"
	// caStatusKey is the data key holding the YAML status.
	caStatusKey = "status"
	// caAnnotationLastUpdated holds the time of the last write.
	caAnnotationLastUpdated = "cluster-autoscaler.kubernetes.io/last-updated"
	// caStatusTimeFormat is the format of the time field and annotation.
	caStatusTimeFormat = "2006-01-02 15:04:05.999999999 -0700 MST"
)

// Condition statuses, cluster-autoscaler's words.
const (
	caRunning           = "Running"
	caHealthy           = "Healthy"
	caUnhealthy         = "Unhealthy"
	caCandidatesPresent = "CandidatesPresent"
	caNoCandidates      = "NoCandidates"
	caInProgress        = "InProgress"
	caNoActivity        = "NoActivity"
	caBackoff           = "Backoff"
)

// cluster-autoscaler's health thresholds (--ok-total-unready-count,
// --max-total-unready-percentage): unready nodes above both make the
// cluster (or a group) unhealthy.
const (
	okTotalUnreadyCount       = 3
	maxTotalUnreadyPercentage = 45.0
)

type caStatus struct {
	Time             string            `json:"time,omitempty"`
	AutoscalerStatus string            `json:"autoscalerStatus,omitempty"`
	Message          string            `json:"message,omitempty"`
	ClusterWide      caClusterWide     `json:"clusterWide,omitempty"`
	NodeGroups       []caNodeGroupStat `json:"nodeGroups,omitempty"`
}

type caClusterWide struct {
	Health    caClusterHealth `json:"health,omitempty"`
	ScaleUp   caClusterUp     `json:"scaleUp,omitempty"`
	ScaleDown caScaleDown     `json:"scaleDown,omitempty"`
}

type caUnready struct {
	Total           int `json:"total"`
	ResourceUnready int `json:"resourceUnready"`
}

type caRegistered struct {
	Total        int       `json:"total"`
	Ready        int       `json:"ready"`
	NotStarted   int       `json:"notStarted"`
	BeingDeleted int       `json:"beingDeleted,omitempty"`
	Unready      caUnready `json:"unready,omitempty"`
}

type caNodeCount struct {
	Registered       caRegistered `json:"registered,omitempty"`
	LongUnregistered int          `json:"longUnregistered"`
	Unregistered     int          `json:"unregistered"`
}

type caClusterHealth struct {
	Status             string      `json:"status,omitempty"`
	NodeCounts         caNodeCount `json:"nodeCounts,omitempty"`
	LastProbeTime      metav1.Time `json:"lastProbeTime,omitempty"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

type caGroupHealth struct {
	Status              string      `json:"status,omitempty"`
	NodeCounts          caNodeCount `json:"nodeCounts,omitempty"`
	CloudProviderTarget int         `json:"cloudProviderTarget"`
	MinSize             int         `json:"minSize"`
	MaxSize             int         `json:"maxSize"`
	LastProbeTime       metav1.Time `json:"lastProbeTime,omitempty"`
	LastTransitionTime  metav1.Time `json:"lastTransitionTime,omitempty"`
}

type caClusterUp struct {
	Status             string      `json:"status,omitempty"`
	LastProbeTime      metav1.Time `json:"lastProbeTime,omitempty"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

type caBackoffInfo struct {
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
}

type caGroupUp struct {
	Status             string        `json:"status,omitempty"`
	BackoffInfo        caBackoffInfo `json:"backoffInfo,omitempty"`
	LastProbeTime      metav1.Time   `json:"lastProbeTime,omitempty"`
	LastTransitionTime metav1.Time   `json:"lastTransitionTime,omitempty"`
}

type caScaleDown struct {
	Status             string      `json:"status,omitempty"`
	Candidates         int         `json:"candidates,omitempty"`
	LastProbeTime      metav1.Time `json:"lastProbeTime,omitempty"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

type caNodeGroupStat struct {
	Name      string        `json:"name,omitempty"`
	Health    caGroupHealth `json:"health,omitempty"`
	ScaleUp   caGroupUp     `json:"scaleUp,omitempty"`
	ScaleDown caScaleDown   `json:"scaleDown,omitempty"`
}

// caNonNeg clamps a count the caller gave to [0, ∞).
func caNonNeg(n int) int { return max(n, 0) }

// caUnreadyOK is cluster-autoscaler's test: unhealthy only when the unready
// nodes exceed both okTotalUnreadyCount and maxTotalUnreadyPercentage of
// the nodes.
func caUnreadyOK(unready, total int) bool {
	return unready <= okTotalUnreadyCount || float64(unready) <= maxTotalUnreadyPercentage/100*float64(total)
}

// caUnreadyOK is cluster-autoscaler's node-group test: the nodes missing
// below the target, launches still on their way excepted, are
// "unjustified unready"; the group is unhealthy when they exceed both
// okTotalUnreadyCount and maxTotalUnreadyPercentage of its registered
// nodes. A group with no registered node is healthy only while nothing
// but launches on their way is missing.
func (g *caGroupView) caUnreadyOK() bool {
	expected := g.target - g.Upcoming
	if g.Registered == 0 {
		return expected <= 0
	}
	missing := max(expected-g.Ready, 0)
	return missing <= okTotalUnreadyCount || float64(missing) <= maxTotalUnreadyPercentage/100*float64(g.Registered)
}

// caGroupView is a group as the reporter reads it from one ScanResult, its
// inputs clamped.
type caGroupView struct {
	GroupStatus
	target     int // provider target after this scan's carried-out changes
	backoff    *simulate.BackoffEntry
	upInfos    []string // "{g from->to (max: n)}" of this scan's scale-up increases
	resized    []string // the status ConfigMap's ScaledUpGroup messages, every carried-out increase
	candidates int
}

// caGroupViews reads r's groups (first of each ID; empty IDs skipped) with
// clamped counts, backoff at r.Time and this scan's carried-out changes.
func caGroupViews(r *ScanResult, unneeded map[string]int) ([]caGroupView, map[string]int) {
	out := make([]caGroupView, 0, len(r.Groups))
	idx := make(map[string]int, len(r.Groups))
	for _, g := range r.Groups {
		if g.ID == "" {
			continue
		}
		if _, dup := idx[g.ID]; dup {
			continue
		}
		g.Min, g.Max, g.Target = caNonNeg(g.Min), caNonNeg(g.Max), caNonNeg(g.Target)
		g.Registered, g.Upcoming = caNonNeg(g.Registered), caNonNeg(g.Upcoming)
		g.Ready = min(caNonNeg(g.Ready), g.Registered)
		v := caGroupView{GroupStatus: g, target: g.Target, candidates: caNonNeg(unneeded[g.ID])}
		if e, ok := r.Backoff.Groups[g.ID]; ok && r.Time.Before(e.Until) {
			e := e
			v.backoff = &e
		}
		idx[g.ID] = len(out)
		out = append(out, v)
	}
	for i, c := range r.Cancels {
		if i >= len(r.Actions.Cancels) || c.Err != "" {
			continue
		}
		a := r.Actions.Cancels[i]
		if j, ok := idx[a.Group]; ok && a.Delta > 0 {
			out[j].target = max(out[j].target-a.Delta, 0)
		}
	}
	for i, o := range r.Increases {
		if i >= len(r.Actions.Increases) || o.Err != "" {
			continue
		}
		a := r.Actions.Increases[i]
		j, ok := idx[a.Group]
		if !ok || a.Delta <= 0 {
			continue
		}
		from := out[j].target
		out[j].target = caSatAdd(from, a.Delta)
		out[j].resized = append(out[j].resized, fmt.Sprintf("Scale-up: group %s size set to %d instead of %d (max: %d)", a.Group, out[j].target, from, out[j].Max))
		if a.Reason == autoscaler.ReasonScaleUp {
			out[j].upInfos = append(out[j].upInfos, fmt.Sprintf("{%s %d->%d (max: %d)}", a.Group, from, out[j].target, out[j].Max))
		}
	}
	return out, idx
}

func caSatAdd(a, b int) int {
	if b > 0 && a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// caBackoffFor gives a backed-off group's error as cluster-autoscaler
// names it: "timeout" for launches not registered in time, the loop's
// reason otherwise.
func caBackoffFor(group string, e *simulate.BackoffEntry) caBackoffInfo {
	code := e.Reason
	switch e.Reason {
	case autoscaler.ReasonMaxNodeProvisionTime:
		code = "timeout"
	case "":
		code = "unknown"
	}
	msg := fmt.Sprintf("node group %s backed off for %s until %s", group, e.Duration, e.Until.UTC().Format(time.RFC3339))
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return caBackoffInfo{ErrorCode: clipEventMessage(code), ErrorMessage: clipEventMessage(msg)}
}

// buildCAStatus builds the status of r, keeping prev's transition times for
// conditions whose status did not change.
func buildCAStatus(r *ScanResult, groups []caGroupView, unneededTotal int, prev *caStatus) *caStatus {
	now := metav1.NewTime(r.Time.UTC().Truncate(time.Second))
	st := &caStatus{Time: r.Time.Format(caStatusTimeFormat), AutoscalerStatus: caRunning}
	if r.Err != "" {
		st.Message = "last scan failed: " + r.Err
	}
	nodes := caNonNeg(r.Nodes)
	ready := min(caNonNeg(r.ReadyNodes), nodes)
	upcoming, inProgress := 0, false
	for _, g := range groups {
		upcoming = caSatAdd(upcoming, g.Upcoming)
		inProgress = inProgress || g.Upcoming > 0
	}
	cw := &st.ClusterWide
	cw.Health = caClusterHealth{Status: caHealthy, LastProbeTime: now, LastTransitionTime: now,
		NodeCounts: caNodeCount{Registered: caRegistered{Total: nodes, Ready: ready, Unready: caUnready{Total: nodes - ready}}, Unregistered: upcoming}}
	if !caUnreadyOK(nodes-ready, nodes) {
		cw.Health.Status = caUnhealthy
	}
	cw.ScaleUp = caClusterUp{Status: caNoActivity, LastProbeTime: now, LastTransitionTime: now}
	if inProgress {
		cw.ScaleUp.Status = caInProgress
	}
	cw.ScaleDown = caScaleDownCond(unneededTotal, now)
	var pg map[string]*caNodeGroupStat
	if prev != nil {
		caKeepTransition(&cw.Health.LastTransitionTime, prev.ClusterWide.Health.Status, cw.Health.Status, prev.ClusterWide.Health.LastTransitionTime)
		caKeepTransition(&cw.ScaleUp.LastTransitionTime, prev.ClusterWide.ScaleUp.Status, cw.ScaleUp.Status, prev.ClusterWide.ScaleUp.LastTransitionTime)
		caKeepTransition(&cw.ScaleDown.LastTransitionTime, prev.ClusterWide.ScaleDown.Status, cw.ScaleDown.Status, prev.ClusterWide.ScaleDown.LastTransitionTime)
		pg = make(map[string]*caNodeGroupStat, len(prev.NodeGroups))
		for i := range prev.NodeGroups {
			pg[prev.NodeGroups[i].Name] = &prev.NodeGroups[i]
		}
	}
	st.NodeGroups = make([]caNodeGroupStat, 0, len(groups))
	for _, g := range groups {
		ns := caNodeGroupStat{Name: g.ID}
		unready := g.Registered - g.Ready
		ns.Health = caGroupHealth{Status: caHealthy, CloudProviderTarget: g.Target, MinSize: g.Min, MaxSize: g.Max,
			NodeCounts: caNodeCount{Registered: caRegistered{Total: g.Registered, Ready: g.Ready, Unready: caUnready{Total: unready}},
				Unregistered: g.Upcoming},
			LastProbeTime: now, LastTransitionTime: now}
		groupOK := g.caUnreadyOK()
		if !groupOK {
			ns.Health.Status = caUnhealthy
		}
		// cluster-autoscaler's order: a scale-up in progress, else an
		// unhealthy group, else a backoff (with its error), else none.
		ns.ScaleUp = caGroupUp{Status: caNoActivity, LastProbeTime: now, LastTransitionTime: now}
		switch {
		case g.Upcoming > 0:
			ns.ScaleUp.Status = caInProgress
		case !groupOK:
			ns.ScaleUp.Status = caUnhealthy
		case g.backoff != nil:
			ns.ScaleUp.Status = caBackoff
			ns.ScaleUp.BackoffInfo = caBackoffFor(g.ID, g.backoff)
		}
		ns.ScaleDown = caScaleDownCond(g.candidates, now)
		if p := pg[g.ID]; p != nil {
			caKeepTransition(&ns.Health.LastTransitionTime, p.Health.Status, ns.Health.Status, p.Health.LastTransitionTime)
			caKeepTransition(&ns.ScaleUp.LastTransitionTime, p.ScaleUp.Status, ns.ScaleUp.Status, p.ScaleUp.LastTransitionTime)
			caKeepTransition(&ns.ScaleDown.LastTransitionTime, p.ScaleDown.Status, ns.ScaleDown.Status, p.ScaleDown.LastTransitionTime)
		}
		st.NodeGroups = append(st.NodeGroups, ns)
	}
	return st
}

func caScaleDownCond(candidates int, now metav1.Time) caScaleDown {
	c := caScaleDown{Status: caNoCandidates, Candidates: candidates, LastProbeTime: now, LastTransitionTime: now}
	if candidates > 0 {
		c.Status = caCandidatesPresent
	}
	return c
}

// caKeepTransition sets *t to the previous transition time when the status is the
// previous one.
func caKeepTransition(t *metav1.Time, prevStatus, status string, prevT metav1.Time) {
	if prevStatus == status && !prevT.IsZero() {
		*t = prevT
	}
}

// notTriggeredMessage words a pending pod's per-group reasons as
// cluster-autoscaler does: "<groups> <reason>" per distinct reason
// (sorted here, for stable Events), the reason no group was tried last.
func notTriggeredMessage(reasons map[string]string) string {
	count := map[string]int{}
	var none string
	for g, why := range reasons {
		if g == "" {
			none = why
			continue
		}
		count[why]++
	}
	parts := make([]string, 0, len(count)+1)
	for why, n := range count {
		parts = append(parts, fmt.Sprintf("%d %s", n, why))
	}
	slices.Sort(parts)
	if none != "" {
		parts = append(parts, none)
	}
	if len(parts) == 0 {
		return "pod didn't trigger scale-up"
	}
	return "pod didn't trigger scale-up: " + strings.Join(parts, ", ")
}
