package autoscaler

import (
	"maps"
	"slices"
	"time"

	"github.com/kscale/kscale/simulate"
)

// latencyHistory is how many measured provisioning latencies a group
// keeps.
const latencyHistory = 5

// State is what the loop remembers between scans. It is a plain value:
// JSON-serialisable, copied with Clone, not safe for concurrent use.
// Nothing in it is needed for correctness after a restart: launches are
// recomputed from the provider's target sizes (a launch first seen by a
// restarted loop is timed from that scan), and the rest only delays
// decisions (timers start again, backoffs are forgotten).
type State struct {
	// Launches are each group's launches not registered yet, oldest
	// first: len = target − registered nodes.
	Launches map[string][]time.Time `json:"launches,omitempty"`
	// Latencies are each group's last measured provisioning latencies
	// (launch to registration, seen at scan granularity), oldest first.
	Latencies map[string][]time.Duration `json:"latencies,omitempty"`
	// Backoff is the per-group scale-up backoff.
	Backoff simulate.Backoff `json:"backoff"`
	// LastScaleUp, LastScaleDown and LastScaleDownFailure start the
	// scale-down delays; zero is never.
	LastScaleUp          time.Time `json:"lastScaleUp,omitzero"`
	LastScaleDown        time.Time `json:"lastScaleDown,omitzero"`
	LastScaleDownFailure time.Time `json:"lastScaleDownFailure,omitzero"`
	// Unneeded is when each node became unneeded.
	Unneeded map[string]time.Time `json:"unneeded,omitempty"`
	// Holds keep pre-provisioned nodes until their rise.
	Holds []Hold `json:"holds,omitempty"`
	// Removal caches the last removal simulation, keyed by the
	// observation's Version and a digest of the rest it read.
	Removal *Removal `json:"removal,omitempty"`
}

// Hold keeps Nodes of Group's newest nodes from scale-down until Until.
type Hold struct {
	Group    string    `json:"group"`
	Nodes    int       `json:"nodes"`
	Until    time.Time `json:"until"`
	Workload string    `json:"workload,omitempty"`
}

// Removal is a cached removal simulation.
type Removal struct {
	Version int64 `json:"version"`
	// Key digests the simulation's other inputs: the candidates, the
	// groups' sizes and bounds, DaemonSets, PDBs and options.
	Key         uint64                 `json:"key,omitempty"`
	Removable   []string               `json:"removable,omitempty"`
	Unremovable []simulate.Unremovable `json:"unremovable,omitempty"`
}

// Clone is a deep copy of s.
func (s *State) Clone() State {
	c := *s
	c.Launches = map[string][]time.Time{}
	for k, v := range s.Launches {
		c.Launches[k] = slices.Clone(v)
	}
	c.Latencies = map[string][]time.Duration{}
	for k, v := range s.Latencies {
		c.Latencies[k] = slices.Clone(v)
	}
	c.Backoff.Groups = maps.Clone(s.Backoff.Groups)
	c.Unneeded = maps.Clone(s.Unneeded)
	if c.Unneeded == nil {
		c.Unneeded = map[string]time.Time{}
	}
	c.Holds = slices.Clone(s.Holds)
	if s.Removal != nil {
		r := *s.Removal
		c.Removal = &r
	}
	return c
}

// IncreaseFailed records that carrying out an increase failed at now:
// the group is backed off for reason and the launches Step recorded for
// it are dropped.
func (s *State) IncreaseFailed(now time.Time, c Change, reason string) {
	s.Backoff.Fail(c.Group, now, reason)
	if s.Launches == nil {
		s.Launches = map[string][]time.Time{}
	}
	l := s.Launches[c.Group]
	s.Launches[c.Group] = l[:max(0, len(l)-c.Delta)]
	for i := len(s.Holds) - 1; i >= 0; i-- {
		if h := s.Holds[i]; h.Group == c.Group && c.Reason == ReasonPreProvision {
			s.Holds = slices.Delete(s.Holds, i, i+1)
			break
		}
	}
}

// DeleteFailed records that removing a node failed at now, which starts
// ScaleDownDelayAfterFailure.
func (s *State) DeleteFailed(now time.Time, d Delete) {
	s.LastScaleDownFailure = now
}
