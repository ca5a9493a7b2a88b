package simulate

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// ScaleUpOptions configure ScaleUp.
type ScaleUpOptions struct {
	Limits Limits
	// Expander picks among options; nil means LeastWaste.
	Expander Expander
	// BalanceSimilar spreads the chosen option over groups similar to it
	// (--balance-similar-node-groups); BalancingIgnoreLabels adds labels
	// to ignore when comparing.
	BalanceSimilar        bool
	BalancingIgnoreLabels []string
	// Backoff, when set, skips groups backed off at Now.
	Backoff *Backoff
	Now     time.Time
}

// Placement is a pending pod that fits an existing or upcoming node.
type Placement struct {
	Pod  int    `json:"pod"`
	Node string `json:"node"`
}

// Unschedulable is a pending pod no option places, with the reason per
// group ("" key: the reason no group was tried).
type Unschedulable struct {
	Pod     int               `json:"pod"`
	Reasons map[string]string `json:"reasons"`
}

// SkippedGroup is a group left out of a scale-up, and why.
type SkippedGroup struct {
	Group  string `json:"group"`
	Reason string `json:"reason"`
}

// ScaleUpResult is the outcome of ScaleUp.
type ScaleUpResult struct {
	// Existing are pending pods that fit on existing or upcoming nodes;
	// they need no new node.
	Existing []Placement `json:"existing,omitempty"`
	// Options are the per-group estimates, in group order.
	Options []Option `json:"options,omitempty"`
	// Chosen is the option the expander picked, nil when none.
	Chosen *Option `json:"chosen,omitempty"`
	// Increases resize the chosen group (or, balanced, its similar groups).
	Increases     []Increase      `json:"increases,omitempty"`
	Unschedulable []Unschedulable `json:"unschedulable,omitempty"`
	// Deferred are pending pods not placed this round although they are
	// not unschedulable: a group's template refused them only for their
	// required pod affinity, and pods an option places match all their
	// affinity terms. Once those pods run they may bind (cluster-autoscaler
	// retries them in its next loop). Reasons[""] is ReasonDeferred.
	Deferred []Unschedulable `json:"deferred,omitempty"`
	Skipped  []SkippedGroup  `json:"skipped,omitempty"`
	// Unmodeled lists, per pod placed, what the simulator did not model.
	Unmodeled map[int][]string `json:"unmodeled,omitempty"`
	// Reason explains the decision in one line.
	Reason string `json:"reason"`
}

// registered counts the listed nodes of each group.
func (s *snapshot) registered() map[string]int {
	out := map[string]int{}
	for _, n := range s.nodes {
		if n.group != "" {
			out[n.group]++
		}
	}
	return out
}

// addUpcoming adds the nodes t's group targets but the cluster does not
// list yet, as copies of its template. Only one more than the pending pods
// are built: pods can use at most that many, and one of them stays empty
// whatever is placed, so every spread minimum they take part in is 0, as
// it is with all of them. The rest are only counted (nodeCount, cluster
// capacity), so the cost follows the pods, not a group's nominal size.
func (s *snapshot) addUpcoming(t *templateNode, registered, pending int) {
	g := t.group
	want := g.Target - registered
	if want <= 0 {
		return
	}
	build := want
	if build > pending+1 && !s.buildAll {
		build = pending + 1
	}
	for k := 0; k < build; k++ {
		n := t.node
		n.Name = g.ID + "-upcoming-" + strconv.Itoa(k+1)
		nd := s.addNode(&n, g.ID, true)
		nd.used = t.overhead
		nd.ports = append(nd.ports, t.ports...)
	}
	rest := int64(want - build)
	s.phantom = satAdd(s.phantom, rest)
	c := capOf(g)
	s.phantomCPU = satAdd(s.phantomCPU, satMul(rest, c.MilliCPU))
	s.phantomMem = satAdd(s.phantomMem, satMul(rest, c.Memory))
}

// nodeCount is the number of nodes, upcoming ones not built included,
// saturated to the int range.
func (s *snapshot) nodeCount() int {
	n := satAdd(int64(len(s.nodes)), s.phantom)
	if n > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}

// ReasonDeferred marks a pod left for the next round (ScaleUpResult.Deferred).
const ReasonDeferred = "not placed this round: its required pod affinity waits for pods this scale-up adds"

