package nodegroup

import "time"

// Resources are node resources in their natural integer units: CPU in
// millicores, memory and ephemeral storage in bytes, pods as a count, and
// extended resources ("nvidia.com/gpu") as counts.
type Resources struct {
	MilliCPU         int64            `json:"milliCPU"`
	Memory           int64            `json:"memory"`
	EphemeralStorage int64            `json:"ephemeralStorage,omitempty"`
	Pods             int64            `json:"pods"`
	Extended         map[string]int64 `json:"extended,omitempty"`
}

// Taint is a node taint.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"` // NoSchedule, PreferNoSchedule or NoExecute
}

// Well-known node labels a template carries.
const (
	LabelZone         = "topology.kubernetes.io/zone"
	LabelRegion       = "topology.kubernetes.io/region"
	LabelInstanceType = "node.kubernetes.io/instance-type"
	LabelArch         = "kubernetes.io/arch"
	LabelOS           = "kubernetes.io/os"
	// LabelCapacityType is "spot" or "on-demand" (Karpenter's key).
	LabelCapacityType = "karpenter.sh/capacity-type"
)

// Capacity types.
const (
	CapacitySpot     = "spot"
	CapacityOnDemand = "on-demand"
)

// Template is the node a scale-up of the group would add, as the scheduler
// would see it once registered.
type Template struct {
	InstanceType string    `json:"instanceType"`
	Capacity     Resources `json:"capacity"`
	// Allocatable is capacity less kubelet and system reservations and the
	// hard eviction threshold (see Allocatable).
	Allocatable Resources         `json:"allocatable"`
	Labels      map[string]string `json:"labels"`
	Taints      []Taint           `json:"taints,omitempty"`
	// PricePerHour is the instance's price in USD, 0 when unknown.
	PricePerHour float64 `json:"pricePerHour,omitempty"`
}

// Options are per-group overrides of autoscaling options (the
// k8s.io/cluster-autoscaler/node-template/autoscaling-options/* tags); a nil
// field keeps the autoscaler's default.
type Options struct {
	ScaleDownUtilizationThreshold    *float64       `json:"scaleDownUtilizationThreshold,omitempty"`
	ScaleDownGpuUtilizationThreshold *float64       `json:"scaleDownGpuUtilizationThreshold,omitempty"`
	ScaleDownUnneededTime            *time.Duration `json:"scaleDownUnneededTime,omitempty"`
	ScaleDownUnreadyTime             *time.Duration `json:"scaleDownUnreadyTime,omitempty"`
	IgnoreDaemonSetsUtilization      *bool          `json:"ignoreDaemonSetsUtilization,omitempty"`
}

// Reservations are what the kubelet keeps off the scheduler: kube-reserved,
// system-reserved and the hard eviction threshold.
type Reservations struct {
	KubeReserved    Resources `json:"kubeReserved"`
	SystemReserved  Resources `json:"systemReserved"`
	EvictionMemory  int64     `json:"evictionMemory"`  // memory.available hard threshold, bytes
	EvictionStorage int64     `json:"evictionStorage"` // nodefs.available hard threshold, bytes
}

const mib = 1 << 20

// EKSReservations are the reservations of the Amazon EKS optimized AMIs for
// a node with this capacity: kube-reserved CPU of 6 % of the first core, 1 %
// of the second, 0.5 % of the next two and 0.25 % of the rest; kube-reserved
// memory of 255 MiB + 11 MiB per pod the node may run; 100 MiB memory and
// 10 % storage eviction thresholds. Cluster-autoscaler's AWS templates
// subtract none of this, so it overestimates what fits on a new node.
func EKSReservations(capacity Resources) Reservations {
	// The EKS bootstrap reserves, in hundredths of a percent, per range of
	// whole-core millicores, with integer division.
	total := capacity.MilliCPU / 1000 * 1000
	ranges := [...]struct{ from, to, bp int64 }{{0, 1000, 600}, {1000, 2000, 100}, {2000, 4000, 50}, {4000, total, 25}}
	var cpu int64
	for _, r := range ranges {
		if hi := min(total, r.to); hi > r.from {
			cpu += (hi - r.from) * r.bp / 10000
		}
	}
	return Reservations{
		KubeReserved:    Resources{MilliCPU: cpu, Memory: (255 + 11*capacity.Pods) * mib},
		EvictionMemory:  100 * mib,
		EvictionStorage: capacity.EphemeralStorage / 10,
	}
}

// Allocatable is capacity less the reservations, as the kubelet computes
// node.status.allocatable; no resource goes below zero.
func Allocatable(capacity Resources, r Reservations) Resources {
	sub := func(v int64, parts ...int64) int64 {
		for _, p := range parts {
			v -= p
		}
		return max(v, 0)
	}
	out := Resources{
		MilliCPU:         sub(capacity.MilliCPU, r.KubeReserved.MilliCPU, r.SystemReserved.MilliCPU),
		Memory:           sub(capacity.Memory, r.KubeReserved.Memory, r.SystemReserved.Memory, r.EvictionMemory),
		EphemeralStorage: sub(capacity.EphemeralStorage, r.KubeReserved.EphemeralStorage, r.SystemReserved.EphemeralStorage, r.EvictionStorage),
		Pods:             capacity.Pods,
	}
	if len(capacity.Extended) > 0 {
		out.Extended = make(map[string]int64, len(capacity.Extended))
		for k, v := range capacity.Extended {
			out.Extended[k] = v
		}
	}
	return out
}
