package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/nodegroup"
)

// Result is a run's output: the summary and the time series.
type Result struct {
	Scenario string    `json:"scenario"`
	Start    time.Time `json:"start"`
	Duration Duration  `json:"duration"`
	Summary  Summary   `json:"summary"`
	Series   Series    `json:"series"`

	scenario *Scenario // as run, for WriteHTML
}

// Summary totals a run.
type Summary struct {
	// NodeHours and Cost count every instance from its launch to its
	// deletion (what the cloud bills); PeakNodes counts registered nodes.
	NodeHours float64 `json:"nodeHours"`
	Cost      float64 `json:"cost"`
	// PendingPodSeconds sums, over time, the pods not yet bound to a node;
	// MaxPendingPods is the largest number at once.
	PendingPodSeconds float64 `json:"pendingPodSeconds"`
	MaxPendingPods    int     `json:"maxPendingPods"`
	// MeanPodWait is the seconds from a pod's creation to its binding, over
	// the pods bound during the run; MaxPodWait is the longest wait,
	// counting the pods still pending at the end (to the end).
	MeanPodWait float64 `json:"meanPodWait"`
	MaxPodWait  int64   `json:"maxPodWait"`
	// PendingUnderLoadSeconds counts only the pod-seconds pending while
	// their workload was above its target: pods the traffic was waiting
	// for (pre-scaled pods waiting for nodes before a peak do not count).
	PendingUnderLoadSeconds float64 `json:"pendingUnderLoadSeconds"`
	// AboveTargetSeconds sums, over workloads with a CPU utilization
	// target, the time their ready pods' mean utilization was above the
	// target by more than the HPA's tolerance (the HPA acts on nothing
	// less); for an HPA without one, the time some metric asked for more
	// replicas than the workload had.
	AboveTargetSeconds float64 `json:"aboveTargetSeconds"`
	// ScaleEvents: workload resizes and node-group resizes (increases and
	// node deletions).
	WorkloadScaleEvents int `json:"workloadScaleEvents"`
	NodeScaleUps        int `json:"nodeScaleUps"`
	NodeScaleDowns      int `json:"nodeScaleDowns"`
	FailedLaunches      int `json:"failedLaunches"`
	PeakNodes           int `json:"peakNodes"`
	PeakReplicas        int `json:"peakReplicas"`

	Workloads []WorkloadSummary `json:"workloads"`
	Groups    []GroupSummary    `json:"groups"`
	// PreProvision is set when clusterAutoscaler.preProvision is on.
	PreProvision *PreProvisionSummary `json:"preProvision,omitempty"`
}

// WorkloadSummary is one workload's totals.
type WorkloadSummary struct {
	Name                    string  `json:"name"`
	PeakReplicas            int32   `json:"peakReplicas"`
	PendingPodSeconds       float64 `json:"pendingPodSeconds"`
	PendingUnderLoadSeconds float64 `json:"pendingUnderLoadSeconds"`
	AboveTargetSeconds      float64 `json:"aboveTargetSeconds"`
	ScaleEvents             int     `json:"scaleEvents"`
	// MaxPodWait is the longest a pod waited for a node, seconds, counting
	// the pods still pending at the end; PendingAtEnd counts those.
	MaxPodWait   int64 `json:"maxPodWait"`
	PendingAtEnd int   `json:"pendingAtEnd,omitempty"`
	// Unschedulable says why the workload's pods fit no node group (empty
	// when some group fits them).
	Unschedulable string `json:"unschedulable,omitempty"`
	// HPAIssues are the times its HPA could not act, or acted without some
	// metric, grouped by reason.
	HPAIssues []HPAIssue `json:"hpaIssues,omitempty"`
}

