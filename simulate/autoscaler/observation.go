package autoscaler

import (
	"time"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
)

// Observation is the cluster as the caller sees it at one scan: the
// registered nodes, the pods (bound and pending), the node groups as the
// provider reports them, and the rises schedules will cause. Step reads it
// and never keeps a reference to it.
type Observation struct {
	// Nodes are the registered nodes, oldest first (the order breaks
	// ties between equal candidates for removal). Node.Group names the
	// group owning a node; a node of no group is never removed.
	Nodes []Node `json:"nodes"`
	// Pods are every pod: NodeName set for a bound pod, empty for an
	// unschedulable one (the scheduler's PodScheduled=False/Unschedulable).
	Pods []simulate.Pod `json:"pods"`
	// DaemonSets and PDBs are passed to simulate as they are.
	DaemonSets []simulate.Pod `json:"daemonSets,omitempty"`
	PDBs       []simulate.PDB `json:"pdbs,omitempty"`
	// Groups are the node groups as the provider reports them.
	Groups []Group `json:"groups"`
	// Rises are the replica increases schedules will make; Step
	// pre-provisions nodes for them.
	Rises []Rise `json:"rises,omitempty"`
	// Version, when not zero, changes whenever a pod is bound, removed or
	// moved (or a bound pod changes or its index in Pods changes) or a
	// node joins, leaves or changes; Step then reuses its tally of the
	// nodes and bound pods and its last removal simulation (while the
	// groups, DaemonSets, PDBs and candidates are the same too) while
	// Version is unchanged. Zero recomputes everything every time.
	Version int64 `json:"version,omitempty"`
	// PodsVersion, when it and Version are not zero, changes whenever a
	// pod is created or deleted; Step then reuses its count of the
	// pending pods while both are unchanged. Zero counts every time.
	PodsVersion int64 `json:"podsVersion,omitempty"`
}

// Node is a registered node with its provider id.
type Node struct {
	simulate.Node
	// ProviderID is spec.providerID, the id DeleteNodes takes.
	ProviderID string `json:"providerID,omitempty"`
}

// Group is a node group as the provider reports it.
type Group struct {
	ID  string `json:"id"`
	Min int    `json:"min"`
	Max int    `json:"max"`
	// Target is the provider's target (desired) size.
	Target   int                `json:"target"`
	Template nodegroup.Template `json:"template"`
	// Instances are the group's instances that are not registered nodes
	// yet (registered ones may be listed too); an instance with
	// ErrorClass OutOfCapacity is a launch the cloud could not fulfil.
	Instances []nodegroup.Instance `json:"instances,omitempty"`
}

// Rise is a scheduled replica increase: at At, Workload's replicas rise
// from Current to Replicas (the schedule's bounds in force at At composed
// with today's recommendation, as the cron scaler will do). Pod is the
// workload's pod template (NodeName empty); StartUp is how long its pods
// take to become ready once bound.
type Rise struct {
	Workload string        `json:"workload"`
	At       time.Time     `json:"at"`
	Current  int32         `json:"current"`
	Replicas int32         `json:"replicas"`
	Pod      simulate.Pod  `json:"pod"`
	StartUp  time.Duration `json:"startUp"`
}
