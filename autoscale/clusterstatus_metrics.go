package autoscale

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kscale/kscale/simulate/autoscaler"
)

// caMetrics are the ClusterAutoscaler's collectors: cluster-autoscaler's
// names, help and label names where it has the metric (dashboards and
// alerts written for it read these), kscale_ ones where it has none.
// Labels cluster-autoscaler fills from GPU and DRA (gpu_resource_name,
// gpu_name, dra_drivers) are kept and left empty.
type caMetrics struct {
	safe          prometheus.Gauge
	nodes         *prometheus.GaugeVec // state
	nodeGroups    *prometheus.GaugeVec // node_group_type
	unschedulable *prometheus.GaugeVec // type
	lastActivity  *prometheus.GaugeVec // activity
	scaledUp      *prometheus.CounterVec
	scaledDown    *prometheus.CounterVec // reason
	failedUps     *prometheus.CounterVec // reason
	evicted       *prometheus.CounterVec // eviction_result
	unneeded      prometheus.Gauge
	unremovable   *prometheus.GaugeVec // reason
	cooldown      prometheus.Gauge
	groupMin      *prometheus.GaugeVec // node_group
	groupMax      *prometheus.GaugeVec
	groupTarget   *prometheus.GaugeVec
	groupHealthy  *prometheus.GaugeVec
	groupBackoff  *prometheus.GaugeVec   // node_group, reason
	errs          *prometheus.CounterVec // type

	preProvisioned prometheus.Counter
	statusErrors   prometheus.Counter
	eventsDropped  prometheus.Counter
}

// cluster-autoscaler's error types (errors_total{type}) and failed
// scale-up reasons (failed_scale_ups_total{reason}).
const (
	caErrCloudProvider = "cloudProviderError"
	caErrAPICall       = "apiCallError"
	caErrInternal      = "internalError"
	caFailedTimeout    = "timeout"
)

