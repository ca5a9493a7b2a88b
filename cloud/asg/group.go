package asg

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/kscale/kscale/nodegroup"
)

// Group is one Auto Scaling group. It reads from the provider's cache;
// only the calls that change the group (and DecreaseTargetSize, which must
// not act on a stale instance count) reach AWS. Operations on one group are
// serialized, so two concurrent IncreaseSize calls both count.
type Group struct {
	p    *Provider
	name string
	st   *groupState // guarded by p.mu; replaced by refresh, updated in place by writes

	opMu sync.Mutex // serializes the writes of this group
}

var (
	_ nodegroup.NodeGroup       = (*Group)(nil)
	_ nodegroup.OptionsProvider = (*Group)(nil)
)

const placeholderPrefix = "i-placeholder-"

// state is the cached state; p.mu is not held by the caller.
func (g *Group) state() *groupState {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	return g.st
}

// Id is the group's name.
func (g *Group) Id() string { return g.name }

// MinSize is the group's MinSize in nodes, as last described: in a
// weighted group, ceil(MinSize / weight).
func (g *Group) MinSize() int { return g.state().minNodes() }

// MaxSize is the group's MaxSize in nodes, as last described: in a
// weighted group, floor(MaxSize / weight); never above Config.MaxGroupSize.
func (g *Group) MaxSize() int { return g.state().maxNodes() }

// TargetSize is the desired capacity in nodes, from the cache (no API
// call): in a weighted group, ceil(DesiredCapacity / weight), the instances
// Auto Scaling launches to cover it. It fails with ErrInvalidGroup or
// ErrUnevenWeights when no node count can be given.
func (g *Group) TargetSize(ctx context.Context) (int, error) {
	st := g.state()
	if err := st.sizable(); err != nil {
		return 0, g.fail("TargetSize", err)
	}
	return st.targetNodes(), nil
}

func (g *Group) fail(op string, err error) error {
	return &nodegroup.Error{Op: op, Group: g.name, Err: err}
}

// setDesired calls SetDesiredCapacity with n capacity units. The value is
// absolute, so the SDK retrying a throttled or lost call cannot add
// capacity twice.
func (g *Group) setDesired(ctx context.Context, n int) error {
	_, err := g.p.cfg.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.name), DesiredCapacity: aws.Int32(int32(n)), HonorCooldown: aws.Bool(false)}, asGuard)
	if err != nil {
		return fmt.Errorf("SetDesiredCapacity %d: %w", n, classify(err))
	}
	g.p.mu.Lock()
	g.st.desired = n
	g.p.mu.Unlock()
	return nil
}

// IncreaseSize raises the target by delta nodes with
// SetDesiredCapacity(HonorCooldown=false) — delta × weight units in a
// weighted group; ErrAtMax if that passes MaxSize.
func (g *Group) IncreaseSize(ctx context.Context, delta int) error {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	if delta <= 0 {
		return g.fail("IncreaseSize", fmt.Errorf("delta %d must be positive", delta))
	}
	st := g.state()
	if err := st.sizable(); err != nil {
		return g.fail("IncreaseSize", err)
	}
	cur, top := st.targetNodes(), st.maxNodes()
	if delta > top-cur {
		return g.fail("IncreaseSize", fmt.Errorf("%w: %d + %d > %d", nodegroup.ErrAtMax, cur, delta, top))
	}
	if err := g.setDesired(ctx, (cur+delta)*st.unit); err != nil {
		if strings.Contains(err.Error(), "above max value") {
			err = fmt.Errorf("%w: %w", nodegroup.ErrAtMax, err)
		}
		return g.fail("IncreaseSize", err)
	}
	g.p.mu.Lock()
	g.st.failure = nil // a new attempt; the next refresh says how it went
	g.p.mu.Unlock()
	return nil
}

