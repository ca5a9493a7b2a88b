package esstest

import (
	"fmt"
	"sort"
	"time"
)

// Instance lifecycle states, spelled as ESS spells them.
const (
	StatePending   = "Pending"
	StateInService = "InService"
	StateRemoving  = "Removing"
)

// InstanceType is an ECS instance type as DescribeInstanceTypes returns it.
type InstanceType struct {
	ID        string  // "ecs.g7.large"
	CPU       int     // vCPUs (CpuCoreCount)
	MemoryGiB float64 // MemorySize
	GPU       int     // GPUAmount
	Arch      string  // CpuArchitecture: "X86" (default) or "ARM"
}

// Configuration is a scaling configuration.
type Configuration struct {
	ID string // generated when empty
	// InstanceTypes are the configuration's types in priority order; the
	// first is also reported as InstanceType.
	InstanceTypes  []string
	Tags           map[string]string
	SpotStrategy   string // NoSpot (default), SpotWithPriceLimit, SpotAsPriceGo
	SystemDiskSize int    // GiB, default 40
	ZoneID         string // defaults to the group's zone
}

// Group is a scaling group with its active configuration.
type Group struct {
	ID      string // generated when empty
	Name    string // defaults to the ID
	MinSize int
	MaxSize int
	// Size instances are InService from the start; the desired capacity
	// starts at Size.
	Size          int
	Zone          string // zone of the group's instances, default "<region>-a"
	Tags          map[string]string
	Configuration Configuration
}

// Activity is a scaling activity.
type Activity struct {
	ID           string
	GroupID      string
	StatusCode   string // Successful, Failed
	ErrorCode    string
	ErrorMessage string
	// Cause is why the activity ran ("A user requests to execute scaling
	// rule ..."); Description is what it does ("Add \"2\" ECS
	// instance(s)"), the fields DescribeScalingActivities returns.
	Cause       string
	Description string
	Start       time.Time
}

// Instance is one member of a group as the emulator sees it.
type Instance struct {
	ID           string
	GroupID      string
	State        string
	Zone         string
	InstanceType string
	Created      time.Time
}

type instance struct {
	Instance
	readyAt, goneAt time.Time
}

type group struct {
	Group
	desired int
	insts   []*instance
}

type rule struct {
	id, ari, name, group, adjType string
	value                         int
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%s%06d", prefix, s.cfg.Region, s.seq)
}

// AddInstanceType makes an instance type known to DescribeInstanceTypes.
func (s *Server) AddInstanceType(t InstanceType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Arch == "" {
		t.Arch = "X86"
	}
	s.types[t.ID] = t
}

// AddGroup creates a scaling group, its configuration and its initial
// instances, and returns the group's ID.
func (s *Server) AddGroup(g Group) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID == "" {
		g.ID = s.nextID("asg")
	}
	if g.Name == "" {
		g.Name = g.ID
	}
	if g.Zone == "" {
		g.Zone = s.cfg.Region + "-a"
	}
	c := &g.Configuration
	if c.ID == "" {
		c.ID = s.nextID("asc")
	}
	if c.SpotStrategy == "" {
		c.SpotStrategy = "NoSpot"
	}
	if c.SystemDiskSize == 0 {
		c.SystemDiskSize = 40
	}
	if c.ZoneID == "" {
		c.ZoneID = g.Zone
	}
	c.InstanceTypes = append([]string(nil), c.InstanceTypes...)
	g.Tags = copyTags(g.Tags)
	c.Tags = copyTags(c.Tags)
	st := &group{Group: g, desired: g.Size}
	for range g.Size {
		st.insts = append(st.insts, s.newInstance(st, StateInService))
	}
	s.groups[g.ID] = st
	s.order = append(s.order, g.ID)
	return g.ID
}

func copyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) newInstance(g *group, state string) *instance {
	typ := ""
	if len(g.Configuration.InstanceTypes) > 0 {
		typ = g.Configuration.InstanceTypes[0]
	}
	in := &instance{Instance: Instance{ID: s.nextID("i"), GroupID: g.ID, State: state, Zone: g.Zone, InstanceType: typ, Created: s.now},
		readyAt: s.now.Add(s.cfg.LaunchDelay)}
	s.instGroup[in.ID] = g.ID
	return in
}

