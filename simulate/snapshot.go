package simulate

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/kscale/kscale/nodegroup"
)

// LabelHostname is the node label holding the node's name.
const LabelHostname = "kubernetes.io/hostname"

// ErrInvalidInput wraps every error about a malformed snapshot or group.
var ErrInvalidInput = errors.New("simulate: invalid input")

// snode is a node of the working snapshot.
type snode struct {
	idx      int
	name     string
	labels   map[string]string
	taints   []nodegroup.Taint
	cordoned bool
	alloc    vec
	capac    vec
	used     vec
	dom      []int32 // domain id per topology key, -1 when the label is missing
	ports    []HostPort
	class    int
	group    string
	fresh    bool // added by the running estimate
	upcoming bool
	placed   int     // pods the running estimate put here
	removed  bool    // scale-down took it out
	pods     []int32 // pods on the node (scheduled and simulated)
	src      *Node
}

func (n *snode) free() vec {
	f := n.alloc
	f.sub(&n.used)
	return f
}

// tracker counts, per topology domain of one key, the pods of the groups
// that contribute to it: pods matching a term's selector, or pods owning an
// anti-affinity term (for the symmetric check).
type tracker struct {
	key    int
	counts []int32 // per domain
	total  int32
	// Spread trackers count only on nodes passing filter's node selection
	// and keep a histogram of the counts of eligible domains for the
	// global minimum.
	spread bool
	filter *Pod
	// needKeys are the topology keys of every spread constraint of the
	// owning pods: kube-scheduler counts a node for none of a pod's
	// constraints unless it has all their keys.
	needKeys []int
	nodeOK   []bool // per node: the node counts
	elig     []bool // per domain
	nelig    int32
	hist     []int32
	minv     int32
	// loosen counts events that may let a node refused before accept now:
	// a domain's first pod (affinity) and a rise of the minimum (spread).
	loosen int64
}

type undoKind uint8

const (
	undoInc undoKind = iota
	undoElig
	undoDomain
)

type undo struct {
	kind    undoKind
	tracker int32
	dom     int32
	n       int32
	key     string
}

// snapshot is the working state of one simulation: nodes with their used
// resources, pods grouped for placement and topology counters.
type snapshot struct {
	d        dims
	keys     []string
	keyIdx   map[string]int
	domVals  []map[string]int32
	domNext  []int32  // next domain id per key
	pool     []*snode // fresh nodes reverted, for reuse
	nodes    []*snode
	byName   map[string]int
	pods     []*Pod
	nCluster int // pods of the cluster; DaemonSet templates follow
	podPeg   []int32
	podNode  []int32 // node index per pod, -1 pending
	pegs     []*peg
	trackers []*tracker
	classes  map[string]int
	byMaps   map[classKey]int // classes of nodes sharing label maps and taints
	rec      bool
	log      []undo
	// phantom upcoming nodes are counted but not built (addUpcoming),
	// with their capacity.
	phantom, phantomCPU, phantomMem int64
	buildAll                        bool // tests: build every upcoming node
}

