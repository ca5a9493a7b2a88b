package simulate

// Scale-down reasons, named as cluster-autoscaler's
// simulator.UnremovableReason values.
const (
	ReasonNotAutoscaled               = "NotAutoscaled"
	ReasonScaleDownDisabledAnnotation = "ScaleDownDisabledAnnotation"
	ReasonNotUnderutilized            = "NotUnderutilized"
	ReasonNodeGroupMinSizeReached     = "NodeGroupMinSizeReached"
	ReasonNotSafeToEvictAnnotation    = "NotSafeToEvictAnnotation"
	ReasonNotReplicated               = "NotReplicated"
	ReasonUnmovableKubeSystemPod      = "UnmovableKubeSystemPod"
	ReasonLocalStorageRequested       = "LocalStorageRequested"
	ReasonNotEnoughPdb                = "NotEnoughPdb"
	ReasonNoPlaceToMovePods           = "NoPlaceToMovePods"
)

// drainOutcome is what a drain does with one pod.
type drainOutcome uint8

const (
	drainSkip  drainOutcome = iota // stays (mirror, DaemonSet, terminating): neither moved nor blocking
	drainMove                      // evicted and must fit elsewhere
	drainDrop                      // evicted, nothing to re-place (finished pods)
	drainBlock                     // blocks the node's removal
)

// replicatedKinds are the controllers cluster-autoscaler trusts to
// recreate an evicted pod when --skip-nodes-with-custom-controller-pods is
// on.
var replicatedKinds = []string{"ReplicationController", "Job", "ReplicaSet", "StatefulSet"}

// drainRule classifies one pod by cluster-autoscaler's drainability rules,
// first decisive rule first; pdbOK reports whether a budget covers it.
func drainRule(p *Pod, o *ScaleDownOptions, covered bool) (drainOutcome, string, string) {
	switch {
	case p.Mirror, p.Terminating, p.DaemonSet():
		return drainSkip, "", ""
	case p.SafeToEvict == "true":
		return drainMove, "", ""
	case p.Terminal:
		return drainDrop, "", ""
	case p.SafeToEvict == "on-completion":
		return drainBlock, ReasonNotSafeToEvictAnnotation, "pod is annotated safe-to-evict=on-completion and has not completed"
	case p.SafeToEvict == "false":
		return drainBlock, ReasonNotSafeToEvictAnnotation, "pod is annotated safe-to-evict=false"
	case p.Owner == nil:
		return drainBlock, ReasonNotReplicated, "pod has no controller"
	case !o.AllowCustomControllers && !contains(replicatedKinds, p.Owner.Kind):
		return drainBlock, ReasonNotReplicated, "pod's controller " + p.Owner.Kind + " is not a known replicating controller"
	case !o.AllowSystemPods && p.Namespace == "kube-system" && !covered:
		return drainBlock, ReasonUnmovableKubeSystemPod, "kube-system pod without a PodDisruptionBudget"
	case !o.AllowLocalStorage && len(p.LocalStorage) > 0:
		return drainBlock, ReasonLocalStorageRequested, "pod keeps local storage in volume " + p.LocalStorage[0]
	}
	return drainMove, "", ""
}
