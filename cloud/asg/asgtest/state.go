package asgtest

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// InstanceType is an EC2 instance type as DescribeInstanceTypes reports it.
type InstanceType struct {
	Name          string
	VCPUs         int
	MemoryMiB     int64
	Arch          string // x86_64 or arm64
	ENIs          int    // maximum network interfaces
	IPv4PerENI    int
	GPUs          int
	GPUMaker      string // NVIDIA, AMD, …
	LocalDiskGB   int64  // instance store, 0 for EBS-only
	SpotSupported bool
}

// DefaultInstanceTypes are the types a new Server knows, with their real
// vCPU, memory and ENI limits.
func DefaultInstanceTypes() []InstanceType {
	return []InstanceType{
		{Name: "t3.medium", VCPUs: 2, MemoryMiB: 4096, Arch: "x86_64", ENIs: 3, IPv4PerENI: 6, SpotSupported: true},
		{Name: "m5.large", VCPUs: 2, MemoryMiB: 8192, Arch: "x86_64", ENIs: 3, IPv4PerENI: 10, SpotSupported: true},
		{Name: "m5.xlarge", VCPUs: 4, MemoryMiB: 16384, Arch: "x86_64", ENIs: 4, IPv4PerENI: 15, SpotSupported: true},
		{Name: "m5.2xlarge", VCPUs: 8, MemoryMiB: 32768, Arch: "x86_64", ENIs: 4, IPv4PerENI: 15, SpotSupported: true},
		{Name: "m5.4xlarge", VCPUs: 16, MemoryMiB: 65536, Arch: "x86_64", ENIs: 8, IPv4PerENI: 30, SpotSupported: true},
		{Name: "c5.large", VCPUs: 2, MemoryMiB: 4096, Arch: "x86_64", ENIs: 3, IPv4PerENI: 10, SpotSupported: true},
		{Name: "c5.xlarge", VCPUs: 4, MemoryMiB: 8192, Arch: "x86_64", ENIs: 4, IPv4PerENI: 15, SpotSupported: true},
		{Name: "r5.large", VCPUs: 2, MemoryMiB: 16384, Arch: "x86_64", ENIs: 3, IPv4PerENI: 10, SpotSupported: true},
		{Name: "m6g.large", VCPUs: 2, MemoryMiB: 8192, Arch: "arm64", ENIs: 3, IPv4PerENI: 10, SpotSupported: true},
		{Name: "m6g.xlarge", VCPUs: 4, MemoryMiB: 16384, Arch: "arm64", ENIs: 4, IPv4PerENI: 15, SpotSupported: true},
		{Name: "g4dn.xlarge", VCPUs: 4, MemoryMiB: 16384, Arch: "x86_64", ENIs: 3, IPv4PerENI: 10, GPUs: 1, GPUMaker: "NVIDIA", LocalDiskGB: 125, SpotSupported: true},
		{Name: "p3.8xlarge", VCPUs: 32, MemoryMiB: 249856, Arch: "x86_64", ENIs: 8, IPv4PerENI: 30, GPUs: 4, GPUMaker: "NVIDIA", SpotSupported: true},
	}
}

// AddInstanceType adds or replaces an instance type.
func (s *Server) AddInstanceType(t InstanceType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.types[t.Name] = t
}

// LaunchTemplate is one version of an EC2 launch template.
type LaunchTemplate struct {
	ID   string // lt-…; generated if empty (and the name is new)
	Name string
	// InstanceType may be empty when a mixed-instances policy supplies it.
	InstanceType string
	Spot         bool  // InstanceMarketOptions.MarketType spot
	RootVolumeGB int32 // first block device mapping's EBS volume size, 0 for none
}

type launchTemplate struct {
	id, name string
	versions []LaunchTemplate // version n is versions[n-1]
	def      int
}

// AddLaunchTemplate adds a version of the template with this name (creating
// the template, version 1 being its default), returning the template ID and
// the new version number.
func (s *Server) AddLaunchTemplate(lt LaunchTemplate) (id string, version int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.lts {
		if t.name == lt.Name {
			lt.ID = t.id
			t.versions = append(t.versions, lt)
			return t.id, len(t.versions)
		}
	}
	if lt.ID == "" {
		lt.ID = fmt.Sprintf("lt-%017x", len(s.lts)+1)
	}
	s.lts = append(s.lts, &launchTemplate{id: lt.ID, name: lt.Name, versions: []LaunchTemplate{lt}, def: 1})
	return lt.ID, 1
}

