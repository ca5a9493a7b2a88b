// Package schedcheck holds kscale's differential test of simulate's placements against the
// real kube-scheduler v1.37.2 run by internal/testcluster. It has no API: the test builds
// seeded random clusters of kwok nodes and pending pods (requests, node selectors, required
// node affinity, tolerations, required pod affinity and anti-affinity with one or several
// terms, topology spread with one or two constraints and minDomains), asks simulate.Provision
// and simulate.ScaleUp (existing nodes only) where each pod goes, and replays those
// placements in simulate's order, each pod held to simulate's node, checking that the
// scheduler binds it there; pods simulate leaves unschedulable are created free and must
// stay pending.
//
// A pod is held to its node by a taint and toleration, not by a matchFields node affinity:
// kube-scheduler's PodTopologySpread counts only nodes that pass the pod's required node
// affinity (nodeAffinityPolicy Honor, the default), so a metadata.name term would shrink
// every spread constraint to one domain, while taints are ignored there by default
// (nodeTaintsPolicy Ignore). Every node carries the NoSchedule taint schedcheck.kscale.dev/pin=<its name>, and a
// replayed pod tolerates exactly its node's value.
//
// Run it with `go test ./internal/schedcheck/` (skipped with -short, like every control-plane
// test); -schedcheck.clusters and -schedcheck.seed choose the clusters.
package schedcheck
