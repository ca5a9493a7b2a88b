package autoscaler

import (
	"fmt"
	"math"
	"time"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
)

// Autoscaler is the decision loop: a Config and the State it keeps. The
// zero value is not usable; build it with New. Not safe for concurrent
// use.
type Autoscaler struct {
	cfg Config
	// memo is the last observation's per-node tally, reused while the
	// observation's Version is unchanged: purely an optimisation, a
	// fresh loop recomputes it identically.
	memo *memo
	buf  scratch
	// State is what the loop remembers; save it to resume after a
	// restart, or leave it empty: it is recomputed from observations.
	State State
}

// New checks cfg, fills its defaults and returns a loop with an empty
// State.
func New(cfg Config) (*Autoscaler, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Autoscaler{cfg: c}, nil
}

// Config is the loop's configuration with its defaults filled in.
func (a *Autoscaler) Config() Config { return a.cfg }

// step is one Step's working set.
type step struct {
	cfg     *Config
	st      *State
	now     time.Time
	obs     *Observation
	groups  []simulate.Group
	gidx    map[string]int
	nodes   map[string][]int // node indices per group, observation order
	nodeIdx map[string]int
	act     Actions
	pending int // pods without a node
	// Per node (observation order): requests of its pods, its pods, the
	// pods that keep it from being empty (not DaemonSet or mirror pods).
	used     []nodegroup.Resources
	podsOn   []int
	busy     []int
	memo     *memo
	buf      *scratch
	interPod bool // some pod has inter-pod terms, host ports or extended requests
	// placed are the pending pods scale-up found room for on registered
	// nodes: scale-down counts them on those nodes, as cluster-autoscaler
	// keeps them in its snapshot (filter_out_schedulable) before it looks
	// for unneeded nodes.
	placed []placement
	// upPods maps the pods of upCluster's short form to the
	// observation's (nil: the full form, the same indices).
	upPods []int
}

// placement is a pending pod (index into the observation's pods) that
// fits a registered node (index into its nodes).
type placement struct{ pod, node int }

// Step is one scan: it reads the observed cluster at now and returns what
// to do. In order, as cluster-autoscaler's loop does: launches that
// registered are forgotten (their latency measured), launches the cloud
// could not fulfil and launches older than MaxNodeProvisionTime are
// cancelled and their group backed off; pending pods that fit no existing
// or upcoming node trigger a scale-up; nodes are raised ahead of scheduled
// rises; and, when nothing was added in this loop, nodes unneeded for
// ScaleDownUnneededTime are removed unless a scale-down delay is running.
// The State is updated as if every action succeeds; report a failed one
// with State.IncreaseFailed or State.DeleteFailed. On error nothing is
// changed.
func (a *Autoscaler) Step(now time.Time, obs *Observation) (Actions, error) {
	m := a.memo
	if !m.valid(obs) {
		m = nil
	}
	var nodeIdx map[string]int
	var err error
	if m != nil {
		err = validateRest(now, obs)
		nodeIdx = m.nodeIdx
	} else {
		nodeIdx, err = validate(now, obs)
	}
	if err != nil {
		return Actions{}, err
	}
	st := a.State.Clone()
	s := &step{cfg: &a.cfg, st: &st, now: now, obs: obs, gidx: map[string]int{}, nodes: map[string][]int{}, nodeIdx: nodeIdx, buf: &a.buf}
	for i := range obs.Groups {
		g := &obs.Groups[i]
		s.gidx[g.ID] = i
		s.groups = append(s.groups, simulate.Group{ID: g.ID, Min: g.Min, Max: g.Max, Target: g.Target, Template: g.Template})
	}
	for i := range obs.Nodes {
		if _, ok := s.gidx[obs.Nodes[i].Group]; ok {
			s.nodes[obs.Nodes[i].Group] = append(s.nodes[obs.Nodes[i].Group], i)
		}
	}
	if m == nil {
		m = s.tallyBound()
		if obs.Version != 0 {
			a.memo = m
		} else {
			a.memo = nil
		}
	}
	s.memo, s.used, s.podsOn, s.busy, s.interPod = m, m.used, m.podsOn, m.busy, m.interPod
	s.tallyPending(m)
	s.prune()
	for i := range obs.Groups {
		s.launches(i)
	}
	up, err := s.scaleUp()
	if err != nil {
		return Actions{}, err
	}
	pre, err := s.preProvision()
	if err != nil {
		return Actions{}, err
	}
	s.act.Upcoming = map[string]int{}
	for _, g := range obs.Groups {
		if n := len(st.Launches[g.ID]); n > 0 {
			s.act.Upcoming[g.ID] = n
		}
	}
	switch {
	case a.cfg.ScaleDownDisabled:
		s.act.ScaleDown = ReasonScaleDownDisabled
	case up || pre:
		s.act.ScaleDown = ReasonScaleUpInLoop
	default:
		if err := s.scaleDown(); err != nil {
			return Actions{}, err
		}
	}
	a.State = st
	return s.act, nil
}

