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
// Planned (see the README): schedule (cron and time windows with time zones,
// DST and holidays), simulate (binpacking, scale-down and expanders),
// nodegroup with cloud/asg and cloud/ess, autoscale (controllers), and
// examples/ (small binaries).
//
// Pure packages take time, state and inputs as values: no client-go, no
// goroutines, no wall clock, no globals. This package holds no code.
package kscale
