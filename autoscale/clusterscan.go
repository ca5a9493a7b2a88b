package autoscale

import (
	"time"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// ScanResult is one scan of a ClusterAutoscaler: what it observed, what the
// decision loop (autoscaler.Step) decided, and what carrying the decision
// out did. Scan returns it; Recommend returns the same with DryRun set and
// nothing carried out.
type ScanResult struct {
	// Time is the scan's clock reading, the now given to Step.
	Time time.Time
	// DryRun is set when nothing was carried out (Recommend, or
	// ClusterAutoscalerConfig.DryRun).
	DryRun bool
	// Groups are the node groups as observed, in the provider's order.
	Groups []GroupStatus
	// Nodes counts the registered nodes (all, and Ready ones), including
	// nodes of no group.
	Nodes, ReadyNodes int
	// Unschedulable are the pods the scheduler marked unschedulable
	// (PodScheduled=False, reason Unschedulable) at this scan.
	Unschedulable []PodRef
	// Actions are the loop's decisions.
	Actions autoscaler.Actions
	// Cancels, Increases and Deletes are the outcomes of carrying out
	// Actions.Cancels, .Increases and .Deletes, index for index (empty in a
	// dry run). A non-empty drain is carried out in the background: its
	// outcome here has Started set, and its end is reported in Finished of
	// a later scan.
	Cancels   []Outcome
	Increases []Outcome
	Deletes   []Outcome
	// Finished are the node removals that ended since the previous scan
	// (drains carried out in the background, and empty nodes).
	Finished []Removal
	// Draining are the nodes whose background drain is in progress after
	// the scan (left out of the observation: going away).
	Draining []string
	// Backoff is the groups' scale-up backoff after the scan.
	Backoff simulate.Backoff
	// Err is the error that ended the scan early ("" when none).
	Err string
}

// GroupStatus is a node group at one scan.
type GroupStatus struct {
	ID       string
	Min, Max int
	// Target is the provider's target size before this scan's changes.
	Target int
	// Registered and Ready count the group's Nodes; Upcoming its launches
	// not registered yet after this scan's changes.
	Registered, Ready, Upcoming int
}

// PodRef names a pod.
type PodRef struct {
	Namespace, Name, UID string
}

// Outcome is what carrying out one action did.
type Outcome struct {
	// Started is set for a removal handed to a background drain.
	Started bool
	// Err is the error that made it fail ("" when it did not).
	Err string
}

// Removal is a finished node removal.
type Removal struct {
	Node, Group, ProviderID string
	// Empty is set for a node that had no pods to evict.
	Empty bool
	// Evicted counts the pods evicted from it.
	Evicted int
	// Err says why the node was not removed ("" when it was); the node
	// was untainted and uncordoned.
	Err string
	// Start and End bound the removal.
	Start, End time.Time
}
