package simulate

import (
	"fmt"
	"testing"
)

// world is the checker's own model of a cluster: plain lists, every count
// recomputed from scratch. It shares only label matching with the
// simulator.
type world struct {
	nodes []*cnode
	byNm  map[string]*cnode
	pods  []*Pod
	on    map[int]*cnode // pod index → node
}

type cnode struct {
	name   string
	labels map[string]string
	taints []Taint
	cord   bool
	alloc  map[string]int64
	pods   []int
	dsReq  map[string]int64
	ports  []HostPort
	live   bool // exists (new nodes appear with their first pod)
}

// Taint mirrors nodegroup.Taint for the checker.
type Taint = struct{ Key, Value, Effect string }

func newWorld(c *Cluster) *world {
	w := &world{byNm: map[string]*cnode{}, on: map[int]*cnode{}}
	for i := range c.Pods {
		w.pods = append(w.pods, &c.Pods[i])
	}
	return w
}

func (w *world) addNode(n Node, live bool, ds []Pod) *cnode {
	cn := &cnode{name: n.Name, labels: map[string]string{}, cord: n.Unschedulable, live: live, dsReq: map[string]int64{}}
	for k, v := range n.Labels {
		cn.labels[k] = v
	}
	if _, ok := cn.labels[LabelHostname]; !ok {
		cn.labels[LabelHostname] = n.Name
	}
	for _, t := range n.Taints {
		cn.taints = append(cn.taints, Taint{t.Key, t.Value, t.Effect})
	}
	a := n.Allocatable
	cn.alloc = map[string]int64{"cpu": a.MilliCPU, "memory": a.Memory, "ephemeral-storage": a.EphemeralStorage, "pods": a.Pods}
	for k, v := range a.Extended {
		cn.alloc[k] = v
	}
	for i := range ds {
		if w.staticOK(&ds[i], cn) {
			for k, v := range reqMap(&ds[i]) {
				cn.dsReq[k] += v
			}
			cn.ports = append(cn.ports, ds[i].HostPorts...)
		}
	}
	w.nodes = append(w.nodes, cn)
	w.byNm[cn.name] = cn
	return cn
}

func reqMap(p *Pod) map[string]int64 {
	r := p.Requests
	out := map[string]int64{"cpu": r.MilliCPU, "memory": r.Memory, "ephemeral-storage": r.EphemeralStorage, "pods": 1}
	for k, v := range r.Extended {
		out[k] = v
	}
	return out
}

func (w *world) staticOK(p *Pod, n *cnode) bool {
	if n.cord && !tolerates(p.Tolerations, "node.kubernetes.io/unschedulable", "", "NoSchedule") {
		return false
	}
	for k, v := range p.NodeSelector {
		if n.labels[k] != v {
			return false
		}
		if _, ok := n.labels[k]; !ok {
			return false
		}
	}
	if len(p.NodeAffinity) > 0 {
		any := false
		for _, t := range p.NodeAffinity {
			ok := len(t.Labels)+len(t.Fields) > 0
			for _, r := range t.Labels {
				ok = ok && r.matches(n.labels)
			}
			for _, r := range t.Fields {
				ok = ok && r.matches(map[string]string{"metadata.name": n.name})
			}
			any = any || ok
		}
		if !any {
			return false
		}
	}
	for _, t := range n.taints {
		if (t.Effect == "NoSchedule" || t.Effect == "NoExecute") && !tolerates(p.Tolerations, t.Key, t.Value, t.Effect) {
			return false
		}
	}
	return true
}

func inNS(t *PodAffinityTerm, owner, other *Pod) bool {
	ns := t.Namespaces
	if len(ns) == 0 {
		ns = []string{owner.Namespace}
	}
	for _, n := range ns {
		if n == other.Namespace {
			return true
		}
	}
	return false
}

// matchesAllTerms reports whether q matches every required affinity term
// of p (namespace and selector).
func matchesAllTerms(p, q *Pod) bool {
	for ti := range p.Affinity {
		if !inNS(&p.Affinity[ti], p, q) || !p.Affinity[ti].Selector.matches(q.Labels) {
			return false
		}
	}
	return len(p.Affinity) > 0
}

