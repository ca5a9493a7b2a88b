package nodebridge

import (
	"context"
	"fmt"
	"time"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
)

// Instance is one cloud instance as a Source reports it.
type Instance struct {
	Group        string // the group's name (Auto Scaling) or ID (ESS), as the provider's NodeGroup.Id
	ID           string
	Zone         string
	InstanceType string
	ProviderID   string // spec.providerID of its Node, as the provider maps it
	// Running: the instance is in service and its kubelet would register. Pending,
	// terminating and removing instances are not running.
	Running bool
}

// A Source is a cloud the bridge plays: an emulator read through its Go API,
// with the provider that builds the groups' templates.
type Source interface {
	// Groups lists the groups whose instances may become Nodes.
	Groups() []string
	// Instances lists every instance of those groups now.
	Instances() []Instance
	// Template is the node an instance of this type in this group is.
	Template(ctx context.Context, group, instanceType string) (*nodegroup.Template, error)
	// Advance moves the emulator's virtual clock.
	Advance(d time.Duration)
}

// FromASG is the Source of an Auto Scaling emulator. Templates come from p
// (asg.Group.Templates, the one of the instance's type); groups are the names
// given, or else every group p manages (as of its last refresh).
func FromASG(srv *asgtest.Server, p *asg.Provider, groups ...string) Source {
	return &asgSource{srv: srv, p: p, groups: append([]string(nil), groups...)}
}

type asgSource struct {
	srv    *asgtest.Server
	p      *asg.Provider
	groups []string
}

func (s *asgSource) Groups() []string {
	if len(s.groups) > 0 {
		return s.groups
	}
	gs, _ := s.p.NodeGroups(context.Background()) // from the cache: no call
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Id())
	}
	return out
}

func (s *asgSource) Instances() []Instance {
	var out []Instance
	for _, name := range s.Groups() {
		st, ok := s.srv.Group(name)
		if !ok {
			continue
		}
		for _, in := range st.Instances {
			out = append(out, Instance{Group: name, ID: in.ID, Zone: in.Zone, InstanceType: in.InstanceType,
				ProviderID: asg.ProviderID(in.Zone, in.ID), Running: in.LifecycleState == "InService"})
		}
	}
	return out
}

func (s *asgSource) Template(ctx context.Context, group, instanceType string) (*nodegroup.Template, error) {
	g := s.p.Group(group)
	if g == nil {
		return nil, fmt.Errorf("nodebridge: the asg provider does not manage group %q", group)
	}
	ts, err := g.Templates(ctx)
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].Template.InstanceType == instanceType {
			return &ts[i].Template, nil
		}
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("nodebridge: group %q has no template", group)
	}
	return &ts[0].Template, nil
}

func (s *asgSource) Advance(d time.Duration) { s.srv.Advance(d) }

// FromESS is the Source of an ESS emulator. Templates come from p
// (ess.Group.Template); groups are the IDs given, or else every group of the
// emulator.
func FromESS(srv *esstest.Server, p *ess.Provider, groups ...string) Source {
	return &essSource{srv: srv, p: p, groups: append([]string(nil), groups...)}
}

type essSource struct {
	srv    *esstest.Server
	p      *ess.Provider
	groups []string
}

func (s *essSource) Groups() []string {
	if len(s.groups) > 0 {
		return s.groups
	}
	return s.srv.GroupIDs()
}

func (s *essSource) Instances() []Instance {
	var out []Instance
	for _, id := range s.Groups() {
		for _, in := range s.srv.Instances(id) {
			out = append(out, Instance{Group: id, ID: in.ID, Zone: in.Zone, InstanceType: in.InstanceType,
				ProviderID: s.p.ProviderID(in.ID), Running: in.State == esstest.StateInService})
		}
	}
	return out
}

func (s *essSource) Template(ctx context.Context, group, _ string) (*nodegroup.Template, error) {
	gs, err := s.p.NodeGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if g.Id() == group {
			return g.Template(ctx)
		}
	}
	return nil, fmt.Errorf("nodebridge: the ess provider does not manage group %q", group)
}

func (s *essSource) Advance(d time.Duration) { s.srv.Advance(d) }
