package ess

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kscale/kscale/nodegroup"
)

// Provider is the ESS nodegroup.Provider. It is safe for concurrent use.
type Provider struct {
	cfg Config
	api *api

	refreshMu sync.Mutex // one Refresh at a time
	actMu     sync.Mutex // one size change at a time

	mu       sync.Mutex
	groups   map[string]*groupState
	order    []string
	handles  map[string]*Group
	byID     map[string]string // instance ID (and placeholder ID) → group ID
	configs  map[string]*configuration
	types    map[string]instanceType
	rules    map[string]ruleRef // group ID → its TotalCapacity rule
	fetched  time.Time
	stale    bool
	gen      uint64    // bumped by every size change
	mode     ScaleMode // Config.ScaleMode, until a fallback
	lastLoad LoadStats
}

var _ nodegroup.Provider = (*Provider)(nil)

// groupState is one group as of the last refresh, updated in place by this
// provider's own size changes.
type groupState struct {
	id, name          string
	min, max, desired int
	tags              map[string]string
	configID          string
	instances         []instanceState
	failure           *launchFailure // why the latest launch failed, when desired > live
	// err is why the group is unusable (impossible sizes, garbage
	// listings, gone); such a group has no other fields, is not listed by
	// NodeGroups, and its methods return err.
	err error
}

type instanceState struct {
	id, zone, typ string
	state         nodegroup.InstanceState
}

type launchFailure struct {
	class   nodegroup.ErrorClass
	message string
}

// LoadStats counts the API calls of the last full refresh.
type LoadStats struct {
	Calls     int
	Groups    int
	Instances int
}

// New builds a provider and loads its groups once.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a, err := newAPI(c)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: c, api: a, groups: map[string]*groupState{}, handles: map[string]*Group{}, byID: map[string]string{},
		configs: map[string]*configuration{}, types: map[string]instanceType{}, rules: map[string]ruleRef{}, mode: c.ScaleMode}
	if err := p.Refresh(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// ScaleMode is the scale mode in use: Config.ScaleMode, or ScalingRules
// once FallbackToScalingRules has switched to it.
func (p *Provider) ScaleMode() ScaleMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// ProviderID is the node providerID of an instance: <region>.<instance-id>.
func (p *Provider) ProviderID(instanceID string) string { return p.cfg.Region + "." + instanceID }

// instanceID parses a providerID of this provider's region.
func (p *Provider) instanceID(providerID string) (string, bool) {
	region, id, ok := strings.Cut(providerID, ".")
	if !ok || region != p.cfg.Region || id == "" {
		return "", false
	}
	return id, true
}

// NodeGroups lists the groups as of the last Refresh.
func (p *Provider) NodeGroups(ctx context.Context) ([]nodegroup.NodeGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]nodegroup.NodeGroup, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, p.handle(id))
	}
	return out, nil
}

func (p *Provider) handle(id string) *Group {
	h := p.handles[id]
	if h == nil {
		h = &Group{p: p, id: id}
		p.handles[id] = h
	}
	return h
}