// waitsForPlaced lists the equivalence groups (by id) of pending pods
// whose every required affinity term a pod placed by an option matches.
func (s *snapshot) waitsForPlaced(work []pending, placedAny map[int32]bool) map[int]bool {
	var placedPegs []*peg
	seen := map[int32]bool{}
	for p := range placedAny {
		if g := s.podPeg[p]; !seen[g] {
			seen[g] = true
			placedPegs = append(placedPegs, s.pegs[g])
		}
	}
	sort.Slice(placedPegs, func(i, j int) bool { return placedPegs[i].id < placedPegs[j].id })
	out := map[int]bool{}
	for _, w := range work {
		ex := w.g.ex
		if len(ex.Affinity) == 0 {
			continue
		}
		for _, q := range placedPegs {
			if matchesAllAffinity(ex, q.ex) {
				out[w.g.id] = true
				break
			}
		}
	}
	return out
}

// matchesAllAffinity reports whether q matches every required affinity
// term of p, namespaces included (kube-scheduler's
// podMatchesAllAffinityTerms).
func matchesAllAffinity(p, q *Pod) bool {
	for i := range p.Affinity {
		t := &p.Affinity[i]
		if !contains(termNamespaces(t, p.Namespace), q.Namespace) || !t.Selector.matches(q.Labels) {
			return false
		}
	}
	return len(p.Affinity) > 0
}

// ScaleUp runs one cluster-autoscaler scale-up decision: pending pods that
// fit existing or upcoming nodes are set aside; every group not backed off,
// at its maximum or over a quota estimates how many of its nodes hold the
// rest; the expander picks one option; limits cap it and balancing spreads
// it over similar groups. It changes nothing in c.
func ScaleUp(c *Cluster, groups []Group, o ScaleUpOptions) (*ScaleUpResult, error) {
	if err := validateGroups(groups); err != nil {
		return nil, err
	}
	if err := checkExpander("expander", o.Expander); err != nil {
		return nil, err
	}
	s, err := newSnapshot(c, groups)
	if err != nil {
		return nil, err
	}
	return s.scaleUp(groups, o)
}

func (s *snapshot) scaleUp(groups []Group, o ScaleUpOptions) (*ScaleUpResult, error) {
	res := &ScaleUpResult{}
	exp := o.Expander
	if exp == nil {
		exp = LeastWaste{}
	}
	total := newDeadline(o.Limits.Clock, o.Limits.TotalBudget)
	work := s.pendingWork()
	// Upcoming nodes: targets not yet registered.
	registered := s.registered()
	for gi := range groups {
		s.addUpcoming(s.prepare(&groups[gi]), registered[groups[gi].ID], countPods(work))
	}
	clusterCPU, clusterMem := s.phantomCPU, s.phantomMem
	for _, n := range s.nodes {
		clusterCPU = satAdd(clusterCPU, n.capac[dimCPU])
		clusterMem = satAdd(clusterMem, n.capac[dimMem])
	}
	work, res.Existing = s.fillExisting(work)
	if len(work) == 0 {
		res.Reason = "no pending pods need a new node"
		if len(res.Existing) > 0 {
			res.Reason = fmt.Sprintf("%d pending pod(s) fit existing or upcoming nodes", len(res.Existing))
		}
		return res, nil
	}
	reasons := map[int32]map[string]string{}
	why := func(p int32, group, r string) {
		m := reasons[p]
		if m == nil {
			m = map[string]string{}
			reasons[p] = m
		}
		m[group] = r
	}
	var placedAny map[int32]bool
	clusterCap := 0
	if o.Limits.MaxNodesTotal > 0 {
		clusterCap = o.Limits.MaxNodesTotal - s.nodeCount()
		if clusterCap <= 0 {
			clusterCap = -1
		}
	}
	valid, skipped := validGroups(groups, &o, clusterCap, clusterCPU, clusterMem)
	res.Skipped = skipped
	var late []SkippedGroup
	res.Options, placedAny, late = s.options(valid, work, o, clusterCap, clusterCPU, clusterMem, total, why)
	res.Skipped = append(res.Skipped, late...)
	waits := s.waitsForPlaced(work, placedAny)
	// A pod waits when a group's template refused it for its required pod
	// affinity alone (node selection, taints and resources passed).
	refusedForAffinity := func(r map[string]string) bool {
		for _, v := range r {
			if v == ReasonAffinity {
				return true
			}
		}
		return false
	}
	for _, w := range work {
		for _, p := range w.pods {
			if placedAny[p] {
				continue
			}
			r := reasons[p]
			if r == nil {
				r = map[string]string{"": "no node group can be scaled up"}
			}
			if waits[w.g.id] && refusedForAffinity(r) {
				r[""] = ReasonDeferred
				res.Deferred = append(res.Deferred, Unschedulable{Pod: int(p), Reasons: r})
				continue
			}
			res.Unschedulable = append(res.Unschedulable, Unschedulable{Pod: int(p), Reasons: r})
		}
	}
	sort.Slice(res.Unschedulable, func(i, j int) bool { return res.Unschedulable[i].Pod < res.Unschedulable[j].Pod })
	sort.Slice(res.Deferred, func(i, j int) bool { return res.Deferred[i].Pod < res.Deferred[j].Pod })
	if len(res.Options) == 0 {
		res.Reason = fmt.Sprintf("no scale-up option for %d pending pod(s)", countPods(work))
		return res, nil
	}
	chosen, reason := choose(exp, res.Options, s.nodeCount())
	res.Chosen = chosen
	res.Increases = []Increase{{Group: chosen.Group, Delta: chosen.Nodes}}
	if o.BalanceSimilar {
		var similar []Group
		for _, h := range valid {
			if h.ID == chosen.Group || Similar(&s.groupByID(groups, chosen.Group).Template, &h.Template, o.BalancingIgnoreLabels) {
				similar = append(similar, *h)
			}
		}
		if len(similar) > 1 {
			res.Increases, _ = Balance(similar, chosen.Nodes)
			reason += fmt.Sprintf(", balanced over %d similar group(s)", len(similar))
		}
	}
	for _, p := range chosen.Pods {
		if u := s.pods[p].Unmodeled; len(u) > 0 {
			if res.Unmodeled == nil {
				res.Unmodeled = map[int][]string{}
			}
			res.Unmodeled[p] = u
		}
	}
	res.Reason = fmt.Sprintf("%s: +%d node(s) of %s for %d of %d pending pod(s)", reason, chosen.Nodes, chosen.Group, len(chosen.Pods), countPods(work))
	return res, nil
}

