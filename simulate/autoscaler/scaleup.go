package autoscaler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kscale/kscale/simulate"
)

// maxRisePods bounds the pods one rise adds.
const maxRisePods = 1_000_000

func (s *step) upOptions() simulate.ScaleUpOptions {
	return simulate.ScaleUpOptions{Limits: s.cfg.Limits, Expander: s.cfg.Expander, BalanceSimilar: s.cfg.BalanceSimilar,
		Backoff: &s.st.Backoff, Now: s.now}
}

// scaleUp grows groups for the pending pods that fit no existing or
// upcoming node; it reports whether it grew any.
func (s *step) scaleUp() (bool, error) {
	if s.pending == 0 {
		return false, nil
	}
	c := s.upCluster()
	g, err := s.grow(c)
	if err != nil {
		return false, fmt.Errorf("autoscaler: scale-up: %w", err)
	}
	s.act.ScaleUp = g.reason
	s.notePlaced(g.existing)
	for _, u := range g.unschedulable {
		p := &c.Pods[u.Pod]
		s.act.Pending = append(s.act.Pending, PodExplanation{Pod: p.Key(), Reason: ReasonNotTriggerScaleUp, Reasons: u.Reasons})
	}
	for _, inc := range g.increases {
		s.increase(inc.Group, inc.Delta, inc.pods, ReasonScaleUp, g.reason)
	}
	return len(g.increases) > 0, nil
}

// growth is what one scale-up simulation decided, whichever the mode.
type growth struct {
	increases     []groupIncrease
	existing      []simulate.Placement
	unschedulable []simulate.Unschedulable
	reason        string
}

// groupIncrease is one group's new nodes and the pending pods they take.
type groupIncrease struct {
	simulate.Increase
	pods int
}

// grow runs the configured scale-up simulation on c.
func (s *step) grow(c *simulate.Cluster) (growth, error) {
	if s.cfg.ScaleUpMode == ScaleUpProvision {
		return s.provision(c)
	}
	r, err := simulate.ScaleUp(c, s.groups, s.upOptions())
	if err != nil {
		return growth{}, err
	}
	g := growth{existing: r.Existing, unschedulable: r.Unschedulable, reason: r.Reason}
	pods := 0
	if r.Chosen != nil {
		pods = len(r.Chosen.Pods)
	}
	for _, inc := range r.Increases {
		g.increases = append(g.increases, groupIncrease{Increase: inc, pods: pods})
	}
	return g, nil
}

// provision is Karpenter's answer: every pending pod placed at once across
// the groups. A backed-off group keeps its upcoming nodes but gets no new
// one (its maximum is its target for the simulation).
func (s *step) provision(c *simulate.Cluster) (growth, error) {
	groups := s.groups
	var off []string
	for i := range groups {
		if _, ok := s.st.Backoff.Active(groups[i].ID, s.now); ok {
			if off == nil {
				groups = slices.Clone(s.groups) // s.groups is the loop's own
			}
			groups[i].Max = max(groups[i].Min, min(groups[i].Max, groups[i].Target))
			off = append(off, groups[i].ID)
		}
	}
	r, err := simulate.Provision(c, groups, simulate.ProvisionOptions{Limits: s.cfg.Limits})
	if err != nil {
		return growth{}, err
	}
	g := growth{unschedulable: r.Unschedulable}
	onNew := map[string]bool{}
	pods := map[string]int{}
	for _, n := range r.Nodes {
		onNew[n.Name] = true
		pods[n.Group] += n.Pods
	}
	for _, p := range r.Placements {
		if !onNew[p.Node] {
			g.existing = append(g.existing, p)
		}
	}
	var parts []string
	total := 0
	for _, gr := range s.groups { // in the groups' order
		if n := r.NewNodes[gr.ID]; n > 0 {
			g.increases = append(g.increases, groupIncrease{Increase: simulate.Increase{Group: gr.ID, Delta: n}, pods: pods[gr.ID]})
			parts = append(parts, fmt.Sprintf("%s +%d", gr.ID, n))
			total += pods[gr.ID]
		}
	}
	switch {
	case len(parts) > 0:
		g.reason = fmt.Sprintf("provisioned %d pod(s) on new nodes: %s", total, strings.Join(parts, ", "))
	case len(g.unschedulable) > 0:
		g.reason = fmt.Sprintf("%d pending pod(s) fit no group", len(g.unschedulable))
	default:
		g.reason = fmt.Sprintf("%d pending pod(s) fit existing or upcoming nodes", len(g.existing))
	}
	if len(off) > 0 {
		g.reason += "; backed off: " + strings.Join(off, ", ")
	}
	return g, nil
}