// LaunchConfiguration is an Auto Scaling launch configuration.
type LaunchConfiguration struct {
	Name         string
	InstanceType string
	SpotPrice    string // non-empty for spot
}

// AddLaunchConfiguration adds or replaces a launch configuration.
func (s *Server) AddLaunchConfiguration(lc LaunchConfiguration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lcs[lc.Name] = lc
}

// LaunchTemplateRef names a launch template by ID or name, and a version
// ("$Latest", "$Default" or a number; "$Default" if empty).
type LaunchTemplateRef struct {
	ID, Name, Version string
}

// Override is one mixed-instances policy override.
type Override struct {
	InstanceType string
	// WeightedCapacity is how many capacity units an instance of this type
	// counts for, "1" to "999"; "" on every override for an unweighted
	// group (AWS requires all or none).
	WeightedCapacity string
}

// MixedInstances is a mixed-instances policy.
type MixedInstances struct {
	LaunchTemplate                      LaunchTemplateRef
	Overrides                           []Override
	OnDemandBaseCapacity                int
	OnDemandPercentageAboveBaseCapacity int
	SpotAllocationStrategy              string
}

// Group is an Auto Scaling group to create. Exactly one of LaunchTemplate,
// LaunchConfiguration and MixedInstances should be set. With weighted
// overrides, Min, Max and Desired are capacity units, as on AWS.
type Group struct {
	Name              string
	Min, Max          int
	Desired           int // capacity InService at creation
	Zones             []string
	LaunchTemplate    *LaunchTemplateRef
	LaunchConfig      string
	MixedInstances    *MixedInstances
	Tags              map[string]string
	DefaultCooldown   int
	HealthCheckPeriod int
}

// Instance is a group member as the emulator holds it.
type Instance struct {
	ID             string
	Zone           string
	InstanceType   string
	LifecycleState string // Pending, InService, Terminating
	Weight         string // WeightedCapacity, "" in an unweighted group
	LaunchedAt     time.Time
}

// Activity is a scaling activity.
type Activity struct {
	ID, Description, Cause, StatusCode, StatusMessage string
	Start, End                                        time.Time
}

type group struct {
	spec      Group
	desired   int
	insts     []*Instance
	termAt    map[string]time.Time
	acts      []Activity // oldest first
	zoneRR    int
	lastFail  time.Time
	createdAt time.Time
}

// AddGroup creates a group with Desired capacity already InService,
// spread round-robin over its zones.
func (s *Server) AddGroup(g Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.Name == "" || len(g.Zones) == 0 {
		return fmt.Errorf("asgtest: group needs a name and at least one zone")
	}
	if _, dup := s.groups[g.Name]; dup {
		return fmt.Errorf("asgtest: group %q exists", g.Name)
	}
	if g.Min < 0 || g.Max < g.Min || g.Desired < g.Min || g.Desired > g.Max {
		return fmt.Errorf("asgtest: group %q: need 0 <= min %d <= desired %d <= max %d", g.Name, g.Min, g.Desired, g.Max)
	}
	if len(s.candidates(&group{spec: g})) == 0 {
		return fmt.Errorf("asgtest: group %q has no instance type (launch template, configuration or overrides)", g.Name)
	}
	if m := g.MixedInstances; m != nil {
		weighted := 0
		for _, o := range m.Overrides {
			if o.WeightedCapacity == "" {
				continue
			}
			weighted++
			if w, err := strconv.Atoi(o.WeightedCapacity); err != nil || w < 1 || w > 999 {
				return fmt.Errorf("asgtest: group %q: override %s: WeightedCapacity %q is not an integer from 1 to 999", g.Name, o.InstanceType, o.WeightedCapacity)
			}
		}
		if weighted != 0 && weighted != len(m.Overrides) {
			return fmt.Errorf("asgtest: group %q: WeightedCapacity is set on %d of %d overrides; AWS requires all or none", g.Name, weighted, len(m.Overrides))
		}
	}
	gr := &group{spec: g, desired: g.Desired, termAt: map[string]time.Time{}, createdAt: s.now}
	for s.units(gr) < g.Desired {
		in := s.launch(gr, true)
		if in == nil {
			break
		}
		in.LifecycleState = "InService"
	}
	s.groups[g.Name] = gr
	return nil
}