// prune forgets what the observation no longer backs: expired backoffs
// and holds, timers of nodes that are gone, launches of groups that are
// gone.
func (s *step) prune() {
	s.st.Backoff.Prune(s.now)
	if len(s.st.Backoff.Groups) == 0 {
		s.st.Backoff.Groups = nil
	}
	for n := range s.st.Unneeded {
		if _, ok := s.nodeIdx[n]; !ok {
			delete(s.st.Unneeded, n)
		}
	}
	for g := range s.st.Launches {
		if _, ok := s.gidx[g]; !ok {
			delete(s.st.Launches, g)
		}
	}
	holds := s.st.Holds[:0]
	for _, h := range s.st.Holds {
		if h.Until.After(s.now) {
			holds = append(holds, h)
		}
	}
	s.st.Holds = holds
	if len(holds) == 0 {
		s.st.Holds = nil
	}
}

// launches reconciles group i's launches with the provider's view
// (upcoming = target − registered nodes), then cancels what will not
// come.
func (s *step) launches(i int) {
	g := &s.groups[i]
	upcoming := max(0, g.Target-len(s.nodes[g.ID]))
	l := s.st.Launches[g.ID]
	if k := len(l) - upcoming; k > 0 {
		// The oldest launches registered: measure them.
		lat := s.st.Latencies[g.ID]
		for _, t := range l[:k] {
			lat = append(lat, s.now.Sub(t))
		}
		if len(lat) > latencyHistory {
			lat = lat[len(lat)-latencyHistory:]
		}
		s.st.Latencies[g.ID] = lat
		l = l[k:]
		if upcoming == 0 {
			s.st.Backoff.Succeed(g.ID)
		}
	}
	for len(l) < upcoming {
		l = append(l, s.now) // first seen now (a restart, or a resize by someone else)
	}
	if failed := outOfCapacity(s.obs.Groups[i].Instances); failed > 0 {
		failed = min(failed, len(l))
		s.cancel(g, failed, ReasonOutOfCapacity, fmt.Sprintf("%d launch(es) of %s reported out of capacity", failed, g.ID))
		l = l[:len(l)-failed]
	}
	late := 0
	for _, t := range l {
		if s.now.Sub(t) >= s.cfg.MaxNodeProvisionTime {
			late++
		}
	}
	if late > 0 {
		s.cancel(g, late, ReasonMaxNodeProvisionTime,
			fmt.Sprintf("%d launch(es) of %s not registered within %s", late, g.ID, s.cfg.MaxNodeProvisionTime))
		l = l[late:]
	}
	if len(l) == 0 {
		delete(s.st.Launches, g.ID)
	} else {
		s.st.Launches[g.ID] = l
	}
}

func outOfCapacity(insts []nodegroup.Instance) int {
	n := 0
	for _, in := range insts {
		if in.ErrorClass == nodegroup.OutOfCapacity && in.State != nodegroup.InstanceRunning {
			n++
		}
	}
	return n
}

// cancel lowers g's target by n and backs g off.
func (s *step) cancel(g *simulate.Group, n int, reason, msg string) {
	until := s.st.Backoff.Fail(g.ID, s.now, reason)
	s.act.Backoffs = append(s.act.Backoffs, Backoff{Group: g.ID, Until: until, Reason: reason})
	s.act.Cancels = append(s.act.Cancels, Change{Group: g.ID, Delta: n, Reason: reason, Message: msg})
	g.Target -= n
}

