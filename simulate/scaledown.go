package simulate

import (
	"fmt"
	"sort"
)

// ScaleDownOptions configure ScaleDown. The zero value removes only empty
// nodes (threshold 0); DefaultScaleDown gives cluster-autoscaler's
// defaults.
type ScaleDownOptions struct {
	// Threshold is --scale-down-utilization-threshold: a node is a
	// candidate when its utilization is at most this.
	Threshold float64 `json:"threshold"`
	// GPUThreshold applies to nodes with GPUResource allocatable, whose
	// utilization counts that resource only.
	GPUThreshold float64 `json:"gpuThreshold"`
	GPUResource  string  `json:"gpuResource,omitempty"`
	// IgnoreDaemonSetsUtilization and IgnoreMirrorPodsUtilization leave
	// those pods out of the utilization.
	IgnoreDaemonSetsUtilization bool `json:"ignoreDaemonSetsUtilization,omitempty"`
	IgnoreMirrorPodsUtilization bool `json:"ignoreMirrorPodsUtilization,omitempty"`
	// AllowLocalStorage, AllowSystemPods and AllowCustomControllers invert
	// --skip-nodes-with-local-storage, --skip-nodes-with-system-pods and
	// --skip-nodes-with-custom-controller-pods (all true upstream).
	AllowLocalStorage      bool `json:"allowLocalStorage,omitempty"`
	AllowSystemPods        bool `json:"allowSystemPods,omitempty"`
	AllowCustomControllers bool `json:"allowCustomControllers,omitempty"`
	// MaxCandidates bounds the non-empty nodes simulated (cluster-
	// autoscaler's per-loop --scale-down-non-empty-candidates-count); 0
	// simulates every candidate.
	MaxCandidates int `json:"maxCandidates,omitempty"`
}

// DefaultScaleDown is cluster-autoscaler's configuration: threshold 0.5
// for CPU/memory and GPU nodes, nvidia.com/gpu as the GPU resource, local
// storage, kube-system pods without a budget and custom controllers
// blocking.
func DefaultScaleDown() ScaleDownOptions {
	return ScaleDownOptions{Threshold: 0.5, GPUThreshold: 0.5, GPUResource: "nvidia.com/gpu"}
}

// NodeUtilization is a node's utilization.
type NodeUtilization struct {
	Node        string  `json:"node"`
	CPU         float64 `json:"cpu"`
	Memory      float64 `json:"memory"`
	GPU         float64 `json:"gpu,omitempty"`
	Utilization float64 `json:"utilization"`
	// Resource names the resource the utilization was taken from.
	Resource string `json:"resource"`
}

// Removal is a node the simulation removed, and where its pods went.
type Removal struct {
	Node  string      `json:"node"`
	Group string      `json:"group"`
	Moves []Placement `json:"moves,omitempty"`
}

// Unremovable is a node that stays, and why; Pod is the blocking pod
// (index into Cluster.Pods, -1 when no pod is at fault).
type Unremovable struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
	Pod    int    `json:"pod"`
	Detail string `json:"detail,omitempty"`
}

// ScaleDownResult is the outcome of ScaleDown.
type ScaleDownResult struct {
	Utilization []NodeUtilization `json:"utilization"`
	// Removable are the nodes that can go, in the order simulated; each
	// removal saw the capacity the earlier ones left.
	Removable   []Removal     `json:"removable"`
	Unremovable []Unremovable `json:"unremovable"`
}