// NodeGroupForNode is the group owning the instance, from the cache; nil for
// other regions, unknown instances and foreign providerIDs.
func (p *Provider) NodeGroupForNode(ctx context.Context, providerID string) (nodegroup.NodeGroup, error) {
	id, ok := p.instanceID(providerID)
	if !ok {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if isPlaceholder(id) {
		for _, gid := range p.order {
			if strings.HasPrefix(id, "placeholder-"+gid+"-") {
				return p.handle(gid), nil
			}
		}
		return nil, nil
	}
	gid, ok := p.byID[id]
	if !ok {
		return nil, nil
	}
	return p.handle(gid), nil
}

// Refresh re-reads groups, sizes and instances when the cache is older than
// RefreshInterval (or was invalidated by a size change that may not have
// applied); otherwise it does nothing. When a call fails it returns the
// error and keeps the last cache. Groups the cloud answers for with
// impossible sizes or endless or repeated pages (ErrInvalidResponse), and
// named groups it does not return (nodegroup.ErrNotFound), are dropped
// from NodeGroups while the other groups are updated; Refresh then returns
// one *nodegroup.Error per such group, joined, and their handles return it.
func (p *Provider) Refresh(ctx context.Context) error {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	p.mu.Lock()
	now := p.cfg.Clock.Now()
	if !p.stale && !p.fetched.IsZero() && now.Sub(p.fetched) < p.cfg.RefreshInterval {
		p.mu.Unlock()
		return nil
	}
	gen := p.gen
	configs := make(map[string]*configuration, len(p.configs))
	for k, v := range p.configs {
		configs[k] = v
	}
	types := make(map[string]instanceType, len(p.types))
	for k, v := range p.types {
		types[k] = v
	}
	p.mu.Unlock()

	l := &loader{p: p, now: now, configs: configs, types: types}
	groups, order, err := l.load(ctx)
	if err != nil {
		return &nodegroup.Error{Op: "Refresh", Err: err}
	}
	var bad []error
	for _, id := range sortedGroupIDs(groups) {
		if g := groups[id]; g.err != nil {
			bad = append(bad, &nodegroup.Error{Op: "Refresh", Group: id, Err: g.err})
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Configurations and instance types are good whatever happened meanwhile.
	p.configs, p.types = configs, types
	if p.gen != gen {
		// A size change ran during the load: its result may be missing
		// from what we read, so keep the cache and read again next time.
		p.stale = true
		return nil
	}
	p.groups, p.order = groups, order
	p.byID = map[string]string{}
	for _, g := range groups {
		for _, in := range g.instances {
			p.byID[in.id] = g.id
		}
	}
	p.fetched, p.stale = now, false
	p.lastLoad = LoadStats{Calls: l.calls, Groups: len(order)}
	for _, g := range groups {
		p.lastLoad.Instances += len(g.instances)
	}
	// The usable groups are in the cache; the others are reported.
	return errors.Join(bad...)
}

func sortedGroupIDs(m map[string]*groupState) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Invalidate makes the next Refresh re-read everything.
func (p *Provider) Invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stale = true
}

// LastLoad reports the API calls and sizes of the last full refresh.
func (p *Provider) LastLoad() LoadStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastLoad
}

// state is the cached group, or an ErrNotFound error, or the group's own
// error when the last refresh found it unusable; call with p.mu held.
func (p *Provider) state(op, id string) (*groupState, error) {
	g := p.groups[id]
	if g == nil {
		return nil, &nodegroup.Error{Op: op, Group: id, Err: fmt.Errorf("%w: scaling group %s is no longer managed", nodegroup.ErrNotFound, id)}
	}
	if g.err != nil {
		return nil, &nodegroup.Error{Op: op, Group: id, Err: g.err}
	}
	return g, nil
}

// placeholderID names the n-th instance a group wants but does not have.
func placeholderID(group string, n int) string { return fmt.Sprintf("placeholder-%s-%d", group, n) }

func isPlaceholder(id string) bool { return strings.HasPrefix(id, "placeholder-") }

// live is the number of instances not being removed.
func (g *groupState) live() int {
	n := 0
	for _, in := range g.instances {
		if in.state != nodegroup.InstanceDeleting {
			n++
		}
	}
	return n
}

func lifecycle(s string) nodegroup.InstanceState {
	switch {
	case strings.HasPrefix(s, "Pending"):
		return nodegroup.InstanceCreating
	case strings.HasPrefix(s, "Removing"), strings.HasPrefix(s, "Detaching"):
		return nodegroup.InstanceDeleting
	case s == "InService", s == "Protected", s == "Stopped", strings.HasPrefix(s, "Standby"), strings.HasPrefix(s, "EnteringStandby"):
		return nodegroup.InstanceRunning
	}
	return nodegroup.InstanceCreating
}
