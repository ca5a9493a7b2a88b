// Package simulate answers the two questions at the heart of node
// autoscaling by simulation, as cluster-autoscaler and Karpenter do, on a
// compact model and far faster:
//
//   - scale-up: which new nodes, from which groups, make the pending pods
//     schedulable (Estimate, ScaleUp, Provision);
//   - scale-down: which nodes can go because their pods fit elsewhere
//     (ScaleDown), or be replaced by cheaper ones (Consolidate).
//
// Inputs are values: a Cluster snapshot (nodes, pods, DaemonSets,
// PodDisruptionBudgets) and node Groups with their templates. PodFromV1,
// NodeFromV1 and GroupFromNodeGroup convert from core/v1 and
// nodegroup.NodeGroup. The package keeps no state between calls, reads no
// clock (time budgets use a caller's Limits.Clock), starts no goroutine and
// never changes its inputs.
//
// # Placement
//
// A pod fits a node when kube-scheduler's filters for what autoscaling
// needs pass: resources (CPU, memory, ephemeral storage, pod count and up
// to four extended resources such as nvidia.com/gpu), nodeSelector and
// required node affinity (In, NotIn, Exists, DoesNotExist, Gt, Lt,
// metadata.name), taints (NoSchedule, NoExecute) and cordons, host ports,
// required inter-pod affinity and anti-affinity on any topology key (both
// directions; for affinity a pod counts only when it matches every term of
// the incoming pod, and a pod matching all its own terms may start its set
// when nothing counts anywhere; anti-affinity is per term), DoNotSchedule
// topology spread (with minDomains; counted on the nodes the pod may use
// that carry the keys of all its constraints; pods being deleted are not
// counted), DaemonSet overhead on new nodes, and zones pinned by volumes
// (PodFromV1 folds the PersistentVolume's node affinity into the pod's).
// A Succeeded or Failed pod still bound to a node holds nothing. What a pod asks for that is not simulated — preferred
// terms, ScheduleAnyway spread, namespace selectors, DRA claims, unresolved
// claims — is listed in Pod.Unmodeled and reported with results.
// Rejections carry kube-scheduler's wording ("Insufficient cpu", "node(s)
// didn't match pod anti-affinity rules", ...).
//
// Pods with identical scheduling fields form one equivalence group whatever
// their owner, so 50 000 replicas cost one placement check per node, not
// 50 000; counts per topology domain are kept incrementally.
//
// # Scale-up
//
// Estimate is cluster-autoscaler's binpacking estimator for one group:
// equivalence groups in decreasing order of their share of the template,
// first fit over the nodes already added, then next fit onto new ones,
// giving up on a group when a fresh node would not help. ScaleUp is one
// cluster-autoscaler decision around it: pending pods that fit existing or
// upcoming nodes are set aside (in passes, so a pod whose affinity needs a
// pod placed after it still lands); groups backed off, at maximum or over
// a quota are skipped; every other group is estimated within the limits
// (combined by cluster-autoscaler's rules); an Expander picks an Option
// (LeastWaste, the default, MostPods, LeastNodes, Price, Priority, Random,
// or a Chain); balancing spreads it over Similar groups. A pod that a
// template refuses only for its required affinity to pods an option adds
// is Deferred (not placed this round), not Unschedulable. A new node that
// takes no pod leaves the estimate. Backoff is the per-group backoff after
// failed scale-ups, as a value.
//
// Cost follows the input's real size: of the upcoming nodes a group's
// target promises, only one more than the pending pods is built (the rest
// are counted toward limits and quotas), so a target of 10 000 000 costs
// what a target of 4 does. Malformed input (a nil cluster, a repeated
// group id, a price that is NaN, infinite, negative or above
// MaxPricePerHour, negative resources) is refused with an *InputError
// naming the field; every such error matches ErrInvalidInput.
//
// Provision places every pending pod across all groups at once, the way
// Karpenter's provisioner does, and shrinks each new node to the cheapest
// group that still holds it and leaves every pod's spread domains as they
// were. Consolidate is Karpenter's consolidation when
// prices are known: empty nodes, then the longest set of nodes that can go
// (binary search), then single nodes — deleted when their pods fit
// elsewhere, or replaced by one cheaper node.
//
// # Scale-down
//
// ScaleDown computes utilization, takes the nodes at or under the
// threshold, applies cluster-autoscaler's drainability rules (mirror and
// DaemonSet pods, safe-to-evict, bare pods, kube-system pods without a
// budget, local storage, exhausted budgets, the scale-down-disabled
// annotation, group minimums) and re-places each candidate's pods on the
// remaining nodes, committing every successful removal so later
// candidates see the reduced capacity. Every unremovable node carries
// cluster-autoscaler's reason and the blocking pod.
package simulate
