package simulate

import (
	"fmt"
	"sort"
)

// ProvisionOptions configure Provision.
type ProvisionOptions struct {
	// Limits: MaxNodesTotal and the quotas bound the nodes added; group
	// maxima always apply. Per-scale-up limits and budgets do not.
	Limits Limits
}

// ProvisionResult is where Provision put every pending pod.
type ProvisionResult struct {
	// Placements bind every pod placed, on existing, upcoming or new nodes
	// (new ones named <group>-new-<n>), in the order placed: a new node
	// appears with the first pod placed on it.
	Placements []Placement `json:"placements"`
	// NewNodes counts the nodes added per group.
	NewNodes map[string]int `json:"newNodes"`
	// Nodes lists the new nodes with their final group.
	Nodes         []NewNode       `json:"nodes"`
	Unschedulable []Unschedulable `json:"unschedulable,omitempty"`
}

// NewNode is a node Provision adds.
type NewNode struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Pods  int    `json:"pods"`
}

// Total is the number of new nodes.
func (p *ProvisionResult) Total() int { return len(p.Nodes) }

// Provision places every pending pod the way Karpenter's provisioner does,
// across all groups at once rather than one group per decision: pods in
// decreasing CPU then memory order go first to existing, upcoming and
// already-opened nodes (first fit); a pod that fits none opens a node of
// the largest group that takes it; when every pod is placed, each opened
// node shrinks to the cheapest group (price, else capacity) with the same
// topology labels that still holds its pods. It answers "which nodes, from
// which groups, make every pending pod schedulable".
func Provision(c *Cluster, groups []Group, o ProvisionOptions) (*ProvisionResult, error) {
	if err := validateGroups(groups); err != nil {
		return nil, err
	}
	gs := append([]Group(nil), groups...)
	s, err := newSnapshot(c, gs)
	if err != nil {
		return nil, err
	}
	res := &ProvisionResult{NewNodes: map[string]int{}}
	registered := s.registered()
	work := s.pendingWork()
	temps := make([]*templateNode, len(gs))
	for gi := range gs {
		temps[gi] = s.prepare(&gs[gi])
		s.addUpcoming(temps[gi], registered[gs[gi].ID], countPods(work))
	}
	// Largest groups first when opening a node.
	bySize := make([]int, len(gs))
	for i := range bySize {
		bySize[i] = i
	}
	sort.SliceStable(bySize, func(a, b int) bool {
		x, y := gs[bySize[a]].Template.Allocatable, gs[bySize[b]].Template.Allocatable
		if x.MilliCPU != y.MilliCPU {
			return x.MilliCPU > y.MilliCPU
		}
		return x.Memory > y.Memory
	})
	cpu, mem := s.phantomCPU, s.phantomMem
	for _, n := range s.nodes {
		cpu = satAdd(cpu, n.capac[dimCPU])
		mem = satAdd(mem, n.capac[dimMem])
	}
	size := make([]int, len(gs))
	for i := range gs {
		size[i] = gs[i].Target
	}
	live := s.nodeCount()
	sort.SliceStable(work, func(a, b int) bool {
		x, y := &work[a].g.req, &work[b].g.req
		if x[dimCPU] != y[dimCPU] {
			return x[dimCPU] > y[dimCPU]
		}
		return x[dimMem] > y[dimMem]
	})
	var opened []*snode
	var order []int32
	openedGroup := map[*snode]int{}
	reasons := map[int32]map[string]string{}
	// Shrinking opened nodes to cheaper groups frees room in the groups
	// they leave, so pods a group's maximum refused get another round.
	byPrice := make([]int, len(gs))
	for i := range byPrice {
		byPrice[i] = i
	}
	sort.SliceStable(byPrice, func(a, b int) bool {
		x, y := &gs[byPrice[a]], &gs[byPrice[b]]
		if x.Template.PricePerHour != y.Template.PricePerHour {
			return x.Template.PricePerHour < y.Template.PricePerHour
		}
		if x.Template.Allocatable.MilliCPU != y.Template.Allocatable.MilliCPU {
			return x.Template.Allocatable.MilliCPU < y.Template.Allocatable.MilliCPU
		}
		return x.Template.Allocatable.Memory < y.Template.Allocatable.Memory
	})
	for {
		// Pods that fit nowhere are retried while a pass places any pod (a
		// later pod may satisfy an earlier one's affinity), as Karpenter's
		// queue does.
		for len(work) > 0 {
			before := countPods(work)
			for _, w := range work {
				g := w.g
				next := 0
				bind := func(n *snode, k int) {
					for _, p := range w.pods[next : next+k] {
						s.placeOne(p, n)
						order = append(order, p)
					}
					n.placed += k
					next += k
				}
				ff := newScan(s, g, 0)
				for next < len(w.pods) {
					if n := ff.next(); n != nil {
						bind(n, s.fits(g, n, len(w.pods)-next))
						continue
					}
					// Open a node of the largest group that takes the pod.
					var n *snode
					why := map[string]string{}
					for _, gi := range bySize {
						gr := &gs[gi]
						switch {
						case size[gi] >= gr.Max:
							why[gr.ID] = fmt.Sprintf("max size reached (%d)", gr.Max)
							continue
						case o.Limits.MaxNodesTotal > 0 && live >= o.Limits.MaxNodesTotal:
							why[gr.ID] = fmt.Sprintf("max total nodes reached (%d)", o.Limits.MaxNodesTotal)
							continue
						case quotaNodes(o.Limits.MaxMilliCPU, cpu, capOf(gr).MilliCPU) < 0:
							why[gr.ID] = "max cluster cpu limit reached"
							continue
						case quotaNodes(o.Limits.MaxMemory, mem, capOf(gr).Memory) < 0:
							why[gr.ID] = "max cluster memory limit reached"
							continue
						}
						t := temps[gi]
						t.seq = size[gi] - gr.Target + 1 + len(res.Nodes)
						s.begin()
						cand := s.fresh(t)
						if r := s.reason(g, cand); r != "" {
							why[gr.ID] = r
							s.revert()
							continue
						}
						s.keep(len(s.nodes) - 1)
						cand.upcoming = false
						n = cand
						size[gi]++
						live++
						cpu = satAdd(cpu, cand.capac[dimCPU])
						mem = satAdd(mem, cand.capac[dimMem])
						opened = append(opened, n)
						openedGroup[n] = gi
						break
					}
					if n == nil {
						for _, p := range w.pods[next:] {
							reasons[p] = why
						}
						break
					}
					bind(n, s.fits(g, n, len(w.pods)-next))
				}
			}
			left := remaining(s, work)
			if countPods(left) == before {
				break
			}
			work = left
		}
		freed := false
		for _, n := range opened {
			gi := openedGroup[n]
			for _, ci := range byPrice {
				if ci == gi {
					break
				}
				if size[ci] >= gs[ci].Max || !s.holds(temps[ci], n) {
					continue
				}
				size[ci]++
				size[gi]--
				cpu += capOf(&gs[ci]).MilliCPU - n.capac[dimCPU]
				mem += capOf(&gs[ci]).Memory - n.capac[dimMem]
				s.reshape(n, temps[ci])
				openedGroup[n] = ci
				freed = true
				break
			}
		}
		if !freed || len(work) == 0 {
			break
		}
	}
	count := map[string]int{}
	for _, n := range opened {
		id := gs[openedGroup[n]].ID
		count[id]++
		name := fmt.Sprintf("%s-new-%d", id, count[id])
		res.NewNodes[id]++
		res.Nodes = append(res.Nodes, NewNode{Name: name, Group: id, Pods: n.placed})
		n.name = name
	}
	res.Placements = make([]Placement, len(order))
	for i, p := range order {
		res.Placements[i] = Placement{Pod: int(p), Node: s.nodes[s.podNode[p]].name}
	}
	for _, w := range work {
		for _, p := range w.pods {
			if s.podNode[p] < 0 {
				r := reasons[p]
				if r == nil {
					r = map[string]string{"": "no node group can be scaled up"}
				}
				res.Unschedulable = append(res.Unschedulable, Unschedulable{Pod: int(p), Reasons: r})
			}
		}
	}
	sort.Slice(res.Unschedulable, func(i, j int) bool { return res.Unschedulable[i].Pod < res.Unschedulable[j].Pod })
	return res, nil
}

