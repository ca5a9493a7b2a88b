// Package autoscaler is cluster-autoscaler's decision loop as a pure
// value: Step takes the instant and the cluster as observed (nodes, pods,
// the provider's node groups, scheduled replica rises) and returns the
// actions to carry out, each with its reason and numbers. It does no I/O,
// starts no goroutine and reads no clock, so the simulator
// (simulate/cluster) and a controller on a real cluster make exactly the
// same decisions on the same observations, and a test can check that.
//
// The package sits under simulate because it is simulate's scale-up,
// scale-down and backoff put in time order: it imports only simulate and
// nodegroup, and every caller that acts (simulate/cluster, a controller)
// imports it.
//
// # One scan
//
//   - Launches: each group's launches not yet registered are target size
//     minus registered nodes, recomputed from every observation, so a
//     restarted loop with an empty State does not launch again. A launch
//     first seen by the loop is timed from that scan. Registration is
//     measured as the group's provisioning latency.
//   - Failures: launches the provider reports out of capacity, and
//     launches not registered within MaxNodeProvisionTime, are cancelled
//     (DecreaseTargetSize) and their group backed off (5 min doubling to
//     30 min, forgotten after 3 h, cleared when the group's launches all
//     register); the next scale-up then skips the group and the expander
//     falls back to another.
//   - Scale-up: unschedulable pods that fit no existing or upcoming node
//     are estimated per group and one option chosen by the expander
//     (simulate.ScaleUp), within the cluster's node, core and memory
//     limits. Pods no group can take are explained per group
//     (NotTriggerScaleUp). With Config.ScaleUpMode ScaleUpProvision the
//     loop answers as Karpenter does instead: simulate.Provision packs
//     every pending pod at once across all groups (backed-off groups get
//     no new node), and every group it opens nodes in is raised in the
//     same loop.
//   - Pre-provisioning: for each Rise (a schedule that will raise a
//     workload's replicas at an instant), the added pods are simulated as
//     pending and each group the scale-up would grow is raised once the
//     instant is within its lead time: the group's measured provisioning
//     latency (the largest of the last five, at least
//     PreProvisionLatencyFloor), plus the pods' start-up, plus one scan.
//     Those nodes are held against scale-down until the rise.
//   - Scale-down, when nothing was added in this loop: nodes whose
//     utilization is at most the threshold are simulated for removal
//     (simulate.ScaleDown with its drain rules: safe-to-evict,
//     scale-down-disabled, PDBs, controllers, local storage); a removable
//     node's unneeded timer runs until ScaleDownUnneededTime, then it is
//     deleted (tainted ToBeDeletedByClusterAutoscaler, drained), at most
//     MaxEmptyBulkDelete empty and MaxDrainParallelism non-empty nodes,
//     MaxScaleDownParallelism in all. Deletions wait out the delays after
//     a scale-up, a deletion and a failed deletion; the timers run on
//     meanwhile, as upstream's do. Pending pods that fit a registered node
//     count on that node (its utilization, its emptiness, the pods a
//     removal must move), as upstream keeps them in its snapshot before it
//     looks for unneeded nodes: a new node is not removed while the pods
//     it was launched for wait for the scheduler.
//
// # Where it departs from upstream
//
//   - Provisioning timeouts are per launch, oldest first; upstream keeps
//     one request per group whose deadline every new increase extends,
//     and a restarted upstream fixes stale target sizes only through
//     its node-group size check. Here a restarted loop times the launches
//     it finds from its first scan.
//   - Scale-down candidates are the nodes at or under the utilization
//     threshold in groups above their minimum; the non-empty ones
//     simulated per loop are the least utilized, ties in observation
//     order. Parallelism limits are counted over the nodes due for
//     deletion in observation order.
//   - When no pod has inter-pod terms, host ports or extended requests,
//     Step hands simulate each node's free room (scale-up) or one
//     placeholder pod per non-candidate node (scale-down) instead of every
//     pod: the same decisions (tested) at a fraction of the cost.
//
// # What it does not model
//
// Unready nodes (scale-down-unready-time), node auto-provisioning,
// provisioning requests, GPU-specific handling beyond simulate's, and the
// soft taints upstream puts on unneeded nodes. Eviction retries and PDB
// enforcement belong to the caller (the API server enforces PDBs).
//
// # Time
//
// Step never reads a clock; durations are Go durations. The State is a
// plain JSON-serialisable value that is updated as if every action
// succeeds; a caller reports a failed increase or deletion with
// State.IncreaseFailed or State.DeleteFailed.
package autoscaler
