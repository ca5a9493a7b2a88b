// Package fake is an in-memory nodegroup.Provider for simulators and tests:
// groups with a launch delay on a virtual clock, stock-outs, one-shot
// failure injection and an event log. It passes nodegrouptest's contract
// suite. A Provider is safe for concurrent use.
package fake

import (
	"context"

	"fmt"

	"sync"
	"time"

	"github.com/kscale/kscale/nodegroup"
)

// GroupConfig describes one group.
type GroupConfig struct {
	ID            string
	Min, Max      int
	Size          int // instances running at the start
	Template      nodegroup.Template
	LaunchDelay   time.Duration // from IncreaseSize to Running
	Zone          string
	OutOfCapacity bool // launches fail with a stock-out
}

// Event is one call the provider received, for assertions and reports.
type Event struct {
	Time  time.Time `json:"time"`
	Group string    `json:"group,omitempty"`
	Op    string    `json:"op"`
	Delta int       `json:"delta,omitempty"`
	IDs   []string  `json:"ids,omitempty"`
	Err   string    `json:"err,omitempty"`
}

// Provider is the fake. Its zero value is not usable; call New.
type Provider struct {
	mu      sync.Mutex
	now     time.Time
	groups  []*Group
	events  []Event
	nextErr map[string]error
	seq     int
}

var _ nodegroup.Provider = (*Provider)(nil)

// New builds a provider whose virtual clock starts at start.
func New(start time.Time, groups ...GroupConfig) *Provider {
	p := &Provider{now: start, nextErr: map[string]error{}}
	for _, c := range groups {
		g := &Group{p: p, cfg: c, target: c.Size}
		for range c.Size {
			g.insts = append(g.insts, &instance{id: p.newID(c.ID), state: nodegroup.InstanceRunning, created: start})
		}
		p.groups = append(p.groups, g)
	}
	return p
}

func (p *Provider) newID(group string) string {
	p.seq++
	return fmt.Sprintf("fake:///%s/i-%06d", group, p.seq)
}

// Now is the virtual time.
func (p *Provider) Now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

// Advance moves the virtual clock; instances whose launch delay has passed
// become Running.
func (p *Provider) Advance(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = p.now.Add(d)
	for _, g := range p.groups {
		for _, in := range g.insts {
			if in.state == nodegroup.InstanceCreating && in.errClass == nodegroup.NoError && !p.now.Before(in.created.Add(g.cfg.LaunchDelay)) {
				in.state = nodegroup.InstanceRunning
			}
		}
	}
}

// SetOutOfCapacity turns stock-outs on or off for a group's future launches.
func (p *Provider) SetOutOfCapacity(group string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := p.group(group); g != nil {
		g.cfg.OutOfCapacity = on
	}
}

// FailNext makes the next call of op ("IncreaseSize", "DeleteNodes",
// "DecreaseTargetSize", "Refresh", ...) fail with err, changing nothing.
func (p *Provider) FailNext(op string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextErr[op] = err
}

// Events is a copy of the event log.
func (p *Provider) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

func (p *Provider) group(id string) *Group {
	for _, g := range p.groups {
		if g.cfg.ID == id {
			return g
		}
	}
	return nil
}

// record logs a call and consumes an injected failure for it.
func (p *Provider) record(group, op string, delta int, ids []string) error {
	err := p.nextErr[op]
	delete(p.nextErr, op)
	e := Event{Time: p.now, Group: group, Op: op, Delta: delta, IDs: ids}
	if err != nil {
		e.Err = err.Error()
	}
	p.events = append(p.events, e)
	if err != nil {
		return &nodegroup.Error{Op: op, Group: group, Err: err}
	}
	return nil
}

// NodeGroups lists the groups.
func (p *Provider) NodeGroups(ctx context.Context) ([]nodegroup.NodeGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]nodegroup.NodeGroup, len(p.groups))
	for i, g := range p.groups {
		out[i] = g
	}
	return out, nil
}

// NodeGroupForNode finds the group owning providerID, nil if none.
func (p *Provider) NodeGroupForNode(ctx context.Context, providerID string) (nodegroup.NodeGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.groups {
		if g.find(providerID) >= 0 {
			return g, nil
		}
	}
	return nil, nil
}

// Refresh does nothing but log (and fail when told to).
func (p *Provider) Refresh(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.record("", "Refresh", 0, nil)
}

type instance struct {
	id       string
	state    nodegroup.InstanceState
	errClass nodegroup.ErrorClass
	created  time.Time
}

// Group is one fake group.
type Group struct {
	p      *Provider
	cfg    GroupConfig
	target int
	insts  []*instance
}

var _ nodegroup.NodeGroup = (*Group)(nil)

func (g *Group) find(id string) int {
	for i, in := range g.insts {
		if in.id == id {
			return i
		}
	}
	return -1
}