// holds reports whether a node of template t could replace n: the same
// values for every topology key in use (so counts stay valid), the same
// standing as a spread domain for every pod (a node that starts or stops
// matching a pod's node selection would add or drop a domain under pods
// already placed), every pod's node selection and taints pass, and the
// pods and DaemonSets fit.
func (s *snapshot) holds(t *templateNode, n *snode) bool {
	for _, key := range s.keys {
		if key == LabelHostname {
			continue
		}
		v, ok := t.node.Labels[key]
		w, ok2 := n.labels[key]
		if ok != ok2 || v != w {
			return false
		}
	}
	for _, tr := range s.trackers {
		if !tr.spread {
			continue
		}
		ok := n.dom[tr.key] >= 0 && hasKeys(n, tr.needKeys) && tr.filter.nodeMatches(n.name, t.node.Labels)
		if ok != tr.nodeOK[n.idx] {
			return false
		}
	}
	need := t.overhead
	for _, p := range n.pods {
		need.add(&s.pegs[s.podPeg[p]].req)
	}
	alloc := s.d.vec(t.group.Template.Allocatable)
	if firstShort(&alloc, &need) >= 0 {
		return false
	}
	probe := &snode{name: n.name, labels: t.node.Labels, taints: t.node.Taints}
	seen := map[int32]bool{}
	for _, p := range n.pods {
		g := s.podPeg[p]
		if seen[g] {
			continue
		}
		seen[g] = true
		if staticReason(s.pegs[g].ex, probe) != "" {
			return false
		}
	}
	// Host ports of the replacement's DaemonSets must not clash.
	for _, want := range t.ports {
		for _, p := range n.pods {
			for _, have := range s.pods[p].HostPorts {
				if portsConflict(want, have) {
					return false
				}
			}
		}
	}
	return true
}

func remaining(s *snapshot, work []pending) []pending {
	var out []pending
	for _, w := range work {
		var left []int32
		for _, p := range w.pods {
			if s.podNode[p] < 0 {
				left = append(left, p)
			}
		}
		if len(left) > 0 {
			out = append(out, pending{g: w.g, pods: left})
		}
	}
	return out
}

// reshape turns an opened node into a node of template t (same topology
// labels, checked by holds).
func (s *snapshot) reshape(n *snode, t *templateNode) {
	var used vec
	for _, p := range n.pods {
		used.add(&s.pegs[s.podPeg[p]].req)
	}
	used.add(&t.overhead)
	n.used = used
	n.ports = append(n.ports[:0], t.ports...)
	for _, p := range n.pods {
		n.ports = append(n.ports, s.pods[p].HostPorts...)
	}
	n.labels, n.taints, n.group, n.src = t.node.Labels, t.node.Taints, t.group.ID, &t.node
	n.alloc = s.d.vec(t.group.Template.Allocatable)
	n.capac = s.d.vec(t.group.Template.Capacity)
	if t.group.Template.Capacity.MilliCPU == 0 && t.group.Template.Capacity.Memory == 0 {
		n.capac = n.alloc
	}
	n.class = t.class
}
