// Package cluster is a deterministic simulator of a whole autoscaled
// cluster: it replays load through the same code kscale's controllers run —
// hpa for pod autoscaling, schedule for cron pre-scaling, simulate for
// cluster-autoscaler's scale-up and scale-down — on node groups from
// nodegroup/fake, and reports what happened. It answers "what would these
// autoscaling settings have done with yesterday's traffic?" from a Go test
// or from the command line (examples/simulate).
//
// # Scenarios
//
// A Scenario (YAML or JSON, or built in code) has workloads — Deployments
// with pod requests, start-up latency, a service model, a load Trace
// (constant, step, ramp, diurnal, CSV), an optional autoscaling/v2 HPA spec
// and an optional Schedule — and node Groups with their node shape, bounds,
// price, provisioning delay and stock-out periods, plus the HPA's and the
// cluster autoscaler's flags. Parse and Load read YAML strictly (duplicate
// keys and unknown fields are refused, case-sensitively) and report every
// invalid field by its path (workloads[0].cpu: ...): NaN, infinities,
// absurd magnitudes, negative counts, durations that are negative or not
// whole seconds. A trace's csvFile is read below the scenario's directory
// (ParseOptions.AllowOutsideDir to leave it), regular files only. Limits
// bound the scenario (duration, workloads, replicas, nodes per group, total
// pods, file sizes, series values) with ErrLimit; EstimateOutput sizes the
// output before a run. Builtin returns the shipped scenarios.
//
// # The model
//
// Time advances in whole seconds on a virtual clock from Scenario.Start;
// randomness (start-up jitter) comes from Scenario.Seed, so a run is
// reproducible byte for byte.
//
//   - Service model: a ready pod uses BaseCPU plus an equal share of
//     load × CPUPerRequest; a pod not yet ready uses BaseCPU and serves
//     nothing. Memory is BaseMemory plus MemoryPerRequest per request per
//     second served plus MemoryGrowthPerHour since the pod started
//     (reported, never enforced). The Pods metric requests_per_second is a
//     ready pod's share of the load; the Object or External metric
//     requests_per_second is the load; the External metric queue_length is
//     a queue the load fills and ready pods drain at QueueServiceRate.
//     The HPA reads them as its metrics clients would: metrics.k8s.io
//     PodMetrics, custom.metrics.k8s.io and external.metrics.k8s.io values,
//     through hpa's converters. HPAs may use Resource and ContainerResource
//     (cpu, memory; container "app"), Pods, Object and External metrics of
//     these names; any other metric is refused. An HPA without metrics gets
//     the API server's default, CPU at 80 %.
//   - Pods: created pending by a resize; bound first fit to a node with
//     room (kube-scheduler's filters for requests, pod count and
//     nodeSelector); ready after StartupLatency (± Jitter). A ReplicaSet
//     deletes pending pods first, then unready ones, then the newest.
//   - HPA: every SyncPeriod per workload (staggered), hpa.Evaluate with the
//     controller's readiness rules and CPU initialization period, then the
//     schedule's bounds through schedule.Compose (Floor by default). When
//     it cannot act (ScalingActive=False) or scales without a failed metric,
//     the workload's summary says so (HPAIssues, upstream's reason).
//   - Cluster autoscaler: every ScanInterval the cluster is observed as a
//     controller would see it (registered nodes and their pods, pending
//     pods, the fake provider's groups and instances) and handed to
//     autoscaler.Step, the same decision loop a controller runs; the
//     simulator only carries out its actions. Failed launches (stock-outs,
//     and launches not registered within MaxNodeProvisionTime) back their
//     group off and are cancelled; unschedulable pods go to
//     simulate.ScaleUp (with upcoming nodes, limits and the expander); in a
//     loop that added no node, simulate.ScaleDown finds the removable nodes,
//     whose unneeded timers run (also through the delay after a scale-up)
//     until ScaleDownUnneededTime; they are then deleted once
//     ScaleDownDelayAfterAdd has passed since the last scale-up, at most
//     MaxScaleDownParallelism per scan (empty or not), their pods recreated
//     pending.
//   - Pre-provisioning (clusterAutoscaler.preProvision): each workload's
//     next schedule transition that raises its replicas (the bounds then in
//     force composed with today's replicas) is a Rise; Step raises the
//     groups those pods need by each group's measured provisioning latency
//     (at least preProvisionLatencyFloor) plus the pods' start-up before
//     the rise and holds the nodes until it. The summary's PreProvision
//     gives the early nodes, their node-hours and cost before the rise, and
//     the pods pending when each rise came ("preprovision" shows it: a jump
//     from 2 to 40 replicas finds its 6 nodes Ready, no pod pending).
//   - Nodes register when their group's provisioning delay has passed; a
//     stock-out period makes launches fail with nodegroup.OutOfCapacity.
//
// # Output
//
// Run returns a Result: a Summary (node-hours and cost, pod-seconds pending
// and pending under load, time above target, scale events, peaks, per
// workload — with its longest pod wait, pods pending at the end, why its
// pods fit no group and when its HPA could not act — and per group) and
// Series sampled every Scenario.Sample (load, desired, ready and pending
// replicas, utilization, and memory, requests per pod and queue when
// modelled, per workload; ready and target nodes per group). WriteJSON,
// WriteCSV (streamed), WriteTable (several results side by side, notes
// below) and WriteSVG (cluster and per-workload panels over time, lines
// downsampled to 2 000 points keeping peaks, comparison runs dashed) write
// it.
package cluster