// hasAllSpreadKeys reports whether node m carries the topology key of
// every spread constraint of p (only such nodes are counted).
func hasAllSpreadKeys(p *Pod, m *cnode) bool {
	for ci := range p.Spread {
		if _, ok := m.labels[p.Spread[ci].TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// violation is what is wrong with placing pod i on n now, or "".
func (w *world) violation(i int, n *cnode) string {
	p := w.pods[i]
	if !w.staticOK(p, n) {
		return "node selection, taint or cordon"
	}
	used := map[string]int64{}
	for k, v := range n.dsReq {
		used[k] += v
	}
	for _, q := range n.pods {
		for k, v := range reqMap(w.pods[q]) {
			used[k] += v
		}
	}
	for k, v := range reqMap(p) {
		if v > 0 && used[k]+v > n.alloc[k] {
			return "insufficient " + k
		}
	}
	ports := append([]HostPort(nil), n.ports...)
	for _, q := range n.pods {
		ports = append(ports, w.pods[q].HostPorts...)
	}
	for _, a := range p.HostPorts {
		for _, b := range ports {
			if portsConflict(a, b) {
				return "host port"
			}
		}
	}
	same := func(key string, m *cnode) bool {
		v, ok := n.labels[key]
		u, ok2 := m.labels[key]
		return ok && ok2 && v == u
	}
	for ti := range p.AntiAffinity {
		t := &p.AntiAffinity[ti]
		for _, m := range w.nodes {
			if !same(t.TopologyKey, m) {
				continue
			}
			for _, q := range m.pods {
				if inNS(t, p, w.pods[q]) && t.Selector.matches(w.pods[q].Labels) {
					return "anti-affinity"
				}
			}
		}
	}
	for _, m := range w.nodes {
		for _, q := range m.pods {
			o := w.pods[q]
			for ti := range o.AntiAffinity {
				t := &o.AntiAffinity[ti]
				if same(t.TopologyKey, m) && inNS(t, o, p) && t.Selector.matches(p.Labels) {
					return "existing anti-affinity"
				}
			}
		}
	}
	if len(p.Affinity) > 0 {
		// kube-scheduler's interpodaffinity filter: existing pods count
		// only when they match every term; counts are per (key, value).
		type pair struct{ k, v string }
		counts := map[pair]int{}
		for _, m := range w.nodes {
			for _, q := range m.pods {
				if !matchesAllTerms(p, w.pods[q]) {
					continue
				}
				for ti := range p.Affinity {
					if v, ok := m.labels[p.Affinity[ti].TopologyKey]; ok {
						counts[pair{p.Affinity[ti].TopologyKey, v}]++
					}
				}
			}
		}
		exist := true
		for ti := range p.Affinity {
			v, ok := n.labels[p.Affinity[ti].TopologyKey]
			if !ok {
				return "affinity: node lacks " + p.Affinity[ti].TopologyKey
			}
			if counts[pair{p.Affinity[ti].TopologyKey, v}] == 0 {
				exist = false
			}
		}
		if !exist && !(len(counts) == 0 && matchesAllTerms(p, p)) {
			return "affinity"
		}
	}
	for ci := range p.Spread {
		c := &p.Spread[ci]
		val, ok := n.labels[c.TopologyKey]
		if !ok {
			return "spread key missing"
		}
		counts := map[string]int32{}
		for _, m := range w.nodes {
			v := m.labels[c.TopologyKey]
			if !m.live || !hasAllSpreadKeys(p, m) || !(&Pod{NodeSelector: p.NodeSelector, NodeAffinity: p.NodeAffinity}).nodeMatches(m.name, m.labels) {
				continue
			}
			counts[v] += 0
			for _, q := range m.pods {
				o := w.pods[q]
				if o.Namespace == p.Namespace && c.Selector.matches(o.Labels) && !o.Deleting && !o.Terminating {
					counts[v]++
				}
			}
		}
		minv := int32(-1)
		for _, k := range counts {
			if minv < 0 || k < minv {
				minv = k
			}
		}
		if int32(len(counts)) < c.MinDomains || minv < 0 {
			minv = 0
		}
		self := int32(0)
		if c.Selector.matches(p.Labels) {
			self = 1
		}
		if counts[val]+self-minv > c.MaxSkew {
			return fmt.Sprintf("spread on %s: %d+%d-%d > %d", c.TopologyKey, counts[val], self, minv, c.MaxSkew)
		}
	}
	return ""
}

// checkReplay rebuilds the cluster (existing nodes, optionally upcoming
// ones, new nodes of the named groups) and replays placements in order,
// checking every predicate at each step; it returns the final world.
func checkReplay(t testing.TB, c *Cluster, gs []Group, upcoming bool, placements []Placement, newGroup map[string]string) *world {
	t.Helper()
	w := newWorld(c)
	for _, n := range c.Nodes {
		w.addNode(n, true, nil)
	}
	for i := range c.Pods {
		if nn := c.Pods[i].NodeName; nn != "" && !c.Pods[i].Terminal {
			n := w.byNm[nn]
			n.pods = append(n.pods, i)
			w.on[i] = n
		}
	}
	tmpl := func(g *Group, name string) Node {
		return Node{Name: name, Labels: g.Template.Labels, Taints: g.Template.Taints, Allocatable: g.Template.Allocatable}
	}
	if upcoming {
		for gi := range gs {
			g := &gs[gi]
			reg := 0
			for _, n := range c.Nodes {
				if n.Group == g.ID {
					reg++
				}
			}
			for k := reg; k < g.Target; k++ {
				w.addNode(tmpl(g, fmt.Sprintf("%s-upcoming-%d", g.ID, k-reg+1)), true, c.DaemonSets)
			}
		}
	}
	for name, gid := range newGroup {
		for gi := range gs {
			if gs[gi].ID == gid {
				w.addNode(tmpl(&gs[gi], name), false, c.DaemonSets)
			}
		}
	}
	for _, pl := range placements {
		n := w.byNm[pl.Node]
		if n == nil {
			t.Fatalf("pod %d placed on unknown node %q", pl.Pod, pl.Node)
		}
		if _, dup := w.on[pl.Pod]; dup {
			t.Fatalf("pod %d placed twice", pl.Pod)
		}
		n.live = true
		if v := w.violation(pl.Pod, n); v != "" {
			t.Fatalf("pod %s on %s violates %s", c.Pods[pl.Pod].Key(), n.name, v)
		}
		n.pods = append(n.pods, pl.Pod)
		w.on[pl.Pod] = n
	}
	return w
}

// checkPlacements checks a Provision result: valid placements, every
// pending pod placed or unschedulable, and no unschedulable pod that the
// checker can place on any node of the final cluster or on one more node
// of a group with room.
func checkPlacements(t testing.TB, c *Cluster, gs []Group, r *ProvisionResult) {
	t.Helper()
	newGroup := map[string]string{}
	for _, n := range r.Nodes {
		newGroup[n.Name] = n.Group
		if n.Pods == 0 {
			t.Fatalf("new node %s holds no pod", n.Name)
		}
	}
	w := checkReplay(t, c, gs, true, r.Placements, newGroup)
	for i := range c.Pods {
		if c.Pods[i].NodeName != "" || c.Pods[i].Terminal {
			continue
		}
		_, placed := w.on[i]
		uns := false
		for _, u := range r.Unschedulable {
			uns = uns || u.Pod == i
		}
		if placed == uns {
			t.Fatalf("pod %d: placed %v, unschedulable %v", i, placed, uns)
		}
	}
	size := map[string]int{}
	for _, g := range gs {
		size[g.ID] = g.Target
	}
	for _, n := range r.Nodes {
		size[n.Group]++
	}
	for _, g := range gs {
		if size[g.ID] > g.Max {
			t.Fatalf("group %s grew to %d past its max %d", g.ID, size[g.ID], g.Max)
		}
	}
	for _, u := range r.Unschedulable {
		for _, n := range w.nodes {
			if n.live && w.violation(u.Pod, n) == "" {
				t.Fatalf("pod %s reported unschedulable (%v) fits node %s", c.Pods[u.Pod].Key(), u.Reasons, n.name)
			}
		}
		for gi := range gs {
			g := &gs[gi]
			if size[g.ID] >= g.Max {
				continue
			}
			n := w.addNode(Node{Name: "probe", Labels: g.Template.Labels, Taints: g.Template.Taints, Allocatable: g.Template.Allocatable}, true, c.DaemonSets)
			v := w.violation(u.Pod, n)
			w.nodes = w.nodes[:len(w.nodes)-1]
			if v == "" {
				t.Fatalf("pod %s reported unschedulable (%v) fits a new node of %s", c.Pods[u.Pod].Key(), u.Reasons, g.ID)
			}
		}
	}
}