// StockOut turns a stock-out of instanceType in zone on or off; while on,
// launches of that type there fail with InsufficientInstanceCapacity.
func (s *Server) StockOut(instanceType, zone string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.stockOuts[[2]string{instanceType, zone}] = true
	} else {
		delete(s.stockOuts, [2]string{instanceType, zone})
	}
	s.reconcileAll()
}

// GroupState is a snapshot of a group. Min, Max and Desired are capacity
// units (instances in an unweighted group); Units is the capacity the
// instances not terminating provide.
type GroupState struct {
	Name              string
	Min, Max, Desired int
	Units             int
	Instances         []Instance
	Activities        []Activity // newest first
}

// Group is a snapshot of the named group.
func (s *Server) Group(name string) (GroupState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[name]
	if !ok {
		return GroupState{}, false
	}
	st := GroupState{Name: name, Min: g.spec.Min, Max: g.spec.Max, Desired: g.desired, Units: s.units(g)}
	for _, in := range g.insts {
		st.Instances = append(st.Instances, *in)
	}
	for i := len(g.acts) - 1; i >= 0; i-- {
		st.Activities = append(st.Activities, g.acts[i])
	}
	return st, true
}

// SetTags replaces a group's tags.
func (s *Server) SetTags(group string, tags map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[group]
	if ok {
		g.spec.Tags = tags
	}
	return ok
}

// resolveLT finds a launch template version; s.mu is held.
func (s *Server) resolveLT(ref LaunchTemplateRef) (*launchTemplate, int, *LaunchTemplate) {
	for _, t := range s.lts {
		if (ref.ID != "" && t.id == ref.ID) || (ref.ID == "" && t.name == ref.Name) {
			v := t.def
			switch ref.Version {
			case "", "$Default":
			case "$Latest":
				v = len(t.versions)
			default:
				if _, err := fmt.Sscanf(ref.Version, "%d", &v); err != nil {
					return t, 0, nil
				}
			}
			if v < 1 || v > len(t.versions) {
				return t, v, nil
			}
			return t, v, &t.versions[v-1]
		}
	}
	return nil, 0, nil
}

type candidate struct{ typ, weight string }

// candidates are the instance types a launch tries, in order; s.mu is held.
func (s *Server) candidates(g *group) []candidate {
	switch {
	case g.spec.MixedInstances != nil:
		var out []candidate
		for _, o := range g.spec.MixedInstances.Overrides {
			out = append(out, candidate{o.InstanceType, o.WeightedCapacity})
		}
		if len(out) == 0 {
			if _, _, v := s.resolveLT(g.spec.MixedInstances.LaunchTemplate); v != nil && v.InstanceType != "" {
				out = append(out, candidate{typ: v.InstanceType})
			}
		}
		return out
	case g.spec.LaunchTemplate != nil:
		if _, _, v := s.resolveLT(*g.spec.LaunchTemplate); v != nil && v.InstanceType != "" {
			return []candidate{{typ: v.InstanceType}}
		}
	case g.spec.LaunchConfig != "":
		if lc, ok := s.lcs[g.spec.LaunchConfig]; ok {
			return []candidate{{typ: lc.InstanceType}}
		}
	}
	return nil
}

func (s *Server) newInstanceID() string {
	s.instSeq++
	return fmt.Sprintf("i-%017x", s.instSeq)
}

func (s *Server) newActivityID() string {
	s.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq, s.seq)
}

// launch starts one instance in the first (zone, type) pair with capacity,
// zones round-robin; on a stock-out everywhere it records a failed activity
// (at most one a minute) and returns nil. s.mu is held.
func (s *Server) launch(g *group, initial bool) *Instance {
	cands := s.candidates(g)
	zones := g.spec.Zones
	for zi := range zones {
		zone := zones[(g.zoneRR+zi)%len(zones)]
		for _, c := range cands {
			if s.stockOuts[[2]string{c.typ, zone}] {
				continue
			}
			g.zoneRR = (g.zoneRR + zi + 1) % len(zones)
			in := &Instance{ID: s.newInstanceID(), Zone: zone, InstanceType: c.typ, LifecycleState: "Pending", Weight: c.weight, LaunchedAt: s.now}
			g.insts = append(g.insts, in)
			if !initial {
				g.acts = append(g.acts, Activity{ID: s.newActivityID(), StatusCode: "Successful",
					Description: "Launching a new EC2 instance: " + in.ID,
					Cause:       fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", s.now.Format(time.RFC3339), s.units(g)-weightOf(in), g.desired),
					Start:       s.now, End: s.now.Add(s.cfg.LaunchDelay)})
			}
			return in
		}
	}
	if !g.lastFail.IsZero() && s.now.Sub(g.lastFail) < time.Minute {
		return nil
	}
	g.lastFail = s.now
	typ, zone := "", zones[g.zoneRR%len(zones)]
	if len(cands) > 0 {
		typ = cands[0].typ
	}
	market := "On-Demand"
	if s.spot(g) {
		market = "Spot"
	}
	g.acts = append(g.acts, Activity{ID: s.newActivityID(), StatusCode: "Failed",
		Description: "Launching a new EC2 instance.  Status Reason: Could not launch " + market + " Instances. InsufficientInstanceCapacity",
		Cause:       fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", s.now.Format(time.RFC3339), s.units(g), g.desired),
		StatusMessage: fmt.Sprintf("Could not launch %s Instances. InsufficientInstanceCapacity - We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity. Launching EC2 instance failed.",
			market, typ, zone),
		Start: s.now, End: s.now})
	return nil
}

