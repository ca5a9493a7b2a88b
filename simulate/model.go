package simulate

import "github.com/kscale/kscale/nodegroup"

// Pod is a pod as the simulator sees it: what it asks of a node, what it
// asks of other pods, and what decides whether it may be evicted. Build it
// with PodFromV1 or by hand.
type Pod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Requests are the pod's effective requests (max of init containers and
	// the sum of the others, plus overhead); Pods is ignored (always 1).
	Requests nodegroup.Resources `json:"requests"`
	Priority int32               `json:"priority,omitempty"`

	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// NodeAffinity is the required node affinity: the pod fits a node that
	// matches any one term.
	NodeAffinity []NodeSelectorTerm `json:"nodeAffinity,omitempty"`
	Tolerations  []Toleration       `json:"tolerations,omitempty"`
	HostPorts    []HostPort         `json:"hostPorts,omitempty"`
	// Affinity and AntiAffinity are required inter-pod terms.
	Affinity     []PodAffinityTerm `json:"affinity,omitempty"`
	AntiAffinity []PodAffinityTerm `json:"antiAffinity,omitempty"`
	// Spread holds the DoNotSchedule topology spread constraints.
	Spread []SpreadConstraint `json:"spread,omitempty"`

	// NodeName is the node the pod runs on; empty for a pending pod.
	NodeName string `json:"nodeName,omitempty"`
	// Owner is the pod's controller; nil for a bare pod.
	Owner *Owner `json:"owner,omitempty"`
	// Mirror marks a static pod's mirror; Terminal a pod that has finished
	// (Succeeded or Failed), which holds no resources and counts for no
	// affinity or spread, as kube-scheduler does not list it; Terminating
	// a pod being deleted past its grace period.
	Mirror      bool `json:"mirror,omitempty"`
	Terminal    bool `json:"terminal,omitempty"`
	Terminating bool `json:"terminating,omitempty"`
	// Deleting marks a pod with a deletion timestamp (Terminating implies
	// it): it keeps its resources and its part in inter-pod affinity until
	// it is gone, but kube-scheduler leaves it out of topology spread
	// counts.
	Deleting bool `json:"deleting,omitempty"`
	// SafeToEvict is the cluster-autoscaler.kubernetes.io/safe-to-evict
	// annotation: "true", "false", "on-completion" or empty.
	SafeToEvict string `json:"safeToEvict,omitempty"`
	// LocalStorage lists the pod's volumes that keep data on the node
	// (hostPath, emptyDir not in memory) and are not named in
	// cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes.
	LocalStorage []string `json:"localStorage,omitempty"`

	// Unmodeled lists what the pod asks for that the simulator does not
	// model (a preferred term, a DRA claim, ...); a non-empty list is
	// reported with every result that places the pod.
	Unmodeled []string `json:"unmodeled,omitempty"`
}

// Owner is a pod's controlling owner reference.
type Owner struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

// DaemonSet reports whether a DaemonSet controls the pod.
func (p *Pod) DaemonSet() bool { return p.Owner != nil && p.Owner.Kind == "DaemonSet" }

// Key is namespace/name.
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// Operator is a label requirement's operator.
type Operator string

// Operators of node selector and label selector requirements.
const (
	OpIn           Operator = "In"
	OpNotIn        Operator = "NotIn"
	OpExists       Operator = "Exists"
	OpDoesNotExist Operator = "DoesNotExist"
	OpGt           Operator = "Gt"
	OpLt           Operator = "Lt"
)

// Requirement is one label requirement.
type Requirement struct {
	Key      string   `json:"key"`
	Operator Operator `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// NodeSelectorTerm is one term of a required node affinity: every
// requirement on labels and on fields (only metadata.name) must hold.
type NodeSelectorTerm struct {
	Labels []Requirement `json:"labels,omitempty"`
	Fields []Requirement `json:"fields,omitempty"`
}

// Selector is a label selector: every MatchLabels pair and every
// requirement must hold. The zero Selector matches every pod.
type Selector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	Match       []Requirement     `json:"match,omitempty"`
}

// PodAffinityTerm is a required inter-pod (anti-)affinity term: pods
// matching Selector in Namespaces (the pod's own when empty) on nodes that
// share the value of TopologyKey.
type PodAffinityTerm struct {
	Selector    Selector `json:"selector"`
	Namespaces  []string `json:"namespaces,omitempty"`
	TopologyKey string   `json:"topologyKey"`
}

// SpreadConstraint is a DoNotSchedule topology spread constraint, counted
// over the pod's own namespace on nodes that match the pod's node selector
// and affinity (nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore).
type SpreadConstraint struct {
	MaxSkew     int32    `json:"maxSkew"`
	TopologyKey string   `json:"topologyKey"`
	Selector    Selector `json:"selector"`
	MinDomains  int32    `json:"minDomains,omitempty"`
}

// Toleration is a pod toleration.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"` // Equal (default) or Exists
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"` // empty matches every effect
}

// HostPort is a host port a pod binds.
type HostPort struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol,omitempty"` // TCP when empty
	IP       string `json:"ip,omitempty"`       // every address when empty or 0.0.0.0
}

// Node is a node: an existing one, or a copy of a group's template.
type Node struct {
	Name        string              `json:"name"`
	Labels      map[string]string   `json:"labels,omitempty"`
	Taints      []nodegroup.Taint   `json:"taints,omitempty"`
	Allocatable nodegroup.Resources `json:"allocatable"`
	// Capacity is the node's raw capacity (least-waste counts waste
	// against it); Allocatable is used when zero.
	Capacity nodegroup.Resources `json:"capacity,omitempty"`
	// Group is the id of the node group owning the node; empty for a node
	// no group manages (never scaled down).
	Group string `json:"group,omitempty"`
	// Unschedulable is spec.unschedulable (cordoned).
	Unschedulable bool `json:"unschedulable,omitempty"`
	// ScaleDownDisabled is the
	// cluster-autoscaler.kubernetes.io/scale-down-disabled=true annotation.
	ScaleDownDisabled bool `json:"scaleDownDisabled,omitempty"`
}

// Cluster is a snapshot: nodes, the pods on them and the pending ones
// (NodeName empty), the DaemonSets whose pods every new node would run, and
// the PodDisruptionBudgets.
type Cluster struct {
	Nodes []Node `json:"nodes"`
	Pods  []Pod  `json:"pods"`
	// DaemonSets are pod templates of the cluster's DaemonSets; each runs
	// on a new node whose labels and taints it passes.
	DaemonSets []Pod `json:"daemonSets,omitempty"`
	PDBs       []PDB `json:"pdbs,omitempty"`
}

// PDB is a PodDisruptionBudget.
type PDB struct {
	Namespace          string   `json:"namespace"`
	Name               string   `json:"name"`
	Selector           Selector `json:"selector"`
	DisruptionsAllowed int32    `json:"disruptionsAllowed"`
}

// Group is a node group as the scale-up simulation needs it.
type Group struct {
	ID       string `json:"id"`
	Min, Max int
	// Target is the group's current target size; nodes registered for it
	// are those in Cluster.Nodes with this Group, and the difference is
	// added as upcoming nodes.
	Target   int                `json:"target"`
	Template nodegroup.Template `json:"template"`
}