// ScaleDown runs cluster-autoscaler's scale-down simulation: utilization
// per node; candidates at or under the threshold, least utilized first;
// for each, the drain rules decide which pods must move, and the pods are
// placed on the remaining nodes (most utilized first), the node's removal
// committed when all fit so later candidates see the reduced capacity.
// Group minimums and PodDisruptionBudgets hold across removals.
func ScaleDown(c *Cluster, groups []Group, o ScaleDownOptions) (*ScaleDownResult, error) {
	if err := validateGroups(groups); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	s, err := newSnapshot(c, groups)
	if err != nil {
		return nil, err
	}
	size := map[string]int{}
	minOf := map[string]int{}
	for _, g := range groups {
		size[g.ID] = g.Target
		minOf[g.ID] = g.Min
	}
	res := &ScaleDownResult{Utilization: make([]NodeUtilization, len(s.nodes))}
	type cand struct {
		n    *snode
		util float64
	}
	var cands []cand
	for i, n := range s.nodes {
		u := s.utilization(n, &o)
		res.Utilization[i] = u
		limit := o.Threshold
		if u.Resource == "gpu" {
			limit = o.GPUThreshold
		}
		_, managed := size[n.group]
		switch {
		case n.group == "" || !managed:
			res.Unremovable = append(res.Unremovable, Unremovable{Node: n.name, Reason: ReasonNotAutoscaled, Pod: -1})
		case n.src.ScaleDownDisabled:
			res.Unremovable = append(res.Unremovable, Unremovable{Node: n.name, Reason: ReasonScaleDownDisabledAnnotation, Pod: -1})
		case u.Utilization > limit:
			res.Unremovable = append(res.Unremovable, Unremovable{Node: n.name, Reason: ReasonNotUnderutilized, Pod: -1,
				Detail: fmt.Sprintf("%s utilization %.3f above %.3f", u.Resource, u.Utilization, limit)})
		default:
			cands = append(cands, cand{n, u.Utilization})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].util != cands[j].util {
			return cands[i].util < cands[j].util
		}
		return cands[i].n.name < cands[j].n.name
	})
	// Destinations: nodes that are not candidates, most utilized first,
	// then the candidates in reverse order.
	isCand := make([]bool, len(s.nodes))
	for _, c := range cands {
		isCand[c.n.idx] = true
	}
	var dest []*snode
	for _, i := range byUtilDesc(res.Utilization) {
		if !isCand[i] {
			dest = append(dest, s.nodes[i])
		}
	}
	for i := len(cands) - 1; i >= 0; i-- {
		dest = append(dest, cands[i].n)
	}
	pdbLeft := make([]int32, len(c.PDBs))
	for i := range c.PDBs {
		pdbLeft[i] = c.PDBs[i].DisruptionsAllowed
	}
	sim := &drainSim{s: s, o: &o, pdbs: c.PDBs, pdbLeft: pdbLeft, dest: dest, cursor: map[*peg]int{}}
	nonEmpty := 0
	for _, cd := range cands {
		n := cd.n
		if size[n.group]-1 < minOf[n.group] {
			res.Unremovable = append(res.Unremovable, Unremovable{Node: n.name, Reason: ReasonNodeGroupMinSizeReached, Pod: -1,
				Detail: fmt.Sprintf("group %s at its minimum size %d", n.group, minOf[n.group])})
			continue
		}
		if o.MaxCandidates > 0 && nonEmpty >= o.MaxCandidates && !sim.empty(n) {
			continue
		}
		if !sim.empty(n) {
			nonEmpty++
		}
		moves, bad := sim.remove(n)
		if bad != nil {
			res.Unremovable = append(res.Unremovable, *bad)
			continue
		}
		size[n.group]--
		res.Removable = append(res.Removable, Removal{Node: n.name, Group: n.group, Moves: moves})
	}
	return res, nil
}

func byUtilDesc(us []NodeUtilization) []int {
	idx := make([]int, len(us))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if us[idx[a]].Utilization != us[idx[b]].Utilization {
			return us[idx[a]].Utilization > us[idx[b]].Utilization
		}
		return us[idx[a]].Node > us[idx[b]].Node
	})
	return idx
}