func (s *Server) spot(g *group) bool {
	if m := g.spec.MixedInstances; m != nil {
		return m.OnDemandPercentageAboveBaseCapacity == 0
	}
	if g.spec.LaunchTemplate != nil {
		if _, _, v := s.resolveLT(*g.spec.LaunchTemplate); v != nil {
			return v.Spot
		}
	}
	return s.lcs[g.spec.LaunchConfig].SpotPrice != ""
}

// weightOf is the capacity units an instance counts for.
func weightOf(in *Instance) int {
	if in.Weight == "" {
		return 1
	}
	if w, err := strconv.Atoi(in.Weight); err == nil && w > 0 {
		return w
	}
	return 1
}

// units is the capacity of the instances not terminating: their count in
// an unweighted group, the sum of their weights in a weighted one.
func (s *Server) units(g *group) int {
	n := 0
	for _, in := range g.insts {
		if in.LifecycleState != "Terminating" {
			n += weightOf(in)
		}
	}
	return n
}

// terminate starts terminating an instance; s.mu is held.
func (s *Server) terminate(g *group, in *Instance, cause string) Activity {
	in.LifecycleState = "Terminating"
	g.termAt[in.ID] = s.now.Add(s.cfg.TerminateDelay)
	a := Activity{ID: s.newActivityID(), StatusCode: "InProgress", Description: "Terminating EC2 instance: " + in.ID,
		Cause: fmt.Sprintf("At %s %s", s.now.Format(time.RFC3339), cause), Start: s.now}
	g.acts = append(g.acts, a)
	return a
}

// reconcileAll moves every group toward its desired capacity; s.mu is held.
func (s *Server) reconcileAll() {
	for _, name := range sortedKeys(s.groups) {
		s.reconcile(s.groups[name])
	}
}

func (s *Server) reconcile(g *group) {
	g.insts = slices.DeleteFunc(g.insts, func(in *Instance) bool {
		if at, ok := g.termAt[in.ID]; ok && !s.now.Before(at) {
			delete(g.termAt, in.ID)
			return true
		}
		return false
	})
	for _, in := range g.insts {
		if in.LifecycleState == "Pending" && !s.now.Before(in.LaunchedAt.Add(s.cfg.LaunchDelay)) {
			in.LifecycleState = "InService"
		}
	}
	// Launch until the capacity units reach the desired capacity, even if
	// the last instance overshoots it (AWS's overage); each launch adds at
	// least one unit, so this ends.
	for s.units(g) < g.desired {
		if s.launch(g, false) == nil {
			break
		}
	}
	// Above the desired capacity: terminate the newest, pending ones first,
	// as long as the capacity left still covers the desired capacity.
	for {
		units := s.units(g)
		var victim *Instance
		for _, in := range g.insts {
			if in.LifecycleState != "Terminating" && units-weightOf(in) >= g.desired && (victim == nil || betterVictim(in, victim)) {
				victim = in
			}
		}
		if victim == nil {
			return
		}
		s.terminate(g, victim, fmt.Sprintf("a user request explicitly set group desired capacity changing the desired capacity, shrinking the capacity to %d.", g.desired))
	}
}

// betterVictim prefers pending instances, then the newest.
func betterVictim(a, b *Instance) bool {
	if ap, bp := a.LifecycleState == "Pending", b.LifecycleState == "Pending"; ap != bp {
		return ap
	}
	return !a.LaunchedAt.Before(b.LaunchedAt)
}