func newCAMetrics(reg prometheus.Registerer) (*caMetrics, error) {
	const ns = "cluster_autoscaler"
	gpu := []string{"gpu_resource_name", "gpu_name", "dra_drivers"}
	m := &caMetrics{
		safe: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "cluster_safe_to_autoscale",
			Help: "Whether or not cluster is healthy enough for autoscaling. 1 if it is, 0 otherwise."}),
		nodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "nodes_count",
			Help: "Number of nodes in cluster."}, []string{"state"}),
		nodeGroups: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_groups_count",
			Help: "Number of node groups managed by CA."}, []string{"node_group_type"}),
		unschedulable: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "unschedulable_pods_count",
			Help: "Number of unschedulable pods in the cluster."}, []string{"type"}),
		lastActivity: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_activity",
			Help: "Last time certain part of CA logic executed."}, []string{"activity"}),
		scaledUp: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "scaled_up_nodes_total",
			Help: "Number of nodes added by CA."}, gpu),
		scaledDown: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "scaled_down_nodes_total",
			Help: "Number of nodes removed by CA."}, append([]string{"reason"}, gpu...)),
		failedUps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "failed_scale_ups_total",
			Help: "Number of times scale-up operation has failed."}, append([]string{"reason"}, gpu...)),
		evicted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "evicted_pods_total",
			Help: "Number of pods evicted by CA"}, []string{"eviction_result"}),
		unneeded: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "unneeded_nodes_count",
			Help: "Number of nodes currently considered unneeded by CA."}),
		unremovable: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "unremovable_nodes_count",
			Help: "Number of nodes currently considered unremovable by CA."}, []string{"reason"}),
		cooldown: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "scale_down_in_cooldown",
			Help: "Whether or not the scale down is in cooldown. 1 if its, 0 otherwise."}),
		groupMin: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_group_min_count",
			Help: "Minimum number of nodes in the node group"}, []string{"node_group"}),
		groupMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_group_max_count",
			Help: "Maximum number of nodes in the node group"}, []string{"node_group"}),
		groupTarget: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_group_target_count",
			Help: "Target number of nodes in the node group by CA."}, []string{"node_group"}),
		groupHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_group_healthiness",
			Help: "Whether or not node group is healthy enough for autoscaling. 1 if it is, 0 otherwise."}, []string{"node_group"}),
		groupBackoff: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "node_group_backoff_status",
			Help: "Whether or not node group is backoff for not autoscaling. 1 if it is, 0 otherwise."}, []string{"node_group", "reason"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "errors_total",
			Help: "The number of CA loops failed due to an error."}, []string{"type"}),

		preProvisioned: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "kscale", Subsystem: "cluster_autoscaler", Name: "preprovisioned_nodes_total",
			Help: "Nodes added ahead of a scheduled rise (included in cluster_autoscaler_scaled_up_nodes_total)."}),
		statusErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "kscale", Subsystem: "cluster_autoscaler", Name: "status_write_errors_total",
			Help: "Failed writes of the status ConfigMap."}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "kscale", Subsystem: "cluster_autoscaler", Name: "events_dropped_total",
			Help: "Pod Events not recorded because a scan reached its cap of pod Events."}),
	}
	var err error
	reg1 := func(c *prometheus.GaugeVec) *prometheus.GaugeVec {
		if err == nil {
			c, err = register(reg, c)
		}
		return c
	}
	reg2 := func(c *prometheus.CounterVec) *prometheus.CounterVec {
		if err == nil {
			c, err = register(reg, c)
		}
		return c
	}
	reg3 := func(c prometheus.Gauge) prometheus.Gauge {
		if err == nil {
			c, err = register(reg, c)
		}
		return c
	}
	reg4 := func(c prometheus.Counter) prometheus.Counter {
		if err == nil {
			c, err = register(reg, c)
		}
		return c
	}
	m.safe, m.unneeded, m.cooldown = reg3(m.safe), reg3(m.unneeded), reg3(m.cooldown)
	m.nodes, m.nodeGroups, m.unschedulable, m.lastActivity = reg1(m.nodes), reg1(m.nodeGroups), reg1(m.unschedulable), reg1(m.lastActivity)
	m.unremovable, m.groupMin, m.groupMax, m.groupTarget = reg1(m.unremovable), reg1(m.groupMin), reg1(m.groupMax), reg1(m.groupTarget)
	m.groupHealthy, m.groupBackoff = reg1(m.groupHealthy), reg1(m.groupBackoff)
	m.scaledUp, m.scaledDown, m.failedUps, m.evicted, m.errs = reg2(m.scaledUp), reg2(m.scaledDown), reg2(m.failedUps), reg2(m.evicted), reg2(m.errs)
	m.preProvisioned, m.statusErrors, m.eventsDropped = reg4(m.preProvisioned), reg4(m.statusErrors), reg4(m.eventsDropped)
	if err != nil {
		return nil, err
	}
	// Series cluster-autoscaler starts at zero, so that rate() sees the
	// first failure.
	for _, t := range []string{caErrCloudProvider, caErrAPICall, caErrInternal} {
		m.errs.WithLabelValues(t).Add(0)
	}
	for _, r := range []string{caErrCloudProvider, caErrAPICall, caFailedTimeout} {
		m.failedUps.WithLabelValues(r, "", "", "").Add(0)
	}
	for _, r := range []string{"underutilized", "empty", "unready"} {
		m.scaledDown.WithLabelValues(r, "", "", "").Add(0)
	}
	for _, r := range []string{"succeeded", "failed"} {
		m.evicted.WithLabelValues(r).Add(0)
	}
	return m, nil
}

// caSetGauge sets one series; a label value the client refuses (invalid
// UTF-8 from a provider's group ID) skips the series instead of panicking.
func caSetGauge(v *prometheus.GaugeVec, x float64, labels ...string) {
	if g, err := v.GetMetricWithLabelValues(labels...); err == nil {
		g.Set(x)
	}
}

