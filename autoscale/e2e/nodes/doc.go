// Package nodes holds the end-to-end tests of autoscale.ClusterAutoscaler: the
// controller runs against a real control plane (internal/testcluster: etcd,
// kube-apiserver, kube-scheduler, kube-controller-manager, kwok) with a cloud
// emulator (cloud/asg/asgtest or cloud/ess/esstest) behind the SDK-backed
// provider (cloud/asg, cloud/ess), and internal/nodebridge turning the
// emulator's running instances into kwok Nodes. Nothing in the loop is faked:
// the scheduler marks pods unschedulable, the controller raises the group
// through the SDK, the instance launches on the emulator's clock, its Node
// registers, the scheduler binds the pods; removals go through the Eviction
// API, which enforces PodDisruptionBudgets.
//
// The package is its own test binary, so it has its own control plane. Its
// tests run one after another, and each leaves the cluster as it found it (no
// bridge Nodes, no pods): a pending pod of one test would make the next test's
// autoscaler scale up. The shared helpers are in helpers_test.go.
//
// The loop runs with short settings (ScanInterval 2 s, ScaleDownUnneededTime
// and ScaleDownDelayAfterAdd 10 s, MaxNodeProvisionTime 30 s); the emulators
// launch in 2 s and terminate in 1 s.
package nodes
