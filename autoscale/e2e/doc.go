// Package e2e holds autoscale's end-to-end tests; it has no code. They run
// the controllers against a real control plane (internal/testcluster):
// etcd, kube-apiserver, kube-scheduler and kube-controller-manager 1.37,
// kwok nodes whose emulated kubelets report the CPU the tests set,
// metrics-server behind the aggregation layer, and an in-process custom and
// external metrics adapter. They assert object states, never log lines:
//
//   - resource metrics end to end: scale-up, scale-down once the 60 s
//     window has passed, across a restart of the controller inside it;
//   - Pods, Object and External metrics, and an External metric that
//     disappears: no scale-down, ScalingActive=False FailedGetExternalMetric;
//   - a differential run against kube-controller-manager's own HPA
//     controller (same objects, settings and usage sequence, the other
//     controller off): the same replica sequence, each change within one
//     sync period plus one metrics-server resolution, the same final
//     conditions;
//   - the CronScaler in Asia/Kolkata: the change at the transition and not
//     before, the rule in force applied after a stop across a transition,
//     an HPA on the target bounded instead of overwritten and restored.
//
// They take about ten minutes (they wait for real metrics-server scrapes)
// and are skipped under -short.
package e2e
