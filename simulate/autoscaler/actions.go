package autoscaler

import (
	"time"

	"github.com/kscale/kscale/simulate"
)

// Reasons of the actions, as cluster-autoscaler names its events and
// failure causes where it has a name.
const (
	// ReasonScaleUp is an increase for unschedulable pods
	// (upstream's TriggeredScaleUp event).
	ReasonScaleUp = "TriggeredScaleUp"
	// ReasonPreProvision is an increase ahead of a scheduled rise.
	ReasonPreProvision = "PreProvision"
	// ReasonMaxNodeProvisionTime cancels launches not registered within
	// MaxNodeProvisionTime (upstream's failed scale-up reason
	// "timeout").
	ReasonMaxNodeProvisionTime = "MaxNodeProvisionTime"
	// ReasonOutOfCapacity cancels launches the cloud reported it could
	// not fulfil (upstream's OutOfResources error class).
	ReasonOutOfCapacity = "OutOfCapacity"
	// ReasonScaleDown removes a node unneeded for ScaleDownUnneededTime
	// (upstream's ScaleDown node event).
	ReasonScaleDown = "ScaleDown"
	// ReasonNotTriggerScaleUp explains a pending pod no group can help
	// (upstream's NotTriggerScaleUp pod event).
	ReasonNotTriggerScaleUp = "NotTriggerScaleUp"
	// ReasonPreProvisionHold keeps a pre-provisioned node until its rise.
	ReasonPreProvisionHold = "PreProvisionHold"
	// Scale-down skipped for the whole loop (upstream's
	// ScaleDownInCooldown status, with the delay that caused it).
	ReasonScaleDownInCooldown = "ScaleDownInCooldown"
	ReasonScaleDownDisabled   = "ScaleDownDisabled"
	ReasonScaleUpInLoop       = "ScaleUpInLoop"
)

// TaintToBeDeleted is the taint a node gets before it is drained
// (NoSchedule, value the Unix time of the decision).
const TaintToBeDeleted = "ToBeDeletedByClusterAutoscaler"

// Actions are what one Step decided, in the order to carry them out:
// Cancels, then Increases, then Deletes.
type Actions struct {
	// Backoffs are the groups backed off in this step, with the reason.
	Backoffs []Backoff `json:"backoffs,omitempty"`
	// Cancels decrease target sizes by launches that will not come
	// (nodegroup DecreaseTargetSize).
	Cancels []Change `json:"cancels,omitempty"`
	// Increases grow groups (nodegroup IncreaseSize).
	Increases []Change `json:"increases,omitempty"`
	// Deletes remove nodes: taint TaintToBeDeleted, cordon, evict the
	// pods (not DaemonSet or mirror pods), then DeleteNodes.
	Deletes []Delete `json:"deletes,omitempty"`
	// Upcoming is each group's launches not registered yet, after the
	// cancels and increases.
	Upcoming map[string]int `json:"upcoming,omitempty"`
	// Pending explains the unschedulable pods no increase helps.
	Pending []PodExplanation `json:"pending,omitempty"`
	// Unremovable explains the nodes kept, by simulate's reasons (and
	// ReasonPreProvisionHold); Pod indexes Observation.Pods (-1: none).
	Unremovable []simulate.Unremovable `json:"unremovable,omitempty"`
	// ScaleDown says why no node was removed in this loop, when it was
	// skipped as a whole ("" when it ran).
	ScaleDown string `json:"scaleDown,omitempty"`
	// ScaleUp is simulate's verdict on the pending pods, when it ran.
	ScaleUp string `json:"scaleUp,omitempty"`
}

// Backoff is a group backed off.
type Backoff struct {
	Group  string    `json:"group"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// Change is a target size change of Delta nodes.
type Change struct {
	Group   string `json:"group"`
	Delta   int    `json:"delta"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Pods are the pending pods (or, pre-provisioning, the pods of the
	// rise) the increase is for.
	Pods int `json:"pods,omitempty"`
	// Workload, At and Replicas name the rise a pre-provisioning
	// increase is for.
	Workload string    `json:"workload,omitempty"`
	At       time.Time `json:"at,omitzero"`
	Replicas int32     `json:"replicas,omitempty"`
}

// Delete is a node to remove.
type Delete struct {
	Group      string `json:"group"`
	Node       string `json:"node"`
	ProviderID string `json:"providerID,omitempty"`
	Empty      bool   `json:"empty,omitempty"`
	Reason     string `json:"reason"`
	Message    string `json:"message"`
}

// PodExplanation says why a pending pod triggers no scale-up: the reason
// per group ("" key: the reason no group was tried).
type PodExplanation struct {
	Pod     string            `json:"pod"`
	Reason  string            `json:"reason"`
	Reasons map[string]string `json:"reasons"`
}
