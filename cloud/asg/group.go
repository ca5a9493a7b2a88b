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

// MinSize is the group's MinSize as last described.
func (g *Group) MinSize() int { return g.state().min }

// MaxSize is the group's MaxSize as last described.
func (g *Group) MaxSize() int { return g.state().max }

// TargetSize is the desired capacity from the cache (no API call).
func (g *Group) TargetSize(ctx context.Context) (int, error) { return g.state().desired, nil }

func (g *Group) fail(op string, err error) error {
	return &nodegroup.Error{Op: op, Group: g.name, Err: err}
}

// setDesired calls SetDesiredCapacity. The value is absolute, so the SDK
// retrying a throttled or lost call cannot add capacity twice.
func (g *Group) setDesired(ctx context.Context, n int) error {
	_, err := g.p.cfg.AutoScaling.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(g.name), DesiredCapacity: aws.Int32(int32(n)), HonorCooldown: aws.Bool(false)})
	if err != nil {
		return fmt.Errorf("SetDesiredCapacity %d: %w", n, classify(err))
	}
	g.p.mu.Lock()
	g.st.desired = n
	g.p.mu.Unlock()
	return nil
}

// IncreaseSize raises the desired capacity by delta with
// SetDesiredCapacity(HonorCooldown=false); ErrAtMax if that passes MaxSize.
func (g *Group) IncreaseSize(ctx context.Context, delta int) error {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	if delta <= 0 {
		return g.fail("IncreaseSize", fmt.Errorf("delta %d must be positive", delta))
	}
	st := g.state()
	if st.desired+delta > st.max {
		return g.fail("IncreaseSize", fmt.Errorf("%w: %d + %d > %d", nodegroup.ErrAtMax, st.desired, delta, st.max))
	}
	if err := g.setDesired(ctx, st.desired+delta); err != nil {
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

// DecreaseTargetSize lowers the desired capacity by delta, only cancelling
// capacity no instance fills yet: it re-reads the group first (one
// DescribeAutoScalingGroups) and refuses, changing nothing, when the new
// target would be below the instances that exist (pending ones included),
// since AWS would terminate one of them.
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
	if live := st.live(); st.desired-delta < live {
		return g.fail("DecreaseTargetSize", fmt.Errorf("target %d - %d would be below the %d existing instances; use DeleteNodes", st.desired, delta, live))
	}
	if st.desired-delta < st.min {
		return g.fail("DecreaseTargetSize", fmt.Errorf("target %d - %d would be below the minimum %d", st.desired, delta, st.min))
	}
	if err := g.setDesired(ctx, st.desired-delta); err != nil {
		return g.fail("DecreaseTargetSize", err)
	}
	return nil
}

// reread describes this one group and updates the cache.
func (g *Group) reread(ctx context.Context) error {
	out, err := g.p.cfg.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g.name}})
	if err != nil {
		return fmt.Errorf("DescribeAutoScalingGroups: %w", classify(err))
	}
	if len(out.AutoScalingGroups) != 1 {
		return fmt.Errorf("%w: group %s no longer exists", nodegroup.ErrNotFound, g.name)
	}
	st := stateOf(out.AutoScalingGroups[0])
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
	if n := len(terminate) + placeholders; st.desired-n < st.min {
		return g.fail("DeleteNodes", fmt.Errorf("%w: %d - %d < %d", nodegroup.ErrAtMin, st.desired, n, st.min))
	}
	if placeholders > 0 {
		if err := g.setDesired(ctx, st.desired-placeholders); err != nil {
			return g.fail("DeleteNodes", err)
		}
	}
	failed := map[string]error{}
	for _, in := range terminate {
		_, err := g.p.cfg.AutoScaling.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
			InstanceId: aws.String(in.id), ShouldDecrementDesiredCapacity: aws.Bool(true)})
		if err != nil {
			failed[ProviderID(in.zone, in.id)] = g.fail("DeleteNodes", fmt.Errorf("TerminateInstanceInAutoScalingGroup %s: %w", in.id, classify(err)))
			continue
		}
		g.p.mu.Lock()
		g.st.desired--
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

// Nodes lists the cached instances, then one placeholder (Creating) per unit
// of desired capacity no instance fills yet; when the latest launch failed,
// placeholders carry its error class (OutOfCapacity for a stock-out) and message.
func (g *Group) Nodes(ctx context.Context) ([]nodegroup.Instance, error) {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	st := g.st
	out := make([]nodegroup.Instance, 0, max(len(st.instances), st.desired))
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
	for i := range st.desired - st.live() {
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
	return err == nil && i >= 0 && i < st.desired-st.live()
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
