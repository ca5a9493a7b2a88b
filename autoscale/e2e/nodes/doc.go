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
// What is shown:
//   - scale_test.go, drain_test.go, fallback_test.go: ASG and ESS (both scale
//     modes) scale up to exactly the node count simulate.ScaleUp predicts and
//     back down through evictions; safe-to-evict "false", a PDB at its limit
//     and a bare pod keep their nodes; a group at its maximum falls back to
//     another by the expander. These run the loop with ScanInterval 2 s,
//     ScaleDownUnneededTime and ScaleDownDelayAfterAdd 10 s,
//     MaxNodeProvisionTime 30 s; the emulators launch in 2 s and terminate
//     in 1 s.
//   - faults_test.go: throttling, 5xx and lost answers on both clouds (no
//     double scale-up, no lost deletion), a stock-out (backoff, then the
//     other group), launches that never register (cancelled after
//     MaxNodeProvisionTime, backed off), an instance terminated behind the
//     controller's back. restart_test.go: a restart mid-scale-up launches
//     nothing twice. preprovision_test.go: a cron rise from 2 to 40 replicas
//     finds its nodes Ready before the instant. These scan every second
//     (faultLoop).
//   - replay_test.go: the controller's recorded observations, replayed
//     through a fresh autoscaler.Step, give the same actions and State.
package nodes