func backedOff(b *Backoff, group string, now time.Time) bool {
	_, ok := b.Active(group, now)
	return ok
}

func (s *snapshot) groupByID(groups []Group, id string) *Group {
	for i := range groups {
		if groups[i].ID == id {
			return &groups[i]
		}
	}
	return nil
}

func capOf(g *Group) struct{ MilliCPU, Memory int64 } {
	c := g.Template.Capacity
	if c.MilliCPU == 0 && c.Memory == 0 {
		c = g.Template.Allocatable
	}
	return struct{ MilliCPU, Memory int64 }{c.MilliCPU, c.Memory}
}

func templateOf(g *Group) *Template {
	c := capOf(g)
	return &Template{MilliCPU: c.MilliCPU, Memory: c.Memory, PricePerHour: g.Template.PricePerHour}
}

func countPods(work []pending) int {
	n := 0
	for _, w := range work {
		n += len(w.pods)
	}
	return n
}

// fillExisting places pending pods on existing and upcoming nodes, highest
// priority first, first fit over nodes in order; what fits is bound in
// the snapshot. Pods that fit nowhere are retried in further passes while
// a pass places any pod, since a pod placed later may be what an earlier
// one's required affinity waits for (kube-scheduler retries it once that
// pod is bound). It returns the pods left.
func (s *snapshot) fillExisting(work []pending) ([]pending, []Placement) {
	order := make([]int, len(work))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return work[order[a]].g.priority > work[order[b]].g.priority })
	queue := make([]pending, len(work))
	for i, wi := range order {
		queue[i] = work[wi]
	}
	var placed []Placement
	for pass := 0; ; pass++ {
		progress := false
		var left []pending
		for _, w := range queue {
			if pass > 0 && monotone(w.g) {
				// Placements only take room: a group without affinity or
				// spread that found no node will find none later.
				left = append(left, w)
				continue
			}
			next := s.fillOne(w, &placed)
			if next > 0 {
				progress = true
			}
			if next < len(w.pods) {
				left = append(left, pending{g: w.g, pods: w.pods[next:]})
			}
		}
		queue = left
		// Only affinity and spread can turn a refusal into a fit as other
		// pods are placed; without such a group another pass is useless.
		retry := false
		for _, w := range queue {
			if !monotone(w.g) {
				retry = true
			}
		}
		if !progress || !retry || len(queue) == 0 {
			break
		}
	}
	// Keep the groups' original order for the estimates.
	sort.SliceStable(queue, func(a, b int) bool { return queue[a].g.id < queue[b].g.id })
	return queue, placed
}

// fillOne places the pods of w, in order, first fit over every node, until
// one fits nowhere; it returns how many it placed.
func (s *snapshot) fillOne(w pending, placed *[]Placement) int {
	g := w.g
	next, cursor := 0, 0
	for next < len(w.pods) {
		start := 0
		if monotone(g) {
			start = cursor
		}
		found := false
		for i := start; i < len(s.nodes); i++ {
			n := s.nodes[i]
			if s.fits(g, n, 1) > 0 {
				p := w.pods[next]
				s.placeOne(p, n)
				*placed = append(*placed, Placement{Pod: int(p), Node: n.name})
				next++
				found = true
				cursor = i
				break
			}
		}
		if !found {
			break
		}
	}
	return next
}