// DecreaseTargetSize lowers the target by delta nodes, only cancelling
// capacity no instance fills yet: it re-reads the group first (one
// DescribeAutoScalingGroups) and refuses, changing nothing, when the new
// target would be below the instances that exist (pending ones included)
// or their capacity units, since AWS would terminate one of them.
func (g *Group) DecreaseTargetSize(ctx context.Context, delta int) error {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	if delta <= 0 {
		return g.fail("DecreaseTargetSize", fmt.Errorf("delta %d must be positive", delta))
	}
	if err := g.reread(ctx); err != nil {
		return g.fail("DecreaseTargetSize", err)
	}
	st := g.state()
	if err := st.sizable(); err != nil {
		return g.fail("DecreaseTargetSize", err)
	}
	cur := st.targetNodes()
	if live := st.live(); delta > cur-live || (cur-delta)*st.unit < st.units() {
		return g.fail("DecreaseTargetSize", fmt.Errorf("target %d - %d would be below the %d existing instances; use DeleteNodes", cur, delta, live))
	}
	if cur-delta < st.minNodes() {
		return g.fail("DecreaseTargetSize", fmt.Errorf("target %d - %d would be below the minimum %d", cur, delta, st.minNodes()))
	}
	if err := g.setDesired(ctx, (cur-delta)*st.unit); err != nil {
		return g.fail("DecreaseTargetSize", err)
	}
	return nil
}

// reread describes this one group and updates the cache.
func (g *Group) reread(ctx context.Context) error {
	out, err := g.p.cfg.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g.name}}, asGuard)
	if err != nil {
		return fmt.Errorf("DescribeAutoScalingGroups: %w", classify(err))
	}
	var found []astypes.AutoScalingGroup
	for _, ag := range out.AutoScalingGroups {
		if aws.ToString(ag.AutoScalingGroupName) == g.name {
			found = append(found, ag)
		}
	}
	switch len(found) {
	case 0:
		return fmt.Errorf("%w: DescribeAutoScalingGroups did not return group %s", nodegroup.ErrNotFound, g.name)
	case 1:
	default:
		return fmt.Errorf("%w: DescribeAutoScalingGroups returned group %s %d times", ErrBadResponse, g.name, len(found))
	}
	st := g.p.stateOf(found[0])
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st.failure = g.st.failure
	g.st = st
	for _, in := range st.instances {
		g.p.byInstance[in.id] = g
	}
	return nil
}

// DeleteNodes terminates the named instances with
// TerminateInstanceInAutoScalingGroup(ShouldDecrementDesiredCapacity=true),
// one call each. Every ID must be an instance (or a placeholder) of this
// group, else ErrNotFound and nothing is removed; the target may not go
// below MinSize (ErrAtMin). Placeholders lower the desired capacity;
// instances already terminating count as removed. Failures are reported per
// instance in a *nodegroup.DeleteError.
func (g *Group) DeleteNodes(ctx context.Context, providerIDs []string) error {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	st := g.state()
	if err := st.sizable(); err != nil {
		return g.fail("DeleteNodes", err)
	}
	byID := make(map[string]instanceState, len(st.instances))
	for _, in := range st.instances {
		byID[in.id] = in
	}
	var terminate []instanceState
	placeholders := 0
	seen := map[string]bool{}
	for _, pid := range providerIDs {
		id, ok := instanceID(pid)
		if seen[id] {
			continue
		}
		seen[id] = true
		in, member := byID[id]
		switch {
		case ok && member:
			if !leaving(in.lifecycle) {
				terminate = append(terminate, in)
			}
		case ok && g.isPlaceholder(st, id):
			placeholders++
		default:
			return g.fail("DeleteNodes", fmt.Errorf("%w: instance %s is not in the group", nodegroup.ErrNotFound, pid))
		}
	}
	units := placeholders*st.unit + sumWeights(terminate)
	if n, cur := len(terminate)+placeholders, st.targetNodes(); cur-n < st.minNodes() || st.desired-units < st.min {
		return g.fail("DeleteNodes", fmt.Errorf("%w: %d - %d < %d", nodegroup.ErrAtMin, cur, n, st.minNodes()))
	}
	if placeholders > 0 {
		// ceil((desired - p·w) / w) = ceil(desired / w) - p: exactly p nodes fewer.
		if err := g.setDesired(ctx, max(0, st.desired-placeholders*st.unit)); err != nil {
			return g.fail("DeleteNodes", err)
		}
	}
	failed := map[string]error{}
	for _, in := range terminate {
		_, err := g.p.cfg.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(in.id), ShouldDecrementDesiredCapacity: aws.Bool(true)}, asGuard)
		if err != nil {
			failed[ProviderID(in.zone, in.id)] = g.fail("DeleteNodes", fmt.Errorf("TerminateInstanceInAutoScalingGroup %s: %w", in.id, classify(err)))
			continue
		}
		g.p.mu.Lock()
		g.st.desired -= in.weight // AWS lowers the desired capacity by the instance's weight
		for i := range g.st.instances {
			if g.st.instances[i].id == in.id {
				g.st.instances[i].lifecycle = astypes.LifecycleStateTerminating
			}
		}
		g.p.mu.Unlock()
	}
	if len(failed) > 0 {
		return &nodegroup.DeleteError{Failed: failed}
	}
	return nil
}

