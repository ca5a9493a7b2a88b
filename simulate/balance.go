package simulate

import (
	"math"
	"sort"

	"github.com/kscale/kscale/nodegroup"
)

// ignoredForSimilarity are the labels cluster-autoscaler ignores when it
// compares groups: hostname, zone and region in both label generations,
// and the AWS provider's extras.
var ignoredForSimilarity = []string{
	LabelHostname,
	nodegroup.LabelZone, nodegroup.LabelRegion,
	"failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
	"alpha.eksctl.io/instance-id", "alpha.eksctl.io/nodegroup-name", "eks.amazonaws.com/nodegroup",
	"k8s.amazonaws.com/eniConfig", "lifecycle", "topology.ebs.csi.aws.com/zone", "topology.k8s.aws/zone-id",
}

// Similar reports whether two groups are interchangeable for balancing, by
// cluster-autoscaler's rules: the same capacity except memory within 1.5 %,
// allocatable CPU and memory within 5 %, the same labels except hostname,
// zone, region, the provider's extras and ignore, and the same taints.
// (Free capacity after DaemonSets is compared by ScaleUp, which knows them.)
func Similar(a, b *nodegroup.Template, ignore []string) bool {
	ca, cb := a.Capacity, b.Capacity
	if ca.MilliCPU != cb.MilliCPU || ca.Pods != cb.Pods || ca.EphemeralStorage != cb.EphemeralStorage || !sameExt(ca.Extended, cb.Extended) {
		return false
	}
	if !within(ca.Memory, cb.Memory, 0.015) {
		return false
	}
	if !within(a.Allocatable.MilliCPU, b.Allocatable.MilliCPU, 0.05) || !within(a.Allocatable.Memory, b.Allocatable.Memory, 0.05) {
		return false
	}
	skip := func(k string) bool { return contains(ignoredForSimilarity, k) || contains(ignore, k) }
	for k, v := range a.Labels {
		if skip(k) {
			continue
		}
		if w, ok := b.Labels[k]; !ok || w != v {
			return false
		}
	}
	for k := range b.Labels {
		if _, ok := a.Labels[k]; !ok && !skip(k) {
			return false
		}
	}
	if len(a.Taints) != len(b.Taints) {
		return false
	}
	for i := range a.Taints {
		if a.Taints[i] != b.Taints[i] {
			return false
		}
	}
	return true
}

func sameExt(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// within reports |a−b| ≤ tol × max(a, b).
func within(a, b int64, tol float64) bool {
	hi := math.Max(float64(a), float64(b))
	return math.Abs(float64(a)-float64(b)) <= tol*hi
}

// Increase is a resize of one group.
type Increase struct {
	Group string `json:"group"`
	Delta int    `json:"delta"`
}

// Balance spreads n new nodes over similar groups as cluster-autoscaler
// does: one node at a time to the group with the smallest target still
// below its maximum (ties by id), never past the combined room. It returns
// the increases in group-id order and the nodes that found no room. The
// result is computed level by level, so the cost follows the number of
// groups, not n or the groups' sizes.
func Balance(groups []Group, n int) ([]Increase, int) {
	type slot struct {
		id          string
		target, max int64
		add         int64
	}
	slots := make([]*slot, 0, len(groups))
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, g := range groups {
		sl := &slot{id: g.ID, target: int64(g.Target), max: int64(g.Max)}
		slots = append(slots, sl)
		if sl.target < sl.max {
			lo = min(lo, sl.target)
			hi = max(hi, sl.max)
		}
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].id < slots[j].id })
	want := int64(max(n, 0))
	// need(L) is how many nodes bring every group below L up to L (or to
	// its maximum); the one-at-a-time rule reaches the highest L with
	// need(L) <= n, then gives one more to groups at L in id order.
	need := func(level int64) int64 {
		var sum int64
		for _, sl := range slots {
			if up := min(level, sl.max) - sl.target; up > 0 {
				sum = satAdd(sum, up)
			}
		}
		return sum
	}
	left := want
	if lo < hi && want > 0 {
		a, b := lo, hi // need(a) = 0 <= want; find the largest level with need <= want
		for a < b {
			mid := b - (b-a)/2 // in (a, b], without overflow
			if need(mid) <= want {
				a = mid
			} else {
				b = mid - 1
			}
		}
		for _, sl := range slots {
			if up := min(a, sl.max) - sl.target; up > 0 {
				sl.add = up
			}
		}
		left = want - need(a)
		for _, sl := range slots {
			if left == 0 {
				break
			}
			if sl.target+sl.add == a && a < sl.max {
				sl.add++
				left--
			}
		}
	}
	var out []Increase
	for _, sl := range slots {
		if sl.add > 0 {
			out = append(out, Increase{Group: sl.id, Delta: int(sl.add)})
		}
	}
	return out, int(left)
}
