package simulate

import (
	"fmt"
	"sort"
)

// ConsolidateOptions configure Consolidate.
type ConsolidateOptions struct {
	// Drain holds the drainability settings (its thresholds are not used:
	// consolidation looks at price, not utilization).
	Drain ScaleDownOptions
	// MaxCandidates bounds the multi-node search (Karpenter: 100); 0 means
	// 100.
	MaxCandidates int
}

// Consolidation actions.
const (
	ActionNone    = ""
	ActionDelete  = "delete"
	ActionReplace = "replace"
)

// Consolidation is one disruption decision, Karpenter-style: remove nodes
// whose pods fit elsewhere, or replace them with one cheaper node.
type Consolidation struct {
	Action string   `json:"action"`
	Remove []string `json:"remove,omitempty"`
	// Replacement is the group of the one new node a replace adds (named
	// <group>-new-1 in Moves).
	Replacement string `json:"replacement,omitempty"`
	// Moves say where each evicted pod goes.
	Moves          []Placement `json:"moves,omitempty"`
	SavingsPerHour float64     `json:"savingsPerHour"`
	Reason         string      `json:"reason"`
}

// Consolidate finds one consolidation, in Karpenter's order: empty nodes
// first (all deleted at once); then the longest prefix of candidates —
// nodes whose pods may all be evicted, ordered by price over pods evicted
// (Karpenter's savings ratio, with every pod costing 1) — that can go,
// found by binary search, with at most one replacement node; then single
// nodes in order. A set is deleted when its pods fit the other nodes, and
// replaced when they fit the other nodes plus one new node of a group
// cheaper than the set (the cheapest that works). Nodes need a price (their
// group's template PricePerHour) to be candidates; group minimums and
// PodDisruptionBudgets hold. It changes nothing in c.
func Consolidate(c *Cluster, groups []Group, o ConsolidateOptions) (*Consolidation, error) {
	if err := validateGroups(groups); err != nil {
		return nil, err
	}
	s, err := newSnapshot(c, groups)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Group{}
	for i := range groups {
		byID[groups[i].ID] = &groups[i]
	}
	limit := o.MaxCandidates
	if limit <= 0 {
		limit = 100
	}
	k := &consolidator{s: s, o: &o, groups: groups, byID: byID, pdbs: c.PDBs}
	type cand struct {
		n     *snode
		price float64
		pods  int
	}
	var cands []cand
	var empty []*snode
	for _, n := range s.nodes {
		g := byID[n.group]
		if g == nil || n.src.ScaleDownDisabled || g.Template.PricePerHour <= 0 {
			continue
		}
		movable, ok := k.movable(n)
		if !ok {
			continue
		}
		if len(movable) == 0 {
			empty = append(empty, n)
			continue
		}
		cands = append(cands, cand{n, g.Template.PricePerHour, len(movable)})
	}
	if len(empty) > 0 {
		res := &Consolidation{Action: ActionDelete}
		left := map[string]int{}
		for _, g := range groups {
			left[g.ID] = g.Target - g.Min
		}
		for _, n := range empty {
			if left[n.group] <= 0 {
				continue
			}
			left[n.group]--
			res.Remove = append(res.Remove, n.name)
			res.SavingsPerHour += byID[n.group].Template.PricePerHour
		}
		if len(res.Remove) > 0 {
			res.Reason = fmt.Sprintf("%d empty node(s) deleted", len(res.Remove))
			return res, nil
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		ri, rj := cands[i].price/float64(1+cands[i].pods), cands[j].price/float64(1+cands[j].pods)
		if ri != rj {
			return ri > rj
		}
		return cands[i].n.name < cands[j].n.name
	})
	if len(cands) > limit {
		cands = cands[:limit]
	}
	set := func(m int) []*snode {
		out := make([]*snode, m)
		for i := range out {
			out[i] = cands[i].n
		}
		return out
	}
	// Multi-node: the longest workable prefix of at least two nodes.
	lo, hi := 2, len(cands)
	var best *Consolidation
	for lo <= hi {
		mid := (lo + hi) / 2
		if r := k.try(set(mid)); r != nil {
			best, lo = r, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best != nil {
		best.Reason = fmt.Sprintf("multi-node consolidation: %s %d node(s), saving %.4f/h", best.Action, len(best.Remove), best.SavingsPerHour)
		return best, nil
	}
	for _, c := range cands {
		if r := k.try([]*snode{c.n}); r != nil {
			r.Reason = fmt.Sprintf("single-node consolidation: %s %s, saving %.4f/h", r.Action, c.n.name, r.SavingsPerHour)
			return r, nil
		}
	}
	return &Consolidation{Reason: fmt.Sprintf("no consolidation among %d candidate(s)", len(cands))}, nil
}

type consolidator struct {
	s      *snapshot
	o      *ConsolidateOptions
	groups []Group
	byID   map[string]*Group
	pdbs   []PDB
}

// movable lists the pods of n that must move, or false when one blocks.
func (k *consolidator) movable(n *snode) ([]int32, bool) {
	var out []int32
	use := map[int]int32{}
	for _, p := range n.pods {
		pod := k.s.pods[p]
		var pdbs []int
		for i := range k.pdbs {
			b := &k.pdbs[i]
			if b.Namespace == pod.Namespace && b.Selector.matches(pod.Labels) {
				pdbs = append(pdbs, i)
			}
		}
		switch outcome, _, _ := drainRule(pod, &k.o.Drain, len(pdbs) > 0); outcome {
		case drainBlock:
			return nil, false
		case drainMove:
			for _, b := range pdbs {
				use[b]++
				if use[b] > k.pdbs[b].DisruptionsAllowed {
					return nil, false
				}
			}
			out = append(out, p)
		}
	}
	return out, true
}

// try checks removing set: a delete when its pods fit the other nodes,
// else a replace with the cheapest cheaper group whose one new node makes
// them fit; nil when neither works. The snapshot is left as it was.
func (k *consolidator) try(set []*snode) *Consolidation {
	s := k.s
	price := 0.0
	per := map[string]int{}
	for _, n := range set {
		price += k.byID[n.group].Template.PricePerHour
		per[n.group]++
	}
	for id, m := range per {
		if g := k.byID[id]; g.Target-m < g.Min {
			return nil
		}
	}
	// PodDisruptionBudgets across the whole set.
	use := map[int]int32{}
	var pods []int32
	for _, n := range set {
		mv, ok := k.movable(n)
		if !ok {
			return nil
		}
		pods = append(pods, mv...)
		for _, p := range mv {
			for i := range k.pdbs {
				b := &k.pdbs[i]
				if b.Namespace == s.pods[p].Namespace && b.Selector.matches(s.pods[p].Labels) {
					if use[i]++; use[i] > b.DisruptionsAllowed {
						return nil
					}
				}
			}
		}
	}
	if moves, ok := k.place(set, pods, nil); ok {
		return &Consolidation{Action: ActionDelete, Remove: names(set), Moves: moves, SavingsPerHour: price}
	}
	// Replacement candidates, cheapest first.
	order := make([]*Group, 0, len(k.groups))
	for i := range k.groups {
		g := &k.groups[i]
		if p := g.Template.PricePerHour; p > 0 && p < price && g.Target-per[g.ID]+1 <= g.Max {
			order = append(order, g)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Template.PricePerHour < order[j].Template.PricePerHour })
	for _, g := range order {
		t := s.prepare(g)
		s.begin()
		fresh := s.fresh(t)
		s.rec = false // placements are undone by hand; the log keeps only the new node
		moves, ok := k.place(set, pods, fresh)
		s.rec = true
		s.revert()
		if ok {
			return &Consolidation{Action: ActionReplace, Remove: names(set), Replacement: g.ID, Moves: moves,
				SavingsPerHour: price - g.Template.PricePerHour}
		}
	}
	return nil
}

// place moves pods off set onto the other nodes (most utilized first), then
// extra; it always restores the snapshot and reports whether all fit.
func (k *consolidator) place(set []*snode, pods []int32, extra *snode) ([]Placement, bool) {
	s := k.s
	from := make(map[int32]*snode, len(pods))
	for _, p := range pods {
		from[p] = s.nodes[s.podNode[p]]
		s.unplace(p)
	}
	for _, n := range set {
		n.removed = true
	}
	var dest []*snode
	for _, n := range s.nodes {
		if !n.removed && n != extra {
			dest = append(dest, n)
		}
	}
	sort.SliceStable(dest, func(i, j int) bool {
		return dest[i].used[dimCPU]*dest[j].alloc[dimCPU] > dest[j].used[dimCPU]*dest[i].alloc[dimCPU]
	})
	if extra != nil {
		dest = append(dest, extra)
	}
	order := append([]int32(nil), pods...)
	sort.SliceStable(order, func(a, b int) bool { return s.pods[order[a]].Priority > s.pods[order[b]].Priority })
	var moves []Placement
	ok := true
	for _, p := range order {
		g := s.pegs[s.podPeg[p]]
		placed := false
		for _, n := range dest {
			if s.fits(g, n, 1) > 0 {
				s.placeOne(p, n)
				moves = append(moves, Placement{Pod: int(p), Node: n.name})
				placed = true
				break
			}
		}
		if !placed {
			ok = false
			break
		}
	}
	// Restore.
	for _, m := range moves {
		s.unplace(int32(m.Pod))
	}
	for _, n := range set {
		n.removed = false
	}
	for _, p := range pods {
		s.placeOne(p, from[p])
	}
	return moves, ok
}

func names(ns []*snode) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.name
	}
	return out
}