// utilization is cluster-autoscaler's: the larger of CPU and memory
// requests over allocatable, or the GPU share on GPU nodes.
func (s *snapshot) utilization(n *snode, o *ScaleDownOptions) NodeUtilization {
	var req vec
	for _, p := range n.pods {
		pod := s.pods[p]
		if pod.Terminal || (o.IgnoreDaemonSetsUtilization && pod.DaemonSet()) || (o.IgnoreMirrorPodsUtilization && pod.Mirror) {
			continue
		}
		req.add(&s.pegs[s.podPeg[p]].req)
	}
	u := NodeUtilization{Node: n.name}
	ratio := func(d int) float64 {
		if n.alloc[d] <= 0 {
			return 0
		}
		return float64(req[d]) / float64(n.alloc[d])
	}
	u.CPU, u.Memory = ratio(dimCPU), ratio(dimMem)
	if gi := s.d.index(o.GPUResource); gi >= 0 && n.alloc[gi] > 0 {
		u.GPU = ratio(gi)
		u.Utilization, u.Resource = u.GPU, "gpu"
		return u
	}
	u.Utilization, u.Resource = u.CPU, "cpu"
	if u.Memory > u.CPU {
		u.Utilization, u.Resource = u.Memory, "memory"
	}
	return u
}

// drainSim removes nodes one at a time.
type drainSim struct {
	s       *snapshot
	o       *ScaleDownOptions
	pdbs    []PDB
	pdbLeft []int32
	dest    []*snode
	cursor  map[*peg]int
}

func (d *drainSim) empty(n *snode) bool {
	for _, p := range n.pods {
		if out, _, _ := drainRule(d.s.pods[p], d.o, true); out == drainMove || out == drainBlock {
			return false
		}
	}
	return true
}

func (d *drainSim) covering(p *Pod) []int {
	var out []int
	for i := range d.pdbs {
		b := &d.pdbs[i]
		if b.Namespace == p.Namespace && b.Selector.matches(p.Labels) {
			out = append(out, i)
		}
	}
	return out
}

// remove simulates draining n; on success the moves are committed.
func (d *drainSim) remove(n *snode) ([]Placement, *Unremovable) {
	s := d.s
	var move []int32
	use := map[int]int32{}
	for _, p := range n.pods {
		pod := s.pods[p]
		pdbs := d.covering(pod)
		out, reason, detail := drainRule(pod, d.o, len(pdbs) > 0)
		switch out {
		case drainBlock:
			return nil, &Unremovable{Node: n.name, Reason: reason, Pod: int(p), Detail: detail}
		case drainSkip, drainDrop:
			continue
		case drainMove:
			move = append(move, p)
		}
		for _, b := range pdbs {
			use[b]++
			if use[b] > d.pdbLeft[b] {
				return nil, &Unremovable{Node: n.name, Reason: ReasonNotEnoughPdb, Pod: int(p),
					Detail: "PodDisruptionBudget " + d.pdbs[b].Namespace + "/" + d.pdbs[b].Name + " allows no more disruptions"}
			}
		}
	}
	// Higher priority first, then by equivalence group.
	sort.SliceStable(move, func(a, b int) bool {
		pa, pb := s.pods[move[a]].Priority, s.pods[move[b]].Priority
		if pa != pb {
			return pa > pb
		}
		return s.podPeg[move[a]] < s.podPeg[move[b]]
	})
	for _, p := range move {
		s.unplace(p)
	}
	n.removed = true
	moves := make([]Placement, 0, len(move))
	for k, p := range move {
		g := s.pegs[s.podPeg[p]]
		start := 0
		if monotone(g) {
			start = d.cursor[g]
		}
		placed := false
		for i := start; i < len(d.dest); i++ {
			to := d.dest[i]
			if to == n || to.removed {
				continue
			}
			if s.fits(g, to, 1) > 0 {
				s.placeOne(p, to)
				moves = append(moves, Placement{Pod: int(p), Node: to.name})
				if monotone(g) {
					d.cursor[g] = i
				}
				placed = true
				break
			}
		}
		if !placed {
			// Undo: the moved pods go back, cursors restart.
			for _, m := range moves {
				s.unplace(int32(m.Pod))
			}
			n.removed = false
			for _, q := range move {
				s.placeOne(q, n)
			}
			clear(d.cursor)
			return nil, &Unremovable{Node: n.name, Reason: ReasonNoPlaceToMovePods, Pod: int(move[k]),
				Detail: "no node can take pod " + s.pods[move[k]].Key()}
		}
	}
	for b, k := range use {
		d.pdbLeft[b] -= k
	}
	return moves, nil
}