// HPAIssue is one reason an HPA could not act (or lost a metric), with
// upstream's condition reason and the first message.
type HPAIssue struct {
	// Reason is the ScalingActive=False reason (FailedGetResourceMetric,
	// FailedGetPodsMetric, ..., ScalingDisabled) or EvaluateFailed.
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Blocked is true when the HPA made no decision (every metric failed,
	// or a failed metric during a would-be scale-down); false when it
	// scaled on its other metrics.
	Blocked bool `json:"blocked"`
	// Syncs counts the HPA syncs it happened in; First and Last are their
	// offsets from the start, in seconds.
	Syncs int   `json:"syncs"`
	First int64 `json:"first"`
	Last  int64 `json:"last"`
}

// GroupSummary is one node group's totals.
type GroupSummary struct {
	Name           string  `json:"name"`
	NodeHours      float64 `json:"nodeHours"`
	Cost           float64 `json:"cost"`
	PeakNodes      int     `json:"peakNodes"`
	ScaleUps       int     `json:"scaleUps"`
	ScaleDowns     int     `json:"scaleDowns"`
	FailedLaunches int     `json:"failedLaunches"`
}

// Series are sampled every Scenario.Sample; T holds the offsets in seconds.
type Series struct {
	T []int64 `json:"t"`
	// Cluster totals.
	Desired []int32 `json:"desired"`
	Ready   []int32 `json:"ready"`
	Pending []int32 `json:"pending"`
	Nodes   []int32 `json:"nodes"`

	Workloads []WorkloadSeries `json:"workloads"`
	Groups    []GroupSeries    `json:"groups"`
}

// WorkloadSeries is one workload over time.
type WorkloadSeries struct {
	Name    string    `json:"name"`
	Load    []float64 `json:"load"`
	Desired []int32   `json:"desired"`
	Ready   []int32   `json:"ready"`
	Pending []int32   `json:"pending"`
	// Utilization is the ready pods' mean CPU utilization, percent.
	Utilization []float64 `json:"utilization"`
	// Memory is the ready pods' mean memory use, MiB, when the service
	// models memory or the HPA reads it.
	Memory []float64 `json:"memory,omitempty"`
	// RPSPerPod is the Pods metric requests_per_second (each ready pod's
	// share of the load) when the HPA reads it.
	RPSPerPod []float64 `json:"rpsPerPod,omitempty"`
	// Queue is the queue_length when the service has a queue.
	Queue []float64 `json:"queue,omitempty"`
}

// GroupSeries is one node group over time: registered (ready) nodes and
// its target (ready plus launching).
type GroupSeries struct {
	Name   string  `json:"name"`
	Ready  []int32 `json:"ready"`
	Target []int32 `json:"target"`
}

func (s *sim) initSeries() {
	n := int(EstimateOutput(s.sc, s.opts).Samples)
	for _, w := range s.wls {
		ws := WorkloadSeries{Name: w.spec.Name}
		for _, c := range workloadColumns(w.spec) {
			switch c {
			case "memory":
				ws.Memory = make([]float64, 0, n)
			case "rpsPerPod":
				ws.RPSPerPod = make([]float64, 0, n)
			case "queue":
				ws.Queue = make([]float64, 0, n)
			}
		}
		s.res.Series.Workloads = append(s.res.Series.Workloads, ws)
	}
	for _, g := range s.groups {
		s.res.Series.Groups = append(s.res.Series.Groups, GroupSeries{Name: g.spec.Name})
	}
}

// record appends one sample.
func (s *sim) record() {
	se := &s.res.Series
	se.T = append(se.T, s.now)
	var desired, ready, nodes int32
	for i, w := range s.wls {
		ws := &se.Workloads[i]
		r := int32(w.nready)
		load := w.spec.Load.Rate(s.sc.Start, time.Duration(s.now)*time.Second)
		ws.Load = append(ws.Load, round(load, 3))
		if ws.Memory != nil {
			ws.Memory = append(ws.Memory, round(s.meanMemory(w, load), 1))
		}
		if ws.RPSPerPod != nil {
			ws.RPSPerPod = append(ws.RPSPerPod, round(rpsShare(load, w.nready), 3))
		}
		if ws.Queue != nil {
			ws.Queue = append(ws.Queue, round(w.queue, 1))
		}
		ws.Desired = append(ws.Desired, w.replicas)
		ws.Ready = append(ws.Ready, r)
		ws.Pending = append(ws.Pending, int32(w.npend))
		ws.Utilization = append(ws.Utilization, round(w.util, 1))
		desired += w.replicas
		ready += r
	}
	for i, g := range s.groups {
		gs := &se.Groups[i]
		gs.Ready = append(gs.Ready, int32(g.nodeCount))
		gs.Target = append(gs.Target, int32(g.target))
		nodes += int32(g.nodeCount)
	}
	se.Desired = append(se.Desired, desired)
	se.Ready = append(se.Ready, ready)
	se.Pending = append(se.Pending, int32(s.pending))
	se.Nodes = append(se.Nodes, nodes)
	s.maxPend = max(s.maxPend, s.pending)
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func (s *sim) summarize() {
	sum := &s.res.Summary
	for _, w := range s.wls {
		// Pods still pending at the end have waited too.
		for _, p := range w.pods {
			if p.bound < 0 {
				w.maxWait = max(w.maxWait, s.total-p.created)
				s.waitMax = max(s.waitMax, s.total-p.created)
			}
		}
		if w.hot && s.total > w.lastUtil {
			w.above += float64(s.total - w.lastUtil)
		}
		sum.Workloads = append(sum.Workloads, WorkloadSummary{Name: w.spec.Name, PeakReplicas: max(w.peak, w.spec.Replicas),
			PendingPodSeconds: w.pendingSec, PendingUnderLoadSeconds: w.pendingHot, AboveTargetSeconds: w.above, ScaleEvents: w.rescales,
			MaxPodWait: w.maxWait, PendingAtEnd: w.npend, Unschedulable: s.unschedulable(w)})
		for _, is := range w.issues {
			sum.Workloads[len(sum.Workloads)-1].HPAIssues = append(sum.Workloads[len(sum.Workloads)-1].HPAIssues, *is)
		}
		sum.PendingUnderLoadSeconds += w.pendingHot
		sum.AboveTargetSeconds += w.above
		sum.WorkloadScaleEvents += w.rescales
	}
	for i, g := range s.groups {
		peak := 0
		for _, v := range s.res.Series.Groups[i].Ready {
			peak = max(peak, int(v))
		}
		gs := GroupSummary{Name: g.spec.Name, NodeHours: round(g.nodeSec/3600, 3), PeakNodes: peak,
			ScaleUps: g.scaleUps, ScaleDowns: g.downs, FailedLaunches: g.failed}
		gs.Cost = round(gs.NodeHours*g.spec.PricePerHour, 4)
		sum.Groups = append(sum.Groups, gs)
		sum.NodeHours += gs.NodeHours
		sum.Cost += gs.Cost
		sum.NodeScaleUps += g.scaleUps
		sum.NodeScaleDowns += g.downs
		sum.FailedLaunches += g.failed
	}
	sum.NodeHours, sum.Cost = round(sum.NodeHours, 3), round(sum.Cost, 4)
	if s.pre != nil {
		p := *s.pre
		p.EarlyNodeHours, p.EarlyCost = round(p.EarlyNodeHours, 3), round(p.EarlyCost, 4)
		sum.PreProvision = &p
	}
	sum.PendingPodSeconds = s.pendSec
	sum.MaxPendingPods = s.maxPend
	if s.waits > 0 {
		sum.MeanPodWait = round(s.waitSum/float64(s.waits), 1)
	}
	sum.MaxPodWait = s.waitMax
	for _, v := range s.res.Series.Nodes {
		sum.PeakNodes = max(sum.PeakNodes, int(v))
	}
	for _, v := range s.res.Series.Desired {
		sum.PeakReplicas = max(sum.PeakReplicas, int(v))
	}
}

// check verifies the invariants.
func (s *sim) check() error {
	var errs []error
	pending := 0
	onNode := map[*pod]*node{}
	for _, n := range s.nodes {
		var cpu, mem int64
		for _, p := range n.pods {
			cpu += p.w.cpu
			mem += p.w.mem
			onNode[p] = n
		}
		if cpu != n.ucpu || mem != n.umem {
			errs = append(errs, fmt.Errorf("node %s: usage %d/%d, its pods request %d/%d", n.name, n.ucpu, n.umem, cpu, mem))
		}
		if n.ucpu > n.cpu || n.umem > n.mem || int64(len(n.pods)) > n.maxPod {
			errs = append(errs, fmt.Errorf("node %s is over-committed", n.name))
		}
	}
	for _, w := range s.wls {
		if int32(len(w.pods)) != w.replicas {
			errs = append(errs, fmt.Errorf("workload %s: %d pods for %d replicas", w.spec.Name, len(w.pods), w.replicas))
		}
		np := 0
		for _, p := range w.pods {
			switch {
			case p.bound < 0:
				np++
				if p.node != nil {
					errs = append(errs, fmt.Errorf("pod %s pending but on a node", p.name))
				}
			case onNode[p] != p.node || p.node == nil:
				errs = append(errs, fmt.Errorf("pod %s bound to a node that does not hold it", p.name))
			}
		}
		if np != w.npend {
			errs = append(errs, fmt.Errorf("workload %s: %d pending, counted %d", w.spec.Name, np, w.npend))
		}
		pending += np
	}
	if pending != s.pending {
		errs = append(errs, fmt.Errorf("%d pending pods, counted %d", pending, s.pending))
	}
	for _, g := range s.groups {
		insts, _ := g.ng.Nodes(context.Background())
		target, _ := g.ng.TargetSize(context.Background())
		running := map[string]bool{}
		for _, in := range insts {
			if in.State == nodegroup.InstanceRunning {
				running[in.ProviderID] = true
			}
		}
		if target != g.target || len(insts) != target {
			errs = append(errs, fmt.Errorf("group %s: target %d, provider %d with %d instances", g.spec.Name, g.target, target, len(insts)))
		}
		n := 0
		for _, nd := range s.nodes {
			if nd.g == g {
				n++
				if !running[nd.providerID] {
					errs = append(errs, fmt.Errorf("node %s has no running instance", nd.name))
				}
			}
		}
		if n != g.nodeCount {
			errs = append(errs, fmt.Errorf("group %s: %d nodes listed, counted %d", g.spec.Name, n, g.nodeCount))
		}
	}
	return errors.Join(errs...)
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes the series, one row per sample: the cluster totals, then
// each group's ready nodes and each workload's desired, ready, pending and
// utilization.
func (r *Result) WriteCSV(w io.Writer) error {
	se := &r.Series
	b := bufio.NewWriterSize(w, 64<<10) // streamed: the series may be long
	b.WriteString("t_seconds,desired,ready,pending,nodes")
	for _, g := range se.Groups {
		fmt.Fprintf(b, ",%s_nodes,%s_target", g.Name, g.Name)
	}
	for _, wl := range se.Workloads {
		fmt.Fprintf(b, ",%s_load,%s_desired,%s_ready,%s_pending,%s_utilization", wl.Name, wl.Name, wl.Name, wl.Name, wl.Name)
		if wl.Memory != nil {
			fmt.Fprintf(b, ",%s_memory_mib", wl.Name)
		}
		if wl.RPSPerPod != nil {
			fmt.Fprintf(b, ",%s_rps_per_pod", wl.Name)
		}
		if wl.Queue != nil {
			fmt.Fprintf(b, ",%s_queue", wl.Name)
		}
	}
	b.WriteByte('\n')
	for i, t := range se.T {
		b.WriteString(strconv.FormatInt(t, 10))
		for _, v := range []int32{se.Desired[i], se.Ready[i], se.Pending[i], se.Nodes[i]} {
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(int(v)))
		}
		for _, g := range se.Groups {
			fmt.Fprintf(b, ",%d,%d", g.Ready[i], g.Target[i])
		}
		for _, wl := range se.Workloads {
			fmt.Fprintf(b, ",%g,%d,%d,%d,%g", wl.Load[i], wl.Desired[i], wl.Ready[i], wl.Pending[i], wl.Utilization[i])
			for _, col := range [][]float64{wl.Memory, wl.RPSPerPod, wl.Queue} {
				if col != nil {
					fmt.Fprintf(b, ",%g", col[i])
				}
			}
		}
		b.WriteByte('\n')
	}
	return b.Flush()
}

// WriteTable writes the summaries side by side as a plain-text table, one
// column per result (a comparison when there are several).
func WriteTable(w io.Writer, results ...*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(*Summary) string) {
		fmt.Fprint(tw, name+"\t")
		for _, r := range results {
			fmt.Fprint(tw, f(&r.Summary)+"\t")
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "scenario\t")
	for _, r := range results {
		fmt.Fprint(tw, r.Scenario+"\t")
	}
	fmt.Fprintln(tw)
	for _, r := range tableRows() {
		row(r.name, r.f)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeNotes(w, results)
}

// writeNotes lists, under the table, what a reader must not miss: pods
// that fit no group or were still waiting at the end, and HPAs that could
// not act.
func writeNotes(w io.Writer, results []*Result) error {
	ns := notes(results)
	if len(ns) == 0 {
		return nil
	}
	_, err := io.WriteString(w, "\n! "+strings.Join(ns, "\n! ")+"\n")
	return err
}

func notes(results []*Result) []string {
	var out []string
	for _, r := range results {
		for _, ws := range r.Summary.Workloads {
			who := r.Scenario + "/" + ws.Name
			if ws.Unschedulable != "" {
				out = append(out, fmt.Sprintf("%s: its pods %s", who, ws.Unschedulable))
			}
			if ws.PendingAtEnd > 0 {
				out = append(out, fmt.Sprintf("%s: %d pod(s) still pending at the end (max wait %ds counts them)", who, ws.PendingAtEnd, ws.MaxPodWait))
			}
			for _, is := range ws.HPAIssues {
				what := "could not act"
				if !is.Blocked {
					what = "scaled without a metric"
				}
				out = append(out, fmt.Sprintf("%s: HPA %s in %d sync(s) from %s to %s: %s: %s", who, what, is.Syncs,
					time.Duration(is.First)*time.Second, time.Duration(is.Last)*time.Second, is.Reason, is.Message))
			}
		}
	}
	return out
}

// noteHPA records why an HPA sync could not act (or acted without some
// metric), and for HPAs without a CPU utilization target whether a metric
// asks for more replicas.
func (s *sim) noteHPA(w *wl, r *hpa.Result, err error) {
	if err != nil {
		w.issue("EvaluateFailed", err.Error(), true, s.now)
		return
	}
	if w.target == 0 {
		w.hot = false
		for _, p := range r.Proposals {
			if p.Err == nil && p.Replicas > r.CurrentReplicas {
				w.hot = true
			}
		}
	}
	if c, ok := r.Condition(hpa.ScalingActive); ok && c.Status == hpa.ConditionFalse {
		w.issue(string(c.Reason), c.Message, r.Stopped, s.now)
		return
	}
	if r.Err != nil {
		for _, p := range r.Proposals {
			if p.Err != nil {
				w.issue(string(p.Reason), p.Message, false, s.now)
			}
		}
	}
}

func (w *wl) issue(reason, msg string, blocked bool, now int64) {
	for _, is := range w.issues {
		if is.Reason == reason && is.Blocked == blocked {
			if is.Last != now {
				is.Syncs++
				is.Last = now
			}
			return
		}
	}
	if len(w.issues) >= 32 {
		return // bounded: the reasons are few; messages vary
	}
	w.issues = append(w.issues, &HPAIssue{Reason: reason, Message: msg, Blocked: blocked, Syncs: 1, First: now, Last: now})
}

// unschedulable says why w's pods fit no node group, one reason per
// group, or "" when some group fits them.
func (s *sim) unschedulable(w *wl) string {
	var why []string
	for _, g := range s.groups {
		a := g.template.Allocatable
		var r []string
		for k, v := range w.spec.NodeSelector {
			if g.template.Labels[k] != v {
				r = append(r, fmt.Sprintf("nodeSelector %s=%s does not match", k, v))
			}
		}
		sort.Strings(r)
		if w.cpu > a.MilliCPU {
			r = append(r, fmt.Sprintf("requests %dm CPU, a node has %dm allocatable", w.cpu, a.MilliCPU))
		}
		if w.mem > a.Memory {
			r = append(r, fmt.Sprintf("requests %d bytes of memory, a node has %d allocatable", w.mem, a.Memory))
		}
		if a.Pods < 1 {
			r = append(r, "a node takes no pods")
		}
		if len(r) == 0 {
			return ""
		}
		why = append(why, g.spec.Name+": "+strings.Join(r, ", "))
	}
	return "fits no node group: " + strings.Join(why, "; ")
}
