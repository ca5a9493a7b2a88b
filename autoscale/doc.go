// Package autoscale runs kscale's decisions against a Kubernetes cluster
// with client-go: a pod autoscaler that can replace kube-controller-manager's
// HPA controller, a cron scaler for known peaks, and a cluster autoscaler. The decisions are the
// pure packages' (podscale, hpa, schedule); this package only reads, writes
// and reports.
//
// # PodAutoscaler
//
// NewPodAutoscaler(PodAutoscalerConfig) builds it; Run(ctx) runs it.
//
//   - What it scales: autoscaling/v2 HorizontalPodAutoscaler objects (all,
//     or those of one namespace and/or matching HPASelector), and
//     programmatic Targets (an autoscaling/v2 spec plus an optional
//     schedule, without an HPA object). Any kind with a /scale subresource:
//     the scaleTargetRef's kind goes through the REST mapper, the count
//     through the scale client.
//   - What it reads: pods through a shared informer (the selector the scale
//     reports), metrics through the k8s.io/metrics clients — metrics.k8s.io
//     (Resource, ContainerResource), custom.metrics.k8s.io (Pods, Object),
//     external.metrics.k8s.io (External). A missing client or API fails
//     the metric with upstream's FailedGet…Metric condition.
//   - What it decides: podscale.Decide — hpa.Evaluate with upstream's
//     flags and defaults (sync period 15 s, tolerance 0.1, downscale
//     stabilization 5 min, CPU initialization period 5 min, initial
//     readiness delay 30 s), composed with the bounds of a schedule: a
//     Target's, or an HPA's AnnotationSchedule (a schedule.Spec in JSON,
//     policy in AnnotationSchedulePolicy). The simulator
//     (simulate/cluster) calls the same function.
//   - What it writes: the scale (retried on conflict while the target keeps
//     the count the decision started from; a concurrent resize is not
//     overwritten), the HPA status through the status subresource (only
//     when it changed; conditions, currentMetrics, desiredReplicas,
//     lastScaleTime, as hpa.ApplyStatus), Events with upstream's reasons
//     (SuccessfulRescale, FailedRescale, FailedGetScale,
//     FailedGetResourceMetric and the other metric reasons,
//     FailedComputeMetricsReplicas, SelectorRequired, InvalidSelector,
//     AmbiguousSelector), and the hpa.State.
//   - Its queue is upstream's: every key waits exactly one sync period
//     between two syncs (also after an error), a new HPA is first synced
//     one period after it appears, and duplicate adds collapse.
//   - Recommend(ctx, key) returns the decision a sync would make now and
//     why, writing nothing and leaving the kept state as it was. Sync(ctx,
//     key) runs one sync now, for callers that drive their own loop.
//
// # Where it departs from upstream
//
//   - The state (stabilization recommendations, scale events) survives a
//     restart: it is saved after each sync that changed it, as the JSON
//     annotation AnnotationState on the HPA (one merge patch) or in the
//     ConfigMap StateConfigMapPrefix+name of a Target, and read back (size
//     and values checked; a bad one is refused and replaced) on the first
//     sync. Upstream forgets it, so after a restart it may scale up faster
//     than the behavior allows. The cost is one extra write per HPA per
//     sync in which the state changed — nearly every sync.
//   - A schedule can bound the HPA's recommendation; when it changed the
//     count, ScalingLimited carries its reason (ScheduleFloor, …).
//   - Programmatic Targets and HPA objects are checked against each other
//     for AmbiguousSelector, as upstream checks HPAs.
//
// # CronScaler
//
// NewCronScaler(CronScalerConfig) and Run(ctx). It applies a
// schedule.Schedule to each CronTarget, level-triggered: every sync reads
// the rule in force at the clock's now and requeues the target exactly at
// the schedule's next transition (or after Resync, one minute, if sooner),
// so a transition missed while the scaler was down is corrected by the
// first sync after it (the rule in force now, never a replay). When an
// autoscaling/v2 HPA's scaleTargetRef names the target (or the target is
// an HPA, cronhpa-controller's HPA mode) the scaler does not write replicas:
// it bounds the HPA's minReplicas/maxReplicas with the rule's and records
// the HPA's own in AnnotationOriginalBounds, restoring them when no rule is
// in force. CronTargetFromCronHPA imports cronhpa-controller objects.
//
// # ClusterAutoscaler
//
// NewClusterAutoscaler(ClusterAutoscalerConfig) builds it; Run(ctx) runs
// it. It is cluster-autoscaler on client-go around the pure loop
// simulate/autoscaler: every decision is autoscaler.Step's, the one
// simulate/cluster calls too, so a simulation replays the controller's
// decisions. The controller only reads, writes and reports.
//
//   - What it reads: pods, nodes, policy/v1 PodDisruptionBudgets,
//     DaemonSets, PersistentVolumes and Claims (a bound volume's node
//     affinity pins its pod), and the Deployments/StatefulSets of
//     Schedules, all through cluster-wide shared informers, converted by
//     simulate.PodFromV1, NodeFromV1, PDBFromV1 and DaemonSetPodFromV1.
//     A pod is pending for it only when the scheduler marked it
//     PodScheduled=False/Unschedulable, as upstream. Node groups come from
//     the nodegroup.Provider each scan (Refresh, NodeGroups, target sizes,
//     templates, and the instances of a group whose target differs from
//     its registered nodes); a node's group is
//     Provider.NodeGroupForNode(spec.providerID). Upcoming nodes are the
//     provider's target minus the registered nodes, so a restarted
//     controller never launches twice; a node of a group that is not
//     ready yet (Ready condition, or the not-ready, disk-pressure or
//     network-unavailable taint) and is younger than 15 minutes is still
//     starting and counts as upcoming, as upstream's NotStarted nodes
//     do. The provider is distrusted: an
//     error, a negative target, min > max or a group listed twice ends the
//     scan with no action, naming the group.
//   - What it decides: autoscaler.Step on that observation — cancels of
//     launches the cloud could not fulfil or that did not register within
//     MaxNodeProvisionTime, scale-ups by simulate.ScaleUp and the
//     expander (or, with Loop.ScaleUpMode autoscaler.ScaleUpProvision,
//     Karpenter's simulate.Provision: every pending pod packed at once
//     across all groups), pre-provisioning ahead of the Schedules' next
//     rises (the workload's replicas and pod template, the bounds at the schedule's
//     next transition composed with today's replicas), scale-downs after
//     the unneeded time and delays. The observation is rebuilt only when
//     an informer event, a volume, a drain or the groups changed; its
//     Version/PodsVersion let Step reuse its tallies otherwise.
//   - What it writes, in the loop's order: DecreaseTargetSize for
//     cancels (a launch past MaxNodeProvisionTime whose instance runs
//     without a node, which the providers cannot cancel, is deleted by
//     its provider ID instead, as upstream removes unregistered nodes);
//     IncreaseSize (a failure backs the group off,
//     State.IncreaseFailed); for a removal, the ToBeDeletedByClusterAutoscaler
//     taint (NoSchedule, the Unix time) and the cordon in one update
//     retried on conflict (a cordon it set carries AnnotationCordoned),
//     the ScaleDown Event, then DeleteNodes at once for an empty node, or
//     a background drain: every pod but DaemonSet, mirror and finished
//     ones evicted through the policy/v1 Eviction API with its grace
//     period capped at MaxGracefulTerminationSec, refusals (429: a PDB)
//     retried every EvictionRetryTime until MaxPodEvictionTime, then a
//     wait for the evicted pods to go (their grace period plus 30 s), then
//     DeleteNodes. A node whose pods could not be evicted, or did not go,
//     is never deleted: its taint (and the cordon it set) is removed, a
//     ScaleDownFailed Event says why, and State.DeleteFailed starts the
//     delay after a failure. As upstream's actuator, removals in progress
//     count against MaxScaleDownParallelism and drains in progress against
//     MaxDrainParallelism: a removal over budget is not started (the node
//     stays unneeded and is chosen again). Nodes being drained, or
//     tainted for deletion, are going away: left out of the observation (their group's target
//     seen without the draining ones), never candidates again. At start
//     Run removes the taints and cordons a previous run left.
//   - What it reports: every scan's ScanResult (groups, counts,
//     unschedulable pods, the actions and their outcomes, the removals
//     that finished since the last scan, backoffs, the error that ended
//     it) goes to the status ConfigMap, Events and metrics, failed scans
//     included. Recommend returns what a scan would do now, writing
//     nothing and leaving the State as it was; with DryRun every Scan is
//     one.
//
// Where it departs from cluster-autoscaler: the cordon (upstream's
// --cordon-node-before-terminating, default off) is always set, and undone
// only where it set it; the State lives in memory (a restart recomputes
// the upcoming nodes from the provider and starts the timers again);
// there is no delay after the taint (--node-delete-delay-after-taint):
// instead the API server is asked for the node's pods right after it, and
// an "empty" node that got one is drained; no soft DeletionCandidate
// taint; a drain does not re-check the drain rules the loop checked when
// it chose the node (the Eviction API still enforces PDBs); Trace is
// called only for scans whose State is kept. Drains started by Scan run
// under the context given to it.
//
// # Common
//
// One config struct per controller, zero fields meaning upstream's
// defaults. Prometheus metrics go to the caller's Registerer
// (kscale_autoscale_decisions_total by reason, _reconcile_duration_seconds,
// _errors_total by stage, _current_replicas and _desired_replicas per key,
// with a controller label); logs go through logr (klog's logger from the
// context by default) with structured keys; Events through an
// EventRecorder. DryRun computes and reports (Events, metrics, logs) and
// writes nothing else. The clock is injected (k8s.io/utils/clock).
//
// It does not run leader election: run it under
// k8s.io/client-go/tools/leaderelection when more than one replica runs.
// It never imports cloud providers or examples.
package autoscale