// increase raises g by n launched now.
func (s *step) increase(id string, n, pods int, reason, msg string) {
	g := &s.groups[s.gidx[id]]
	g.Target += n
	for range n {
		s.st.Launches[id] = append(s.st.Launches[id], s.now)
	}
	s.st.LastScaleUp = s.now
	s.act.Increases = append(s.act.Increases, Change{Group: id, Delta: n, Reason: reason, Message: msg, Pods: pods})
}

// memo is what Step derives from the nodes and bound pods alone; it is
// reused while Observation.Version is unchanged (and not zero). Its
// slices and map are only read.
type memo struct {
	version int64
	names   []string // the nodes' names, observation order
	nodeIdx map[string]int
	// Per node (observation order): requests of its pods, its pods, the
	// pods that keep it from being empty (not DaemonSet or mirror pods).
	used   []nodegroup.Resources
	podsOn []int
	busy   []int
	// interPod: some bound pod has inter-pod terms, host ports or
	// extended requests.
	interPod bool
	// onNode lists the pods bound to a listed node: their indices in
	// Pods, in order, and their nodes' indices (when indexed: only a memo
	// kept for later scans is).
	onNode, onNodeIdx []int32
	indexed           bool
	// The pending pods' count and whether one has inter-pod terms, host
	// ports or extended requests, at PodsVersion podsVersion (0: none).
	// pendFresh: counted by tallyBound in this scan.
	podsVersion int64
	pending     int
	pendInter   bool
	pendFresh   bool
}

// valid reports whether m was built from an observation with obs's
// Version and nodes (and still indexes pods obs has).
func (m *memo) valid(obs *Observation) bool {
	if m == nil || obs == nil || obs.Version == 0 || obs.Version != m.version || len(obs.Nodes) != len(m.names) {
		return false
	}
	if k := len(m.onNode); k > 0 && int(m.onNode[k-1]) >= len(obs.Pods) {
		return false // bound pods are gone although Version is unchanged
	}
	for i := range obs.Nodes {
		if obs.Nodes[i].Name != m.names[i] {
			return false
		}
	}
	return true
}

// interPodTerms reports whether p has inter-pod terms, host ports or
// extended requests.
func interPodTerms(p *simulate.Pod) bool {
	return len(p.Affinity) > 0 || len(p.AntiAffinity) > 0 || len(p.Spread) > 0 || len(p.HostPorts) > 0 || len(p.Requests.Extended) > 0
}

// tallyBound counts each node's bound pods and their requests, and the
// pending pods.
func (s *step) tallyBound() *memo {
	obs := s.obs
	n := len(obs.Nodes)
	m := &memo{version: obs.Version, nodeIdx: s.nodeIdx, podsVersion: obs.PodsVersion, pendFresh: true,
		used: make([]nodegroup.Resources, n), podsOn: make([]int, n), busy: make([]int, n)}
	keep := obs.Version != 0 // kept for the next scans: index the bound pods too
	if keep {
		m.names = make([]string, n)
		for i := range obs.Nodes {
			m.names[i] = obs.Nodes[i].Name
		}
		m.indexed = true
		m.onNode, m.onNodeIdx = make([]int32, 0, len(obs.Pods)), make([]int32, 0, len(obs.Pods))
	}
	last, lastIdx, lastOK := "", 0, false // pods usually come grouped by node
	for i := range obs.Pods {
		p := &obs.Pods[i]
		if p.NodeName == "" {
			m.pending++
			if interPodTerms(p) {
				m.pendInter = true
			}
			continue
		}
		if interPodTerms(p) {
			m.interPod = true
		}
		if p.NodeName != last {
			last = p.NodeName
			lastIdx, lastOK = s.nodeIdx[last]
		}
		j := lastIdx
		if !lastOK {
			continue
		}
		if keep {
			m.onNode = append(m.onNode, int32(i))
			m.onNodeIdx = append(m.onNodeIdx, int32(j))
		}
		if p.Terminal {
			continue
		}
		m.used[j].MilliCPU += p.Requests.MilliCPU
		m.used[j].Memory += p.Requests.Memory
		m.used[j].EphemeralStorage += p.Requests.EphemeralStorage
		m.podsOn[j]++
		if !p.DaemonSet() && !p.Mirror {
			m.busy[j]++
		}
	}
	return m
}

