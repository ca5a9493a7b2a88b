package simulate

import "time"

// Limits are cluster-autoscaler's scale-up limits. For node counts, 0 means
// no limit and a negative value forbids adding nodes; where several apply,
// the smallest positive one wins (cluster-autoscaler's threshold rules).
type Limits struct {
	// MaxNodesPerScaleUp caps one scale-up (--max-nodes-per-scaleup).
	MaxNodesPerScaleUp int `json:"maxNodesPerScaleUp,omitempty"`
	// MaxNodesTotal caps the cluster's node count, upcoming nodes
	// included (--max-nodes-total).
	MaxNodesTotal int `json:"maxNodesTotal,omitempty"`
	// MaxMilliCPU and MaxMemory are the cluster-wide resource quotas
	// (--cores-total, --memory-total upper bounds), summed over node
	// capacity; 0 means no quota.
	MaxMilliCPU int64 `json:"maxMilliCPU,omitempty"`
	MaxMemory   int64 `json:"maxMemory,omitempty"`
	// GroupBudget bounds one group's estimate and TotalBudget the whole
	// scale-up (--max-nodegroup-binpacking-duration,
	// --max-binpacking-time), measured with Clock; without a Clock no
	// time limit applies.
	GroupBudget time.Duration    `json:"groupBudget,omitempty"`
	TotalBudget time.Duration    `json:"totalBudget,omitempty"`
	Clock       func() time.Time `json:"-"`
}

// DefaultLimits are cluster-autoscaler's defaults: 1 000 nodes per
// scale-up, quotas of 320 000 cores and 6 400 000 GiB, budgets of 10 s per
// group and 5 min in all (time budgets apply once a Clock is set).
func DefaultLimits() Limits {
	return Limits{
		MaxNodesPerScaleUp: 1000,
		MaxMilliCPU:        320000 * 1000,
		MaxMemory:          6400000 << 30,
		GroupBudget:        10 * time.Second,
		TotalBudget:        5 * time.Minute,
	}
}

// combine merges node limits: any negative forbids (-1), otherwise the
// smallest positive, 0 when none is set.
func combine(limits ...int) int {
	out := 0
	for _, l := range limits {
		switch {
		case l < 0:
			return -1
		case l > 0 && (out == 0 || l < out):
			out = l
		}
	}
	return out
}

// quotaNodes is how many more nodes of capacity per fit under quota given
// used; 0 when no quota applies, -1 when none fits.
func quotaNodes(quota, used, per int64) int {
	if quota <= 0 || per <= 0 {
		return 0
	}
	left := quota - used
	if left < per {
		return -1
	}
	return int(left / per)
}

// deadline is a time budget measured on a caller's clock.
type deadline struct {
	clock func() time.Time
	end   time.Time
}

func newDeadline(clock func() time.Time, budget time.Duration) deadline {
	if clock == nil || budget <= 0 {
		return deadline{}
	}
	return deadline{clock: clock, end: clock().Add(budget)}
}

func (d deadline) passed() bool { return d.clock != nil && !d.clock().Before(d.end) }

func (d deadline) min(o deadline) deadline {
	switch {
	case d.clock == nil:
		return o
	case o.clock == nil || d.end.Before(o.end):
		return d
	}
	return o
}