// Id is the group's ID.
func (g *Group) Id() string { return g.cfg.ID }

// MinSize is the group's minimum.
func (g *Group) MinSize() int { return g.cfg.Min }

// MaxSize is the group's maximum.
func (g *Group) MaxSize() int { return g.cfg.Max }

// TargetSize is the desired capacity.
func (g *Group) TargetSize(ctx context.Context) (int, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	return g.target, nil
}

// IncreaseSize adds delta launching instances.
func (g *Group) IncreaseSize(ctx context.Context, delta int) error {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	if delta <= 0 {
		return g.fail("IncreaseSize", delta, fmt.Errorf("delta %d must be positive", delta))
	}
	if g.target+delta > g.cfg.Max {
		return g.fail("IncreaseSize", delta, fmt.Errorf("%w: %d + %d > %d", nodegroup.ErrAtMax, g.target, delta, g.cfg.Max))
	}
	if err := g.p.record(g.cfg.ID, "IncreaseSize", delta, nil); err != nil {
		return err
	}
	g.target += delta
	for range delta {
		in := &instance{id: g.p.newID(g.cfg.ID), state: nodegroup.InstanceCreating, created: g.p.now}
		if g.cfg.OutOfCapacity {
			in.errClass = nodegroup.OutOfCapacity
		} else if g.cfg.LaunchDelay <= 0 {
			in.state = nodegroup.InstanceRunning
		}
		g.insts = append(g.insts, in)
	}
	return nil
}

func (g *Group) fail(op string, delta int, err error) error {
	g.p.events = append(g.p.events, Event{Time: g.p.now, Group: g.cfg.ID, Op: op, Delta: delta, Err: err.Error()})
	return &nodegroup.Error{Op: op, Group: g.cfg.ID, Err: err}
}

// DeleteNodes removes the named instances and lowers the target.
func (g *Group) DeleteNodes(ctx context.Context, ids []string) error {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	for _, id := range ids {
		if g.find(id) < 0 {
			return g.fail("DeleteNodes", 0, fmt.Errorf("%w: instance %s is not in the group", nodegroup.ErrNotFound, id))
		}
	}
	if g.target-len(ids) < g.cfg.Min {
		return g.fail("DeleteNodes", 0, fmt.Errorf("%w: %d - %d < %d", nodegroup.ErrAtMin, g.target, len(ids), g.cfg.Min))
	}
	if err := g.p.record(g.cfg.ID, "DeleteNodes", len(ids), ids); err != nil {
		return err
	}
	for _, id := range ids {
		i := g.find(id)
		g.insts = append(g.insts[:i], g.insts[i+1:]...)
	}
	g.target -= len(ids)
	return nil
}

// DecreaseTargetSize cancels instances that have not launched yet.
func (g *Group) DecreaseTargetSize(ctx context.Context, delta int) error {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	if delta <= 0 {
		return g.fail("DecreaseTargetSize", delta, fmt.Errorf("delta %d must be positive", delta))
	}
	running := 0
	for _, in := range g.insts {
		if in.state == nodegroup.InstanceRunning {
			running++
		}
	}
	if g.target-delta < running {
		return g.fail("DecreaseTargetSize", delta, fmt.Errorf("target %d - %d would be below the %d running instances; use DeleteNodes", g.target, delta, running))
	}
	if err := g.p.record(g.cfg.ID, "DecreaseTargetSize", delta, nil); err != nil {
		return err
	}
	g.target -= delta
	// Cancel the newest launches first.
	for i := len(g.insts) - 1; i >= 0 && len(g.insts) > g.target; i-- {
		if g.insts[i].state != nodegroup.InstanceRunning {
			g.insts = append(g.insts[:i], g.insts[i+1:]...)
		}
	}
	return nil
}

// Nodes lists the instances in launch order.
func (g *Group) Nodes(ctx context.Context) ([]nodegroup.Instance, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	out := make([]nodegroup.Instance, len(g.insts))
	for i, in := range g.insts {
		out[i] = nodegroup.Instance{ProviderID: in.id, State: in.state, ErrorClass: in.errClass,
			Zone: g.cfg.Zone, InstanceType: g.cfg.Template.InstanceType}
		if in.errClass == nodegroup.OutOfCapacity {
			out[i].ErrorMessage = "insufficient capacity for " + g.cfg.Template.InstanceType
		}
	}
	return out, nil
}

// Template returns a copy of the configured template.
func (g *Group) Template(ctx context.Context) (*nodegroup.Template, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	t := g.cfg.Template
	t.Labels = make(map[string]string, len(g.cfg.Template.Labels))
	for k, v := range g.cfg.Template.Labels {
		t.Labels[k] = v
	}
	t.Taints = append([]nodegroup.Taint(nil), g.cfg.Template.Taints...)
	return &t, nil
}
