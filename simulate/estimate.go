package simulate

import (
	"fmt"
	"sort"
	"strconv"
)

// pending is a count of a group's pods still to place, and which.
type pending struct {
	g    *peg
	pods []int32 // unplaced members, in order
}

// templateNode is a group's template prepared for estimates.
type templateNode struct {
	group    *Group
	node     Node
	class    int
	overhead vec        // DaemonSet pods that would run on a new node
	ports    []HostPort // and their host ports
	dsPods   []int32
	seq      int
}

func (s *snapshot) prepare(g *Group) *templateNode {
	t := &templateNode{group: g}
	t.node = Node{Name: g.ID + "-template", Labels: g.Template.Labels, Taints: g.Template.Taints,
		Allocatable: g.Template.Allocatable, Capacity: g.Template.Capacity, Group: g.ID}
	probe := &snode{name: t.node.Name, labels: t.node.Labels, taints: t.node.Taints}
	t.class = s.classOf(probe)
	for i := s.nCluster; i < len(s.pods); i++ {
		p := s.pods[i]
		if staticReason(p, probe) != "" {
			continue
		}
		g := s.pegs[s.podPeg[i]]
		t.overhead.add(&g.req)
		t.ports = append(t.ports, p.HostPorts...)
		t.dsPods = append(t.dsPods, int32(i))
	}
	return t
}

// isDS reports whether pod i is one of the cluster's DaemonSet templates
// (appended after the cluster's pods).
func (s *snapshot) isDS(i int32) bool { return int(i) >= s.nCluster }

func (s *snapshot) fresh(t *templateNode) *snode {
	t.seq++
	return s.addFresh(&t.node, t.group.ID+"-new-"+strconv.Itoa(t.seq), t.group.ID, t.class, &t.overhead, t.ports)
}

// estimation is the outcome of one group's estimate.
type estimation struct {
	nodes    int
	placed   [][]int32 // per pending entry, the pods placed
	npods    int
	podsCPU  int64
	podsMem  int64
	limitHit bool
	timedOut bool
	segs     []segment // pods per node, in placement order
	// why is, per pending entry with pods left, why the estimate stopped
	// placing them.
	why []string
}

// segment is a run of pods placed on one new node.
type segment struct {
	node string
	pods []int32
}

// score orders equivalence groups for first-fit-decreasing: the exemplar's
// CPU and memory as fractions of the template's allocatable, summed.
func score(g *peg, alloc *vec) float64 {
	var s float64
	if alloc[dimCPU] > 0 {
		s += float64(g.req[dimCPU]) / float64(alloc[dimCPU])
	}
	if alloc[dimMem] > 0 {
		s += float64(g.req[dimMem]) / float64(alloc[dimMem])
	}
	return s
}

// estimate runs cluster-autoscaler's binpacking estimator for one group:
// groups in decreasing score order; each first fills the nodes already
// added, then next-fit onto new nodes, giving up on a group when a fresh
// node would not help. limit is the node limit (0 none, <0 forbids). The
// snapshot is left as it was.
func (s *snapshot) estimate(t *templateNode, work []pending, limit int, dl deadline) estimation {
	alloc := s.d.vec(t.group.Template.Allocatable)
	order := make([]int, len(work))
	scores := make([]float64, len(work))
	for i := range work {
		order[i] = i
		scores[i] = score(work[i].g, &alloc)
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })

	est := estimation{placed: make([][]int32, len(work)), why: make([]string, len(work))}
	s.begin()
	start := len(s.nodes)
	for _, wi := range order {
		w := work[wi]
		g := w.g
		left := len(w.pods)
		place := func(n *snode, k int) {
			s.placeBulk(g, n, k)
			next := len(w.pods) - left
			est.segs = append(est.segs, segment{node: n.name, pods: w.pods[next : next+k]})
			left -= k
		}
		// First fit over the nodes this estimate added.
		ff := newScan(s, g, start)
		for left > 0 {
			n := ff.next()
			if n == nil {
				break
			}
			place(n, s.fits(g, n, left))
		}
		// Next fit, adding nodes.
		hostSpread := spreadsOn(s, g, LabelHostname)
		for left > 0 {
			var last *snode
			if len(s.nodes) > start {
				last = s.nodes[len(s.nodes)-1]
				if k := s.fits(g, last, left); k > 0 {
					place(last, k)
					continue
				}
				if hostSpread {
					if n := ff.next(); n != nil {
						place(n, s.fits(g, n, left))
						continue
					}
				}
				if last.placed == 0 {
					est.why[wi] = "a new node of the group does not take the pod: " + s.reason(g, last)
					break // a fresh node would not help either
				}
			}
			if limit < 0 || (limit > 0 && len(s.nodes)-start >= limit) {
				est.limitHit = true
				if limit < 0 {
					est.why[wi] = "no node may be added: a limit is exhausted"
				} else {
					est.why[wi] = fmt.Sprintf("node limit %d reached before the pod was placed", limit)
				}
				break
			}
			if dl.passed() {
				est.timedOut = true
				est.why[wi] = "time budget spent before the pod was placed"
				break
			}
			mark := len(s.log)
			n := s.fresh(t)
			k := s.fits(g, n, left)
			if k == 0 {
				// A new node that takes no pod is not kept: later groups
				// would fill it (or count it as an empty spread domain)
				// and the option would ask for more nodes than it needs.
				est.why[wi] = "a new node of the group does not take the pod: " + s.reason(g, n)
				s.dropLast(mark)
				t.seq--
				break
			}
			place(n, k)
		}
		done := len(w.pods) - left
		est.placed[wi] = w.pods[:done]
		est.npods += done
		est.podsCPU += int64(done) * g.req[dimCPU]
		est.podsMem += int64(done) * g.req[dimMem]
		if est.limitHit || est.timedOut {
			// Later groups could still top up added nodes; the estimator
			// keeps going, as cluster-autoscaler does.
			continue
		}
	}
	for i := start; i < len(s.nodes); i++ {
		if s.nodes[i].placed > 0 {
			est.nodes++
		}
	}
	s.revert()
	return est
}