// newSnapshot builds the working state from a cluster and the groups whose
// templates may be added.
func newSnapshot(c *Cluster, groups []Group) (*snapshot, error) {
	if err := checkCluster(c); err != nil {
		return nil, err
	}
	s := &snapshot{keyIdx: map[string]int{}, byName: make(map[string]int, len(c.Nodes)), classes: map[string]int{}}
	var errs []error
	for i := range c.Nodes {
		if err := s.d.intern(c.Nodes[i].Allocatable.Extended); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range groups {
		if err := s.d.intern(groups[i].Template.Allocatable.Extended); err != nil {
			errs = append(errs, err)
		}
	}
	all := make([]*Pod, 0, len(c.Pods)+len(c.DaemonSets))
	for i := range c.Pods {
		all = append(all, &c.Pods[i])
	}
	for i := range c.DaemonSets {
		all = append(all, &c.DaemonSets[i])
	}
	for i := range all {
		if err := s.d.intern(all[i].Requests.Extended); err != nil {
			errs = append(errs, err)
		}
		if err := all[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("pod %s: %w", all[i].Key(), err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, errors.Join(errs...))
	}
	s.pods = all
	s.nCluster = len(c.Pods)
	groupsOf, of := groupPods(all)
	s.podPeg = of
	s.podNode = make([]int32, len(all))
	for i := range s.podNode {
		s.podNode[i] = -1
	}
	s.intern(LabelHostname)
	s.intern(nodegroup.LabelZone)
	for _, members := range groupsOf {
		s.pegs = append(s.pegs, s.newPeg(len(s.pegs), members))
	}
	s.linkTrackers()
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Name == "" {
			errs = append(errs, errors.New("node with no name"))
			continue
		}
		if _, dup := s.byName[n.Name]; dup {
			errs = append(errs, fmt.Errorf("node %q listed twice", n.Name))
			continue
		}
		s.addNode(n, n.Group, false)
	}
	for i := range c.Pods {
		p := &c.Pods[i]
		if p.NodeName == "" {
			continue
		}
		ni, ok := s.byName[p.NodeName]
		if !ok {
			errs = append(errs, fmt.Errorf("pod %s is bound to unknown node %q", p.Key(), p.NodeName))
			continue
		}
		if p.Terminal {
			// kube-scheduler and cluster-autoscaler list only pods not
			// Succeeded or Failed: a finished pod holds no resources and
			// counts for no affinity or spread.
			continue
		}
		s.placeOne(int32(i), s.nodes[ni])
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, errors.Join(errs...))
	}
	return s, nil
}

func (s *snapshot) intern(key string) int {
	if i, ok := s.keyIdx[key]; ok {
		return i
	}
	s.keyIdx[key] = len(s.keys)
	s.keys = append(s.keys, key)
	s.domVals = append(s.domVals, map[string]int32{})
	s.domNext = append(s.domNext, 0)
	return len(s.keys) - 1
}

func (s *snapshot) newPeg(id int, members []int32) *peg {
	ex := s.pods[members[0]]
	g := &peg{id: id, ex: ex, members: members, priority: ex.Priority, ports: ex.HostPorts}
	g.req = s.d.vec(ex.Requests)
	g.req[dimPods] = 1
	for _, t := range ex.NodeAffinity {
		if len(t.Fields) > 0 {
			g.perNode = true
		}
	}
	for _, t := range ex.Affinity {
		s.intern(t.TopologyKey)
	}
	for _, t := range ex.AntiAffinity {
		s.intern(t.TopologyKey)
	}
	for _, c := range ex.Spread {
		s.intern(c.TopologyKey)
	}
	return g
}

// trackerKey identifies a tracker: what it counts and where.
func trackerKey(kind string, ns []string, t *PodAffinityTerm, filter string) string {
	var b []byte
	b = append(b, kind...)
	b = append(b, '|')
	b = append(b, strings.Join(ns, ",")...)
	b = append(b, '|')
	b, _ = pegKey(b, &Pod{Labels: t.Selector.MatchLabels, NodeAffinity: []NodeSelectorTerm{{Labels: t.Selector.Match}}}, nil)
	b = append(b, '|')
	b = append(b, t.TopologyKey...)
	b = append(b, '|')
	b = append(b, filter...)
	return string(b)
}

