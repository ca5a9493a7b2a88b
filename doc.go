// Package kscale is a Go SDK for Kubernetes autoscaling: the arithmetic and
// simulations behind the HorizontalPodAutoscaler, CronHPA-style schedules and
// node autoscalers, as importable pure packages.
//
// The packages:
//
//   - hpa: replica math identical to the upstream HPA controller (Kubernetes
//     1.37 line) — every metric type, pod readiness rules, tolerance, legacy
//     and behavior normalization, conditions — with its stabilization and
//     scale-event memory as a value the caller owns and can persist as JSON.
//     Entry point: hpa.Evaluate.
//
//   - schedule: time-based scaling — cron jobs, time windows and one-shot
//     ranges as one level-triggered model with a time zone per schedule,
//     exact daylight-saving rules and holiday calendars, composed with a
//     metric recommendation by an explicit policy. Entry points:
//     schedule.New, (*schedule.Schedule).At, schedule.Compose.
//
//   - podscale: the decision of one pod-autoscaler sync (hpa.Evaluate
//     composed with a schedule's bounds), shared by autoscale and
//     simulate/cluster. Entry point: podscale.Decide.
//
//   - nodegroup: the contract between node autoscaling and clouds (NodeGroup,
//     Provider, typed errors, templates), with nodegroup/fake and the
//     contract suite nodegroup/nodegrouptest.
//
//   - simulate: pending-pod binpacking (cluster-autoscaler's estimator and
//     scale-up decision, Karpenter-style provisioning), expanders, backoff,
//     and the scale-down simulation with its drainability rules. Entry
//     points: simulate.Estimate, simulate.ScaleUp, simulate.Provision,
//     simulate.ScaleDown.
//
//   - simulate/autoscaler: cluster-autoscaler's decision loop as a pure,
//     JSON-serialisable value (upcoming nodes, provisioning timeouts,
//     backoff, unneeded timers and delays, scale-down), with schedule-aware
//     pre-provisioning. Entry point: (*autoscaler.Autoscaler).Step.
//
//   - simulate/cluster: a deterministic whole-cluster simulator driven by
//     the packages above (load traces, HPAs on CPU, memory and custom
//     metrics, schedules, node groups, the cluster autoscaler), with
//     summary, SVG and HTML reports. Entry points: cluster.Run,
//     cluster.Parse; go run ./examples/simulate.
//
//   - cloud/asg and cloud/ess: nodegroup.Provider implementations for AWS
//     Auto Scaling groups and Alibaba Cloud ESS scaling groups, with the
//     wire-level emulators cloud/asg/asgtest and cloud/ess/esstest and the
//     IAM/RAM policies they need.
//
//   - autoscale: client-go controllers — PodAutoscaler (a drop-in for the
//     HPA controller, with state kept across restarts) and CronScaler.
//
// Planned (see the README): autoscale's cluster autoscaler controller and
// the other examples/ (small binaries).
//
// Tests of autoscale run against a real control plane (internal/testcluster:
// etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kwok and
// metrics-server, built from the Go module proxy).
//
// Pure packages take time, state and inputs as values: no client-go, no
// goroutines, no wall clock, no globals. This package holds no code.
package kscale