// scan is a first-fit scan over nodes[from:] for one more pod of g. Nodes
// it passed refused g; they keep refusing unless a tracker g depends on
// loosened (affinity gained a domain, a spread minimum rose), which
// restarts the scan.
type scan struct {
	s      *snapshot
	g      *peg
	from   int
	cursor int
	epoch  int64
}

func newScan(s *snapshot, g *peg, from int) *scan {
	return &scan{s: s, g: g, from: from, cursor: from, epoch: s.epoch(g)}
}

func (s *snapshot) epoch(g *peg) int64 {
	var e int64
	for _, ti := range g.aff {
		e += s.trackers[ti].loosen
	}
	for _, sp := range g.spread {
		e += s.trackers[sp.tracker].loosen
	}
	return e
}

// next is the first node from the cursor that takes one more pod of g.
func (sc *scan) next() *snode {
	if e := sc.s.epoch(sc.g); e != sc.epoch {
		sc.epoch, sc.cursor = e, sc.from
	}
	for ; sc.cursor < len(sc.s.nodes); sc.cursor++ {
		if n := sc.s.nodes[sc.cursor]; sc.s.fits(sc.g, n, 1) > 0 {
			return n
		}
	}
	return nil
}

// monotone reports whether a node that refuses one pod of g keeps refusing
// pods of g as more pods of g are placed.
func monotone(g *peg) bool { return len(g.aff) == 0 && len(g.spread) == 0 }

func spreadsOn(s *snapshot, g *peg, key string) bool {
	for _, sp := range g.spread {
		if s.keys[s.trackers[sp.tracker].key] == key {
			return true
		}
	}
	return false
}

// Estimation is the result of Estimate.
type Estimation struct {
	Group string `json:"group"`
	// Nodes is the number of new nodes that received at least one pod.
	Nodes int `json:"nodes"`
	// Pods are indices into Cluster.Pods of the pending pods placed.
	Pods []int `json:"pods"`
	// LimitReached is set when the node limit or the time budget stopped
	// the estimate before every pod that fits the template was placed.
	LimitReached bool `json:"limitReached,omitempty"`
	// Placements put each placed pod on a new node (<group>-new-<n>), in
	// the order placed.
	Placements []Placement `json:"placements"`
}

// Estimate is cluster-autoscaler's binpacking estimator for one group on
// its own: how many new nodes from g's template hold the cluster's pending
// pods, placing nothing on existing nodes. limit is a node limit (0 none).
func Estimate(c *Cluster, g Group, limit int) (Estimation, error) {
	if err := validateGroups([]Group{g}); err != nil {
		return Estimation{}, err
	}
	s, err := newSnapshot(c, []Group{g})
	if err != nil {
		return Estimation{}, err
	}
	t := s.prepare(&g)
	work := s.pendingWork()
	est := s.estimate(t, work, limit, deadline{})
	out := Estimation{Group: g.ID, Nodes: est.nodes, LimitReached: est.limitHit || est.timedOut}
	out.Pods = make([]int, 0, est.npods)
	for _, ps := range est.placed {
		for _, p := range ps {
			out.Pods = append(out.Pods, int(p))
		}
	}
	sort.Ints(out.Pods)
	out.Placements = make([]Placement, 0, est.npods)
	for _, sg := range est.segs {
		for _, p := range sg.pods {
			out.Placements = append(out.Placements, Placement{Pod: int(p), Node: sg.node})
		}
	}
	return out, nil
}

// pendingWork lists the pending pods of the cluster by equivalence group.
func (s *snapshot) pendingWork() []pending {
	var work []pending
	for _, g := range s.pegs {
		var ps []int32
		for _, i := range g.members {
			if s.podNode[i] < 0 && !s.isDS(i) && !s.pods[i].Terminal {
				ps = append(ps, i)
			}
		}
		if len(ps) > 0 {
			work = append(work, pending{g: g, pods: ps})
		}
	}
	return work
}