func caBool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metricsLocked updates the metrics from one scan (c.mu held). Gauges
// follow every scan, dry runs included; counters count only what was
// carried out.
func (c *clusterReporter) metricsLocked(r *ScanResult, groups []caGroupView, unneededTotal int) {
	m := c.m
	if m == nil {
		return
	}
	nodes := caNonNeg(r.Nodes)
	ready := min(caNonNeg(r.ReadyNodes), nodes)
	upcoming := 0
	for _, g := range groups {
		upcoming = caSatAdd(upcoming, g.Upcoming)
	}
	m.safe.Set(caBool(caUnreadyOK(nodes-ready, nodes)))
	m.nodes.WithLabelValues("ready").Set(float64(ready))
	m.nodes.WithLabelValues("unready").Set(float64(nodes - ready))
	m.nodes.WithLabelValues("notStarted").Set(0)
	m.nodes.WithLabelValues("unregistered").Set(float64(upcoming))
	m.nodes.WithLabelValues("longUnregistered").Set(0)
	m.nodeGroups.WithLabelValues("autoscaled").Set(float64(len(groups)))
	m.nodeGroups.WithLabelValues("autoprovisioned").Set(0)
	m.unschedulable.WithLabelValues("unschedulable").Set(float64(len(r.Unschedulable)))
	m.unneeded.Set(float64(unneededTotal))
	m.cooldown.Set(caBool(strings.HasPrefix(r.Actions.ScaleDown, autoscaler.ReasonScaleDownInCooldown)))
	// The removal simulation did not run in a loop that scaled up or has
	// scale-down disabled: the last counts stay, as upstream's do.
	if sd := r.Actions.ScaleDown; sd != autoscaler.ReasonScaleUpInLoop && sd != autoscaler.ReasonScaleDownDisabled {
		m.unremovable.Reset()
		for _, u := range r.Actions.Unremovable {
			if g, err := m.unremovable.GetMetricWithLabelValues(u.Reason); err == nil {
				g.Inc()
			}
		}
	}

	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		seen[g.ID] = true
		caSetGauge(m.groupMin, float64(g.Min), g.ID)
		caSetGauge(m.groupMax, float64(g.Max), g.ID)
		caSetGauge(m.groupTarget, float64(g.target), g.ID)
		caSetGauge(m.groupHealthy, caBool(g.caUnreadyOK()), g.ID)
		m.groupBackoff.DeletePartialMatch(prometheus.Labels{"node_group": g.ID})
		if g.backoff != nil {
			caSetGauge(m.groupBackoff, 1, g.ID, caBackoffFor(g.ID, g.backoff).ErrorCode)
		} else {
			caSetGauge(m.groupBackoff, 0, g.ID, "")
		}
	}
	for id := range c.groups {
		if !seen[id] {
			m.groupMin.DeleteLabelValues(id)
			m.groupMax.DeleteLabelValues(id)
			m.groupTarget.DeleteLabelValues(id)
			m.groupHealthy.DeleteLabelValues(id)
			m.groupBackoff.DeletePartialMatch(prometheus.Labels{"node_group": id})
		}
	}
	c.groups = seen

	if r.DryRun {
		return
	}
	now := float64(r.Time.Unix())
	m.lastActivity.WithLabelValues("main").Set(now)
	m.lastActivity.WithLabelValues("autoscaling").Set(now)
	if r.Actions.ScaleUp != "" || len(r.Actions.Increases) > 0 {
		m.lastActivity.WithLabelValues("scaleUp").Set(now)
	}
	if r.Actions.ScaleDown == "" {
		m.lastActivity.WithLabelValues("scaleDown").Set(now)
	}
	if r.Err != "" {
		m.errs.WithLabelValues(caErrInternal).Inc()
	}
	for i, o := range r.Increases {
		if i >= len(r.Actions.Increases) {
			break
		}
		a := r.Actions.Increases[i]
		switch {
		case o.Err != "":
			m.failedUps.WithLabelValues(caErrCloudProvider, "", "", "").Inc()
			m.errs.WithLabelValues(caErrCloudProvider).Inc()
		case a.Delta > 0:
			m.scaledUp.WithLabelValues("", "", "").Add(float64(a.Delta))
			if a.Reason == autoscaler.ReasonPreProvision {
				m.preProvisioned.Add(float64(a.Delta))
			}
		}
	}
	for i, o := range r.Cancels {
		if i >= len(r.Actions.Cancels) {
			break
		}
		switch r.Actions.Cancels[i].Reason {
		case autoscaler.ReasonMaxNodeProvisionTime:
			m.failedUps.WithLabelValues(caFailedTimeout, "", "", "").Inc()
		default:
			m.failedUps.WithLabelValues(caErrCloudProvider, "", "", "").Inc()
		}
		if o.Err != "" {
			m.errs.WithLabelValues(caErrCloudProvider).Inc()
		}
	}
	for _, o := range r.Deletes {
		if o.Err != "" {
			m.errs.WithLabelValues(caErrAPICall).Inc()
		}
	}
	for _, f := range r.Finished {
		if f.Err != "" {
			continue
		}
		reason := "underutilized"
		if f.Empty {
			reason = "empty"
		}
		m.scaledDown.WithLabelValues(reason, "", "", "").Inc()
	}
}
