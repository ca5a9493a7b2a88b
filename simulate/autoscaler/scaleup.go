package autoscaler

import (
	"fmt"
	"strconv"
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
	r, err := simulate.ScaleUp(c, s.groups, s.upOptions())
	if err != nil {
		return false, fmt.Errorf("autoscaler: scale-up: %w", err)
	}
	s.act.ScaleUp = r.Reason
	s.notePlaced(c, r.Existing)
	for _, u := range r.Unschedulable {
		p := &c.Pods[u.Pod]
		s.act.Pending = append(s.act.Pending, PodExplanation{Pod: p.Key(), Reason: ReasonNotTriggerScaleUp, Reasons: u.Reasons})
	}
	pods := 0
	if r.Chosen != nil {
		pods = len(r.Chosen.Pods)
	}
	for _, inc := range r.Increases {
		s.increase(inc.Group, inc.Delta, pods, ReasonScaleUp, r.Reason)
	}
	return len(r.Increases) > 0, nil
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
		r, err := simulate.ScaleUp(c, s.groups, s.upOptions())
		if err != nil {
			return grew, fmt.Errorf("autoscaler: pre-provisioning for %s: %w", rise.Workload, err)
		}
		pods := 0
		if r.Chosen != nil {
			pods = len(r.Chosen.Pods)
		}
		for _, inc := range r.Increases {
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
// that need no new node. c is the scale-up's snapshot: its pods are the
// observation's, or (upCluster's short form) only its pending ones, in
// order.
func (s *step) notePlaced(c *simulate.Cluster, existing []simulate.Placement) {
	if len(existing) == 0 {
		return
	}
	var pendingIdx []int // snapshot pod → observation pod, short form only
	if len(c.Pods) != len(s.obs.Pods) {
		pendingIdx = make([]int, 0, len(c.Pods))
		for i := range s.obs.Pods {
			if s.obs.Pods[i].NodeName == "" {
				pendingIdx = append(pendingIdx, i)
			}
		}
	}
	for _, e := range existing {
		j, ok := s.nodeIdx[e.Node]
		if !ok || e.Pod < 0 || e.Pod >= len(c.Pods) {
			continue // an upcoming node: not a scale-down candidate
		}
		i := e.Pod
		if pendingIdx != nil {
			if i >= len(pendingIdx) {
				continue
			}
			i = pendingIdx[i]
		}
		s.placed = append(s.placed, placement{pod: i, node: j})
	}
}