// SetStockOut makes launches of an instance type in a zone fail (on) or
// succeed again (off).
func (s *Server) SetStockOut(instanceType, zone string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{instanceType, zone}
	if on {
		s.stockOut[k] = true
	} else {
		delete(s.stockOut, k)
	}
}

// Now is the virtual time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the virtual clock: pending instances whose launch delay has
// passed go InService, removing instances whose removal delay has passed
// disappear.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.tick()
}

// Settle advances the clock until every launch and removal started so far
// has finished.
func (s *Server) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(max(s.cfg.LaunchDelay, s.cfg.RemoveDelay) + time.Second)
	s.tick()
}

func (s *Server) tick() {
	for _, g := range s.groups {
		kept := g.insts[:0]
		for _, in := range g.insts {
			switch {
			case in.State == StatePending && !s.now.Before(in.readyAt):
				in.State = StateInService
			case in.State == StateRemoving && !s.now.Before(in.goneAt):
				delete(s.instGroup, in.ID)
				continue
			}
			kept = append(kept, in)
		}
		g.insts = kept
	}
}

// Desired is a group's desired capacity (-1 for an unknown group).
func (s *Server) Desired(groupID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[groupID]; g != nil {
		return g.desired
	}
	return -1
}

// Instances lists a group's instances in launch order.
func (s *Server) Instances(groupID string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return nil
	}
	out := make([]Instance, len(g.insts))
	for i, in := range g.insts {
		out[i] = in.Instance
	}
	return out
}

// Activities lists a group's scaling activities, newest first.
func (s *Server) Activities(groupID string) []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Activity
	for i := len(s.activities) - 1; i >= 0; i-- {
		if s.activities[i].GroupID == groupID {
			out = append(out, *s.activities[i])
		}
	}
	return out
}

// GroupIDs lists the groups in creation order.
func (s *Server) GroupIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

func (g *group) live() int {
	n := 0
	for _, in := range g.insts {
		if in.State != StateRemoving {
			n++
		}
	}
	return n
}

// setDesired changes the desired capacity and launches or removes instances
// to meet it, recording one activity. It is what ScaleWithAdjustment and
// ExecuteScalingRule with a TotalCapacity adjustment do.
func (s *Server) setDesired(g *group, total int, cause string) *Activity {
	g.desired = total
	a := &Activity{ID: s.nextID("asa"), GroupID: g.ID, StatusCode: "Successful", Cause: cause, Start: s.now}
	s.activities = append(s.activities, a)
	live := g.live()
	switch {
	case total > live:
		a.Description = fmt.Sprintf("Add %q ECS instance(s)", fmt.Sprint(total-live))
		typ := ""
		if len(g.Configuration.InstanceTypes) > 0 {
			typ = g.Configuration.InstanceTypes[0]
		}
		if s.stockOut[[2]string{typ, g.Zone}] {
			a.StatusCode = "Failed"
			a.ErrorCode = "OperationDenied.NoStock"
			a.ErrorMessage = fmt.Sprintf("The resource (%s) in zone %s is out of stock.", typ, g.Zone)
			return a
		}
		for range total - live {
			in := s.newInstance(g, StatePending)
			if s.cfg.LaunchDelay <= 0 {
				in.State = StateInService
			}
			g.insts = append(g.insts, in)
		}
	case total < live:
		// Remove the newest instances first, as ESS's default
		// NewestInstance removal policy does.
		n := live - total
		a.Description = fmt.Sprintf("Remove %q ECS instance(s)", fmt.Sprint(n))
		for i := len(g.insts) - 1; i >= 0 && n > 0; i-- {
			if g.insts[i].State != StateRemoving {
				s.remove(g.insts[i])
				n--
			}
		}
	}
	return a
}

func (s *Server) remove(in *instance) {
	in.State = StateRemoving
	in.goneAt = s.now.Add(s.cfg.RemoveDelay)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