// tallyPending counts the pending pods, or reuses m's count while the
// observation's PodsVersion is unchanged.
func (s *step) tallyPending(m *memo) {
	if pv := s.obs.PodsVersion; !m.pendFresh && (pv == 0 || pv != m.podsVersion) {
		m.podsVersion, m.pending, m.pendInter = pv, 0, false
		for i := range s.obs.Pods {
			p := &s.obs.Pods[i]
			if p.NodeName == "" {
				m.pending++
				if interPodTerms(p) {
					m.pendInter = true
				}
			}
		}
	}
	m.pendFresh = false
	s.pending = m.pending
	s.interPod = s.interPod || m.pendInter
}

// upCluster is the snapshot scale-up needs. When no pod has inter-pod
// terms, host ports or extended requests, a bound pod matters to a
// pending one only through the room it takes, so each node is given as
// its free room and only the pending pods are listed: the same placements
// at a fraction of the cost.
func (s *step) upCluster() *simulate.Cluster {
	if s.interPod {
		s.upPods = nil
		c, _ := s.cluster(false)
		return c
	}
	c := &simulate.Cluster{Nodes: make([]simulate.Node, len(s.obs.Nodes)), DaemonSets: s.obs.DaemonSets, PDBs: s.obs.PDBs,
		Pods: make([]simulate.Pod, 0, s.pending)}
	for i := range s.obs.Nodes {
		n := s.obs.Nodes[i].Node
		a, u := n.Allocatable, s.used[i]
		n.Allocatable = nodegroup.Resources{MilliCPU: a.MilliCPU - u.MilliCPU, Memory: a.Memory - u.Memory,
			EphemeralStorage: max(0, a.EphemeralStorage-u.EphemeralStorage), Pods: a.Pods - int64(s.podsOn[i]), Extended: a.Extended}
		if a.EphemeralStorage == 0 {
			n.Allocatable.EphemeralStorage = 0
		}
		c.Nodes[i] = n
	}
	s.upPods = make([]int, 0, s.pending)
	for i := range s.obs.Pods {
		if s.obs.Pods[i].NodeName == "" {
			c.Pods = append(c.Pods, s.obs.Pods[i])
			s.upPods = append(s.upPods, i)
		}
	}
	return c
}

// cluster is the observation as simulate's snapshot; boundOnly leaves
// the pending pods out. The observation's pod slice is shared, not
// copied, when nothing is left out (simulate does not change its input).
// orig maps the snapshot's pods to the observation's (nil: the same).
func (s *step) cluster(boundOnly bool) (c *simulate.Cluster, orig []int) {
	c = &simulate.Cluster{Nodes: make([]simulate.Node, len(s.obs.Nodes)), DaemonSets: s.obs.DaemonSets, PDBs: s.obs.PDBs}
	for i := range s.obs.Nodes {
		c.Nodes[i] = s.obs.Nodes[i].Node
	}
	if !boundOnly || s.pending == 0 {
		c.Pods = s.obs.Pods
		return c, nil
	}
	c.Pods = make([]simulate.Pod, 0, len(s.obs.Pods)-s.pending)
	orig = make([]int, 0, len(s.obs.Pods)-s.pending)
	for i := range s.obs.Pods {
		if s.obs.Pods[i].NodeName != "" {
			c.Pods = append(c.Pods, s.obs.Pods[i])
			orig = append(orig, i)
		}
	}
	return c, orig
}

// util is a node's utilization from its pods' requests: the larger of
// CPU and memory, as cluster-autoscaler's default.
func util(alloc, used nodegroup.Resources) float64 {
	u := 0.0
	if alloc.MilliCPU > 0 {
		u = float64(used.MilliCPU) / float64(alloc.MilliCPU)
	}
	if alloc.Memory > 0 {
		u = math.Max(u, float64(used.Memory)/float64(alloc.Memory))
	}
	return u
}