func sumWeights(ins []instanceState) int {
	n := 0
	for _, in := range ins {
		n += in.weight
	}
	return n
}

// Nodes lists the cached instances, then one placeholder (Creating) per
// node the desired capacity asks for that no instance fills yet (in a
// weighted group, the missing units over the weight; in a group with
// uneven weights, over the first override's weight, the type Auto Scaling
// tries first); when the latest launch failed, placeholders carry its
// error class (OutOfCapacity for a stock-out) and message. An invalid
// group (ErrInvalidGroup) returns the error and no list.
func (g *Group) Nodes(ctx context.Context) ([]nodegroup.Instance, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st := g.st
	if st.invalid != nil {
		return nil, g.fail("Nodes", st.invalid)
	}
	ph := st.placeholders()
	out := make([]nodegroup.Instance, 0, len(st.instances)+ph)
	for _, in := range st.instances {
		state := nodegroup.InstanceRunning
		switch {
		case leaving(in.lifecycle):
			state = nodegroup.InstanceDeleting
		case strings.HasPrefix(string(in.lifecycle), "Pending"):
			state = nodegroup.InstanceCreating
		}
		out = append(out, nodegroup.Instance{ProviderID: ProviderID(in.zone, in.id), State: state, Zone: in.zone, InstanceType: in.instanceType})
	}
	zone := ""
	if len(st.zones) > 0 {
		zone = st.zones[0]
	}
	for i := range ph {
		in := nodegroup.Instance{ProviderID: ProviderID(zone, g.placeholderID(i)), State: nodegroup.InstanceCreating, Zone: zone}
		if st.failure != nil {
			in.ErrorClass, in.ErrorMessage = st.failure.class, st.failure.message
		}
		out = append(out, in)
	}
	return out, nil
}

func (g *Group) placeholderID(i int) string {
	return placeholderPrefix + g.name + "-" + strconv.Itoa(i)
}

// isPlaceholder reports whether id names a placeholder Nodes shows now.
func (g *Group) isPlaceholder(st *groupState, id string) bool {
	rest, ok := strings.CutPrefix(id, placeholderPrefix+g.name+"-")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(rest)
	return err == nil && i >= 0 && i < st.placeholders()
}

// placeholderOwner finds the group whose placeholder id is; p.mu is held.
func (p *Provider) placeholderOwner(id string) *Group {
	if !strings.HasPrefix(id, placeholderPrefix) {
		return nil
	}
	for _, g := range p.groups {
		if g.isPlaceholder(g.st, id) {
			return g
		}
	}
	return nil
}
