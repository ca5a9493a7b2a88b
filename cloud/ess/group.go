package ess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kscale/kscale/nodegroup"
)

// Group is one ESS scaling group. Sizes, instances and the template come
// from the provider's cache; only size changes (and DecreaseTargetSize's
// safety check) reach the API.
type Group struct {
	p  *Provider
	id string
}

var (
	_ nodegroup.NodeGroup       = (*Group)(nil)
	_ nodegroup.OptionsProvider = (*Group)(nil)
)

// Id is the scaling group ID.
func (g *Group) Id() string { return g.id }

func (g *Group) cached() *groupState {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	return g.p.groups[g.id]
}

// MinSize is the group's MinSize (0 once the group is gone).
func (g *Group) MinSize() int {
	if st := g.cached(); st != nil {
		return st.min
	}
	return 0
}

// MaxSize is the group's MaxSize (0 once the group is gone).
func (g *Group) MaxSize() int {
	if st := g.cached(); st != nil {
		return st.max
	}
	return 0
}

func (g *Group) fail(op string, err error) error {
	return &nodegroup.Error{Op: op, Group: g.id, Err: err}
}

// TargetSize is the desired capacity from the cache: the last refresh,
// updated by this provider's own size changes. It never calls the API.
func (g *Group) TargetSize(ctx context.Context) (int, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st, err := g.p.state("TargetSize", g.id)
	if err != nil {
		return 0, err
	}
	return st.desired, nil
}

// sizeChanged records a size change this provider made.
func (g *Group) sizeChanged(update func(st *groupState)) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	g.p.gen++
	if st := g.p.groups[g.id]; st != nil {
		update(st)
	}
}

// IncreaseSize sets the desired capacity to target+delta with one
// ScaleWithAdjustment(TotalCapacity) call (or the rule path). The value is
// absolute, so the retries on throttling and 5xx cannot scale up twice.
func (g *Group) IncreaseSize(ctx context.Context, delta int) error {
	const op = "IncreaseSize"
	if delta <= 0 {
		return g.fail(op, fmt.Errorf("delta %d must be positive", delta))
	}
	g.p.actMu.Lock()
	defer g.p.actMu.Unlock()
	target, _, maxSize, err := g.sizes(op)
	if err != nil {
		return err
	}
	if delta > maxSize-target {
		return g.fail(op, fmt.Errorf("%w: %d + %d > %d", nodegroup.ErrAtMax, target, delta, maxSize))
	}
	if err := g.p.setTotal(ctx, g.id, target+delta); err != nil {
		g.p.Invalidate() // it may have applied; read it back
		return g.fail(op, err)
	}
	g.sizeChanged(func(st *groupState) { st.desired, st.failure = target+delta, nil })
	return nil
}

// DeleteNodes removes instances with RemoveInstances (DecreaseDesiredCapacity)
// in batches of 20. Every ID must be this group's (ErrNotFound, nothing
// removed) and the target may not drop below MinSize (ErrAtMin). Instances
// already being removed are skipped; placeholders (capacity not launched)
// are cancelled by lowering the target. A batch that fails for a reason
// other than throttling or a server error is retried one instance at a
// time, so one bad instance does not hold back the others; every failure is
// returned per instance in a *nodegroup.DeleteError.
func (g *Group) DeleteNodes(ctx context.Context, providerIDs []string) error {
	const op = "DeleteNodes"
	if len(providerIDs) == 0 {
		return nil
	}
	g.p.actMu.Lock()
	defer g.p.actMu.Unlock()

	g.p.mu.Lock()
	st, err := g.p.state(op, g.id)
	if err != nil {
		g.p.mu.Unlock()
		return err
	}
	target, minSize, placeholders := st.desired, st.min, max(min(st.desired, st.max)-st.live(), 0)
	states := make(map[string]nodegroup.InstanceState, len(st.instances))
	for _, in := range st.instances {
		states[in.id] = in.state
	}
	g.p.mu.Unlock()

	var real, cancel []string // provider IDs
	byInstance := map[string]string{}
	for _, pid := range providerIDs {
		id, ok := g.p.instanceID(pid)
		if ok && isPlaceholder(id) {
			if n, err := g.placeholderIndex(id); err == nil && n < placeholders {
				if !slices.Contains(cancel, pid) {
					cancel = append(cancel, pid)
				}
				continue
			}
			ok = false
		}
		state, found := states[id]
		if !ok || !found {
			return g.fail(op, fmt.Errorf("%w: instance %s is not in scaling group %s", nodegroup.ErrNotFound, pid, g.id))
		}
		if state == nodegroup.InstanceDeleting || byInstance[id] != "" {
			continue
		}
		byInstance[id] = pid
		real = append(real, id)
	}
	if n := len(real) + len(cancel); target-n < minSize {
		return g.fail(op, fmt.Errorf("%w: %d - %d < %d", nodegroup.ErrAtMin, target, n, minSize))
	}

	failed := map[string]error{}
	var removed []string
	for batch := range slices.Chunk(real, removePerCall) {
		err := g.p.removeInstances(ctx, g.id, batch)
		if err == nil {
			removed = append(removed, batch...)
			continue
		}
		if len(batch) == 1 || classify(err) != permanent || errors.Is(err, ErrAccessDenied) {
			for _, id := range batch {
				failed[byInstance[id]] = err
			}
			continue
		}
		for _, id := range batch {
			if err := g.p.removeInstances(ctx, g.id, []string{id}); err != nil {
				failed[byInstance[id]] = err
			} else {
				removed = append(removed, id)
			}
		}
	}
	cancelled := 0
	if len(cancel) > 0 {
		total := target - len(removed) - len(cancel)
		if err := g.p.setTotal(ctx, g.id, total); err != nil {
			for _, pid := range cancel {
				failed[pid] = err
			}
		} else {
			cancelled = len(cancel)
		}
	}
	g.sizeChanged(func(st *groupState) {
		st.desired -= len(removed) + cancelled
		for i := range st.instances {
			if slices.Contains(removed, st.instances[i].id) {
				st.instances[i].state = nodegroup.InstanceDeleting
			}
		}
	})
	if len(failed) > 0 {
		g.p.Invalidate()
		return g.fail(op, &nodegroup.DeleteError{Failed: failed})
	}
	return nil
}