// linkTrackers creates the topology trackers every group's terms need and
// records which groups count toward each.
func (s *snapshot) linkTrackers() {
	index := map[string]int{}
	type def struct {
		kind string // match, aff, own or spread
		ns   []string
		term PodAffinityTerm
		pod  *Pod
		// all are the owner's affinity terms with their namespaces (kind
		// aff): kube-scheduler counts a pod for them only when it matches
		// every one.
		all   []PodAffinityTerm
		allNS [][]string
		keys  []int // kind spread: every constraint's key
	}
	var defs []def
	get := func(d def, filter string) int {
		k := trackerKey(d.kind, d.ns, &d.term, filter)
		if i, ok := index[k]; ok {
			return i
		}
		t := &tracker{key: s.keyIdx[d.term.TopologyKey]}
		if d.kind == "spread" {
			t.spread = true
			t.filter = d.pod
			t.needKeys = d.keys
		}
		index[k] = len(s.trackers)
		s.trackers = append(s.trackers, t)
		defs = append(defs, d)
		return len(s.trackers) - 1
	}
	for _, g := range s.pegs {
		ex := g.ex
		// Required affinity: one tracker per term, counting the pods that
		// match all of the group's terms (podMatchesAllAffinityTerms).
		g.affSelf = len(ex.Affinity) > 0
		var allNS [][]string
		for i := range ex.Affinity {
			t := &ex.Affinity[i]
			ns := termNamespaces(t, ex.Namespace)
			allNS = append(allNS, ns)
			if !contains(ns, ex.Namespace) || !t.Selector.matches(ex.Labels) {
				g.affSelf = false
			}
		}
		if len(ex.Affinity) > 0 {
			// The whole term list, with the namespace empty lists stand
			// for, identifies what the trackers count.
			allKey, _ := pegKey(nil, &Pod{Namespace: ex.Namespace, Affinity: ex.Affinity}, nil)
			for i := range ex.Affinity {
				t := &ex.Affinity[i]
				g.aff = append(g.aff, get(def{kind: "aff", ns: allNS[i], term: PodAffinityTerm{TopologyKey: t.TopologyKey},
					all: ex.Affinity, allNS: allNS}, string(allKey)))
			}
		}
		for i := range ex.AntiAffinity {
			t := &ex.AntiAffinity[i]
			ns := termNamespaces(t, ex.Namespace)
			g.anti = append(g.anti, get(def{kind: "match", ns: ns, term: *t}, ""))
			get(def{kind: "own", ns: ns, term: *t}, "")
		}
		if len(ex.Spread) == 0 {
			continue
		}
		var spreadKeys []int
		filterKey, _ := pegKey(nil, &Pod{NodeSelector: ex.NodeSelector, NodeAffinity: ex.NodeAffinity}, nil)
		for i := range ex.Spread {
			k := s.keyIdx[ex.Spread[i].TopologyKey]
			if !containsInt(spreadKeys, k) {
				spreadKeys = append(spreadKeys, k)
			}
		}
		sort.Ints(spreadKeys)
		for _, k := range spreadKeys {
			filterKey = strconv.AppendInt(append(filterKey, '#'), int64(k), 10)
		}
		for i := range ex.Spread {
			c := &ex.Spread[i]
			term := PodAffinityTerm{Selector: c.Selector, TopologyKey: c.TopologyKey}
			ref := spreadRef{tracker: get(def{kind: "spread", ns: []string{ex.Namespace}, term: term, pod: ex, keys: spreadKeys}, string(filterKey)), maxSkew: c.MaxSkew, minDomains: c.MinDomains}
			if c.Selector.matches(ex.Labels) {
				ref.self = 1
			}
			g.spread = append(g.spread, ref)
		}
	}
	// Contributions: which groups count toward which tracker.
	for ti, d := range defs {
		for _, g := range s.pegs {
			ex := g.ex
			var counts bool
			switch d.kind {
			case "match", "spread":
				counts = contains(d.ns, ex.Namespace) && d.term.Selector.matches(ex.Labels)
			case "aff":
				counts = true
				for j := range d.all {
					if !contains(d.allNS[j], ex.Namespace) || !d.all[j].Selector.matches(ex.Labels) {
						counts = false
						break
					}
				}
			case "own":
				want := trackerKey("own", d.ns, &d.term, "")
				for i := range ex.AntiAffinity {
					t := &ex.AntiAffinity[i]
					if trackerKey("own", termNamespaces(t, ex.Namespace), t, "") == want {
						counts = true
					}
				}
				// The symmetric check: this tracker's owners forbid pods
				// their term selects.
				if contains(d.ns, ex.Namespace) && d.term.Selector.matches(ex.Labels) {
					g.symAnti = append(g.symAnti, ti)
				}
			}
			if counts {
				g.contrib = append(g.contrib, ti)
			}
		}
	}
	for _, g := range s.pegs {
		g.simple = len(g.aff) == 0 && len(g.anti) == 0 && len(g.symAnti) == 0 && len(g.spread) == 0 && len(g.ports) == 0
	}
}