// latency is the provisioning latency assumed for group id: the largest
// of its last measurements, at least the configured floor.
func (s *step) latency(id string) time.Duration {
	l := s.cfg.PreProvisionLatencyFloor
	for _, d := range s.st.Latencies[id] {
		l = max(l, d)
	}
	return l
}

// preProvision raises groups ahead of scheduled rises: the pods a rise
// adds are simulated as pending beside the real ones, and each group the
// scale-up would grow is raised once now ≥ rise − (its latency + the pods'
// start-up + one scan). It reports whether it grew any.
func (s *step) preProvision() (bool, error) {
	grew := false
	for ri := range s.obs.Rises {
		rise := &s.obs.Rises[ri]
		add := int(rise.Replicas) - int(rise.Current)
		if add <= 0 || !rise.At.After(s.now) {
			continue
		}
		maxLead := time.Duration(0)
		for _, g := range s.groups {
			maxLead = max(maxLead, s.latency(g.ID))
		}
		if s.now.Before(rise.At.Add(-(maxLead + rise.StartUp + s.cfg.ScanInterval))) {
			continue // too early for every group
		}
		c := s.upCluster()
		c.Pods = append(make([]simulate.Pod, 0, len(c.Pods)+add), c.Pods...) // never into the observation's array
		for k := range add {
			p := rise.Pod
			p.Name = rise.Workload + "-rise-" + strconv.Itoa(k)
			p.NodeName = ""
			c.Pods = append(c.Pods, p)
		}
		r, err := s.grow(c)
		if err != nil {
			return grew, fmt.Errorf("autoscaler: pre-provisioning for %s: %w", rise.Workload, err)
		}
		for _, inc := range r.increases {
			pods := inc.pods
			lead := s.latency(inc.Group) + rise.StartUp + s.cfg.ScanInterval
			if s.now.Before(rise.At.Add(-lead)) {
				continue
			}
			msg := fmt.Sprintf("+%d node(s) of %s for %d pod(s) of %s rising from %d to %d replicas at %s (lead %s)",
				inc.Delta, inc.Group, pods, rise.Workload, rise.Current, rise.Replicas, rise.At.UTC().Format(time.RFC3339), lead)
			s.increase(inc.Group, inc.Delta, pods, ReasonPreProvision, msg)
			c := &s.act.Increases[len(s.act.Increases)-1]
			c.Workload, c.At, c.Replicas = rise.Workload, rise.At, rise.Replicas
			s.st.Holds = append(s.st.Holds, Hold{Group: inc.Group, Nodes: inc.Delta, Until: rise.At, Workload: rise.Workload})
			grew = true
		}
	}
	return grew, nil
}

// notePlaced keeps the placements on registered nodes of the pending pods
// that need no new node; existing indexes the pods of scale-up's snapshot
// (upCluster's).
func (s *step) notePlaced(existing []simulate.Placement) {
	for _, e := range existing {
		j, ok := s.nodeIdx[e.Node]
		if !ok || e.Pod < 0 {
			continue // an upcoming node: not a scale-down candidate
		}
		i := e.Pod
		if s.upPods != nil {
			if i >= len(s.upPods) {
				continue
			}
			i = s.upPods[i]
		} else if i >= len(s.obs.Pods) {
			continue
		}
		s.placed = append(s.placed, placement{pod: i, node: j})
	}
}