func (g *Group) placeholderIndex(id string) (int, error) {
	rest, ok := strings.CutPrefix(id, "placeholder-"+g.id+"-")
	if !ok {
		return 0, errors.New("not this group's placeholder")
	}
	return strconv.Atoi(rest)
}

// DecreaseTargetSize lowers the desired capacity by delta, only cancelling
// capacity that has not launched: it reads the group's instances live (one
// DescribeScalingInstances, as this is the one call where a stale cache
// could remove a node) and refuses when the target would go below them.
func (g *Group) DecreaseTargetSize(ctx context.Context, delta int) error {
	const op = "DecreaseTargetSize"
	if delta <= 0 {
		return g.fail(op, fmt.Errorf("delta %d must be positive", delta))
	}
	g.p.actMu.Lock()
	defer g.p.actMu.Unlock()
	target, minSize, maxSize, err := g.sizes(op)
	if err != nil {
		return err
	}
	l := &loader{p: g.p}
	insts, err := l.instances(ctx, g.id, instanceLimit(maxSize))
	if err != nil {
		return g.fail(op, err)
	}
	fresh := &groupState{instances: insts}
	if live := fresh.live(); target-delta < live {
		return g.fail(op, fmt.Errorf("target %d - %d would be below the group's %d launched instances; use DeleteNodes", target, delta, live))
	}
	if target-delta < minSize {
		return g.fail(op, fmt.Errorf("%w: %d - %d < %d", nodegroup.ErrAtMin, target, delta, minSize))
	}
	if err := g.p.setTotal(ctx, g.id, target-delta); err != nil {
		g.p.Invalidate()
		return g.fail(op, err)
	}
	g.sizeChanged(func(st *groupState) { st.desired, st.instances = target-delta, insts })
	return nil
}

// Nodes lists the cached instances, then one placeholder per instance the
// group wants but does not have (desired > launched): Creating, with the
// error class of the newest failed scaling activity (OutOfCapacity for a
// stock-out) when there is one.
func (g *Group) Nodes(ctx context.Context) ([]nodegroup.Instance, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st, err := g.p.state("Nodes", g.id)
	if err != nil {
		return nil, err
	}
	out := make([]nodegroup.Instance, 0, max(len(st.instances), st.desired))
	for _, in := range st.instances {
		out = append(out, nodegroup.Instance{ProviderID: g.p.ProviderID(in.id), State: in.state, Zone: in.zone, InstanceType: in.typ})
	}
	var typ, zone string
	if c := g.p.configs[st.configID]; c != nil {
		if len(c.types) > 0 {
			typ = c.types[0]
		}
		zone = c.zone
	}
	// desired ≤ MaxSize ≤ MaxGroupSize was checked at refresh; min() keeps
	// the bound should a group without desired capacity report more.
	for n := range max(min(st.desired, st.max)-st.live(), 0) {
		in := nodegroup.Instance{ProviderID: g.p.ProviderID(placeholderID(g.id, n)), State: nodegroup.InstanceCreating, Zone: zone, InstanceType: typ}
		if st.failure != nil {
			in.ErrorClass, in.ErrorMessage = st.failure.class, st.failure.message
		}
		out = append(out, in)
	}
	return out, nil
}

// tags are the group's tags overlaid with its active configuration's.
func (g *Group) tags(st *groupState, c *configuration) map[string]string {
	out := make(map[string]string, len(st.tags))
	for k, v := range st.tags {
		out[k] = v
	}
	if c != nil {
		for k, v := range c.tags {
			out[k] = v
		}
	}
	return out
}

// Template is the node a scale-up adds, built from the active scaling
// configuration, the ECS instance types and the node-template tags. The
// zone is, in order: a zone label tag, the configuration's ZoneId, the
// zone most of the group's instances are in.
func (g *Group) Template(ctx context.Context) (*nodegroup.Template, error) {
	const op = "Template"
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st, err := g.p.state(op, g.id)
	if err != nil {
		return nil, err
	}
	c := g.p.configs[st.configID]
	if c == nil {
		return nil, g.fail(op, fmt.Errorf("%w (%q)", errNoConfig, st.configID))
	}
	zone := c.zone
	if zone == "" {
		counts := map[string]int{}
		for _, in := range st.instances {
			counts[in.zone]++
			if in.zone != "" && counts[in.zone] > counts[zone] {
				zone = in.zone
			}
		}
	}
	t, err := buildTemplate(g.p.cfg, c, g.p.types, g.tags(st, c), zone)
	if err != nil {
		return nil, g.fail(op, err)
	}
	return t, nil
}

// Options are the group's autoscaling-options tag overrides.
func (g *Group) Options(ctx context.Context) (nodegroup.Options, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st, err := g.p.state("Options", g.id)
	if err != nil {
		return nodegroup.Options{}, err
	}
	o, err := parseOptions(g.tags(st, g.p.configs[st.configID]))
	if err != nil {
		return o, g.fail("Options", err)
	}
	return o, nil
}

// sizes reads the cached target and bounds of the group for op.
func (g *Group) sizes(op string) (target, minSize, maxSize int, err error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st, err := g.p.state(op, g.id)
	if err != nil {
		return 0, 0, 0, err
	}
	return st.desired, st.min, st.max, nil
}