// classKey identifies nodes built from the same label map and taint slice
// (copies of one template), which share a class without comparing labels.
type classKey struct {
	labels   unsafe.Pointer
	taints   *nodegroup.Taint
	ntaints  int
	cordoned bool
}

// classOf interns a node's static signature (labels other than the
// hostname, taints, cordon) so static checks are cached per class.
func (s *snapshot) classOf(n *snode) int {
	if n.labels == nil || n.labels[LabelHostname] != "" {
		return s.classOfSlow(n)
	}
	k := classKey{labels: reflect.ValueOf(n.labels).UnsafePointer(), ntaints: len(n.taints), cordoned: n.cordoned}
	if len(n.taints) > 0 {
		k.taints = &n.taints[0]
	}
	if c, ok := s.byMaps[k]; ok {
		return c
	}
	c := s.classOfSlow(n)
	if s.byMaps == nil {
		s.byMaps = map[classKey]int{}
	}
	s.byMaps[k] = c
	return c
}

func (s *snapshot) classOfSlow(n *snode) int {
	keys := make([]string, 0, len(n.labels))
	for k := range n.labels {
		if k != LabelHostname {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(n.labels[k])
		b.WriteByte(';')
	}
	for _, t := range n.taints {
		fmt.Fprintf(&b, "|%s=%s:%s", t.Key, t.Value, t.Effect)
	}
	if n.cordoned {
		b.WriteString("|cordoned")
	}
	k := b.String()
	if c, ok := s.classes[k]; ok {
		return c
	}
	s.classes[k] = len(s.classes)
	return len(s.classes) - 1
}

// addNode appends an existing or upcoming node.
func (s *snapshot) addNode(src *Node, group string, upcoming bool) *snode {
	n := &snode{}
	s.initNode(n, src, group, -1)
	n.upcoming = upcoming
	s.byName[n.name] = n.idx
	return n
}

// addFresh appends a copy of a group's template for the running estimate;
// revert drops it. class is the template's class (see classOf).
func (s *snapshot) addFresh(src *Node, name, group string, class int, overhead *vec, ports []HostPort) *snode {
	var n *snode
	if k := len(s.pool); k > 0 {
		n, s.pool = s.pool[k-1], s.pool[:k-1]
		dom, pods := n.dom[:0], n.pods[:0]
		*n = snode{dom: dom, pods: pods}
	} else {
		n = &snode{}
	}
	n.fresh = true
	s.initNode(n, src, group, class)
	n.name = name
	n.used = *overhead
	n.ports = append(n.ports[:0], ports...)
	return n
}

func (s *snapshot) initNode(n *snode, src *Node, group string, class int) {
	n.idx, n.name, n.labels, n.taints, n.cordoned, n.group, n.src = len(s.nodes), src.Name, src.Labels, src.Taints, src.Unschedulable, group, src
	n.alloc = s.d.vec(src.Allocatable)
	n.capac = s.d.vec(src.Capacity)
	if src.Capacity.MilliCPU == 0 && src.Capacity.Memory == 0 {
		n.capac = n.alloc
	}
	if class < 0 {
		class = s.classOf(n)
	}
	n.class = class
	for k, key := range s.keys {
		v, ok := n.labels[key]
		if key == LabelHostname && (n.fresh || !ok) {
			// Every node is its own hostname domain.
			n.dom = append(n.dom, s.newDomain(k, n.name, n.fresh))
			continue
		}
		if !ok {
			n.dom = append(n.dom, -1)
			continue
		}
		d, ok := s.domVals[k][v]
		if !ok {
			d = s.newDomain(k, v, false)
		}
		n.dom = append(n.dom, d)
	}
	for ti, t := range s.trackers {
		d := n.dom[t.key]
		for int(d) >= len(t.counts) {
			t.counts = append(t.counts, 0)
			if t.spread {
				t.elig = append(t.elig, false)
			}
		}
		if !t.spread {
			continue
		}
		ok := d >= 0 && hasKeys(n, t.needKeys) && t.filter.nodeMatches(n.name, n.labels)
		t.nodeOK = append(t.nodeOK, ok)
		if ok && !t.elig[d] {
			t.elig[d] = true
			t.nelig++
			t.bump(t.counts[d], 0, +1)
			if s.rec {
				s.log = append(s.log, undo{kind: undoElig, tracker: int32(ti), dom: d})
			}
		}
	}
	s.nodes = append(s.nodes, n)
}

// hasKeys reports whether node n has a domain for every key.
func hasKeys(n *snode, keys []int) bool {
	for _, k := range keys {
		if n.dom[k] < 0 {
			return false
		}
	}
	return true
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// newDomain allocates a domain id for value v of key k; anonymous domains
// (fresh nodes' hostnames) are not indexed by value.
func (s *snapshot) newDomain(k int, v string, anonymous bool) int32 {
	d := s.domNext[k]
	s.domNext[k]++
	if !anonymous {
		s.domVals[k][v] = d
	}
	if s.rec {
		s.log = append(s.log, undo{kind: undoDomain, tracker: int32(k), key: v, n: b2i(anonymous)})
	}
	return d
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// bump moves one domain of count c in the histogram by delta, keeping minv.
func (t *tracker) bump(c int32, delta int32, sign int32) {
	// sign +1: a domain enters at count c (delta ignored); sign -1: leaves;
	// sign 0: moves from c to c+delta.
	grow := func(v int32) {
		for int(v) >= len(t.hist) {
			t.hist = append(t.hist, 0)
		}
	}
	switch sign {
	case +1:
		grow(c)
		t.hist[c]++
		if t.nelig == 1 || c < t.minv {
			t.minv = c
		}
	case -1:
		t.hist[c]--
		if t.nelig == 0 {
			t.minv = 0
		} else if c == t.minv && t.hist[c] == 0 {
			t.minv = t.nextMin(c)
		}
	default:
		grow(c + delta)
		t.hist[c]--
		t.hist[c+delta]++
		switch {
		case c+delta < t.minv:
			t.minv = c + delta
		case c == t.minv && t.hist[c] == 0:
			t.minv = t.nextMin(c)
		}
	}
}

func (t *tracker) nextMin(from int32) int32 {
	for v := from; int(v) < len(t.hist); v++ {
		if t.hist[v] > 0 {
			return v
		}
	}
	return 0
}

// inc adds n pods of a contributing group on node nd to tracker ti.
func (s *snapshot) inc(ti int, nd *snode, n int32) {
	t := s.trackers[ti]
	d := nd.dom[t.key]
	if d < 0 || (t.spread && !t.nodeOK[nd.idx]) {
		return
	}
	c := t.counts[d]
	t.counts[d] = c + n
	t.total += n
	if c == 0 && n > 0 {
		t.loosen++
	}
	if t.spread {
		before := t.minv
		t.bump(c, n, 0)
		if t.minv > before {
			t.loosen++
		}
	}
	if s.rec {
		s.log = append(s.log, undo{kind: undoInc, tracker: int32(ti), dom: d, n: n})
	}
}

// placeOne binds pod i to node nd.
func (s *snapshot) placeOne(i int32, nd *snode) {
	g := s.pegs[s.podPeg[i]]
	nd.used.add(&g.req)
	nd.ports = append(nd.ports, g.ports...)
	nd.pods = append(nd.pods, i)
	s.podNode[i] = int32(nd.idx)
	deleting := s.pods[i].Deleting || s.pods[i].Terminating
	for _, ti := range g.contrib {
		if deleting && s.trackers[ti].spread {
			continue // spread counts skip pods being deleted
		}
		s.inc(ti, nd, 1)
	}
}

// unplace removes pod i from its node (scale-down moves).
func (s *snapshot) unplace(i int32) {
	nd := s.nodes[s.podNode[i]]
	g := s.pegs[s.podPeg[i]]
	nd.used.sub(&g.req)
	for j, p := range nd.pods {
		if p == i {
			nd.pods = append(nd.pods[:j], nd.pods[j+1:]...)
			break
		}
	}
	if len(g.ports) > 0 {
		nd.ports = nd.ports[:0]
		for _, p := range nd.pods {
			nd.ports = append(nd.ports, s.pegs[s.podPeg[p]].ports...)
		}
	}
	deleting := s.pods[i].Deleting || s.pods[i].Terminating
	for _, ti := range g.contrib {
		if deleting && s.trackers[ti].spread {
			continue
		}
		s.inc(ti, nd, -1)
	}
	s.podNode[i] = -1
}

// placeCount places up to k pods of group g on nd in one step (bulk: the
// caller guarantees fits) and accounts them; members are not bound, only
// counted (estimates).
func (s *snapshot) placeBulk(g *peg, nd *snode, k int) {
	for i := range nd.used {
		nd.used[i] += int64(k) * g.req[i]
	}
	nd.ports = append(nd.ports, g.ports...)
	nd.placed += k
	for _, ti := range g.contrib {
		s.inc(ti, nd, int32(k))
	}
}

// begin starts recording changes for revert.
func (s *snapshot) begin() {
	s.rec = true
	s.log = s.log[:0]
}

// revert undoes every change since begin, dropping fresh nodes.
func (s *snapshot) revert() {
	s.undoTo(0)
	s.rec = false
	s.dropFresh()
}

// dropFresh takes the fresh nodes at the end of the node list back to the
// pool.
func (s *snapshot) dropFresh() {
	k := len(s.nodes)
	for k > 0 && s.nodes[k-1].fresh {
		k--
		s.pool = append(s.pool, s.nodes[k])
	}
	for _, t := range s.trackers {
		if t.spread && len(t.nodeOK) > k {
			t.nodeOK = t.nodeOK[:k]
		}
	}
	s.nodes = s.nodes[:k]
}

// dropLast undoes the addition of the last node, a fresh node that took
// no pod: mark is the log length before it was added.
func (s *snapshot) dropLast(mark int) {
	s.undoTo(mark)
	n := s.nodes[len(s.nodes)-1]
	s.pool = append(s.pool, n)
	s.nodes = s.nodes[:len(s.nodes)-1]
	for _, t := range s.trackers {
		if t.spread && len(t.nodeOK) > len(s.nodes) {
			t.nodeOK = t.nodeOK[:len(s.nodes)]
		}
	}
}

// undoTo undoes the recorded changes after the first mark ones.
func (s *snapshot) undoTo(mark int) {
	for i := len(s.log) - 1; i >= mark; i-- {
		u := s.log[i]
		switch u.kind {
		case undoInc:
			t := s.trackers[u.tracker]
			c := t.counts[u.dom]
			t.counts[u.dom] = c - u.n
			t.total -= u.n
			if t.spread {
				t.bump(c, -u.n, 0)
			}
		case undoElig:
			t := s.trackers[u.tracker]
			t.elig[u.dom] = false
			t.nelig--
			t.bump(t.counts[u.dom], 0, -1)
		case undoDomain:
			if u.n == 0 {
				delete(s.domVals[u.tracker], u.key)
			}
			s.domNext[u.tracker]--
		}
	}
	s.log = s.log[:mark]
}

// keep ends a placement by keeping what it did: its fresh nodes become
// upcoming nodes.
func (s *snapshot) keep(start int) {
	s.rec = false
	s.log = s.log[:0]
	for _, n := range s.nodes[start:] {
		n.fresh = false
		n.upcoming = true
		s.byName[n.name] = n.idx
	}
}