// options estimates every valid group for the pending work.
func (s *snapshot) options(valid []*Group, work []pending, o ScaleUpOptions, clusterCap int, clusterCPU, clusterMem int64,
	total deadline, why func(p int32, group, r string)) ([]Option, map[int32]bool, []SkippedGroup) {
	var skipped []SkippedGroup
	var out []Option
	placedAny := map[int32]bool{}
	for _, g := range valid {
		t := s.prepare(g)
		// Feasibility of each equivalence group on a fresh template node.
		var feasible []pending
		s.begin()
		probe := s.fresh(t)
		for _, w := range work {
			if r := s.reason(w.g, probe); r != "" {
				for _, p := range w.pods {
					why(p, g.ID, r)
				}
				continue
			}
			feasible = append(feasible, w)
		}
		s.revert()
		if len(feasible) == 0 {
			continue
		}
		limit := groupLimit(g, valid, &o, clusterCap, clusterCPU, clusterMem)
		if total.passed() {
			skipped = append(skipped, SkippedGroup{Group: g.ID, Reason: "scale-up time budget spent"})
			continue
		}
		dl := newDeadline(o.Limits.Clock, o.Limits.GroupBudget).min(total)
		est := s.estimate(t, feasible, limit, dl)
		if est.npods == 0 {
			for _, w := range feasible {
				for _, p := range w.pods {
					why(p, g.ID, "no new node of the group holds the pod within the limits")
				}
			}
			continue
		}
		opt := Option{Group: g.ID, Nodes: est.nodes, PodsMilliCPU: est.podsCPU, PodsMemory: est.podsMem,
			LimitReached: est.limitHit || est.timedOut, Template: templateOf(g)}
		opt.Pods = make([]int, 0, est.npods)
		for wi, ps := range est.placed {
			for _, p := range ps {
				opt.Pods = append(opt.Pods, int(p))
				placedAny[p] = true
			}
			for _, p := range feasible[wi].pods[len(ps):] {
				r := est.why[wi]
				if r == "" {
					r = "no new node of the group holds the pod"
				}
				why(p, g.ID, r)
			}
		}
		sort.Ints(opt.Pods)
		out = append(out, opt)
	}
	return out, placedAny, skipped
}

// groupLimit is the node limit of one group's estimate.
func groupLimit(g *Group, valid []*Group, o *ScaleUpOptions, clusterCap int, clusterCPU, clusterMem int64) int {
	groupCap := g.Max - g.Target
	if o.BalanceSimilar {
		for _, h := range valid {
			if h != g && Similar(&g.Template, &h.Template, o.BalancingIgnoreLabels) {
				groupCap = int(min(satAdd(int64(groupCap), int64(max(0, h.Max-h.Target))), math.MaxInt))
			}
		}
	}
	return combine(o.Limits.MaxNodesPerScaleUp, groupCap, clusterCap,
		quotaNodes(o.Limits.MaxMilliCPU, clusterCPU, capOf(g).MilliCPU),
		quotaNodes(o.Limits.MaxMemory, clusterMem, capOf(g).Memory))
}

// validGroups drops the groups a scale-up may not use: backed off, at
// maximum, over the node total or a quota.
func validGroups(groups []Group, o *ScaleUpOptions, clusterCap int, clusterCPU, clusterMem int64) (valid []*Group, skipped []SkippedGroup) {
	for gi := range groups {
		g := &groups[gi]
		skip := ""
		switch {
		case o.Backoff != nil && backedOff(o.Backoff, g.ID, o.Now):
			until, _ := o.Backoff.Active(g.ID, o.Now)
			skip = "backed off until " + until.UTC().Format(time.RFC3339)
		case g.Target >= g.Max:
			skip = fmt.Sprintf("max size reached (%d)", g.Max)
		case clusterCap < 0:
			skip = fmt.Sprintf("max total nodes reached (%d)", o.Limits.MaxNodesTotal)
		case quotaNodes(o.Limits.MaxMilliCPU, clusterCPU, capOf(g).MilliCPU) < 0:
			skip = "max cluster cpu limit reached"
		case quotaNodes(o.Limits.MaxMemory, clusterMem, capOf(g).Memory) < 0:
			skip = "max cluster memory limit reached"
		}
		if skip != "" {
			skipped = append(skipped, SkippedGroup{Group: g.ID, Reason: skip})
			continue
		}
		valid = append(valid, g)
	}
	return valid, skipped
}
