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
//   - nodegroup: the contract between node autoscaling and clouds (NodeGroup,
//     Provider, typed errors, templates), with nodegroup/fake and the
//     contract suite nodegroup/nodegrouptest.
//
// Planned (see the README): cloud/asg and cloud/ess, simulate (binpacking,
// scale-down and expanders), autoscale (controllers), and
// examples/ (small binaries).
//
// Pure packages take time, state and inputs as values: no client-go, no
// goroutines, no wall clock, no globals. This package holds no code.
package kscale
