package asg

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/kscale/kscale/nodegroup"
)

// Provider is a set of Auto Scaling groups behind a cache refreshed at most
// once per RefreshInterval. Its zero value is not usable; call New.
type Provider struct {
	cfg Config

	mu         sync.Mutex
	groups     map[string]*Group // by name, stable across refreshes
	byInstance map[string]*Group // instance ID → group
	last       time.Time         // last successful refresh

	typesMu sync.Mutex
	types   map[string]typeInfo
	lts     map[string]ltCacheEntry
}

var _ nodegroup.Provider = (*Provider)(nil)

// Batch and page sizes of DescribeAutoScalingGroups (the API's maximum).
const describeBatch = 100

// groupState is one group as last described. min, max and desired are in
// AWS's units: instances, or capacity units in a weighted group.
type groupState struct {
	name         string
	min, max     int
	desired      int
	zones        []string
	instances    []instanceState
	tags         map[string]string
	launchTmpl   *astypes.LaunchTemplateSpecification
	launchConfig string
	mixed        *astypes.MixedInstancesPolicy
	failure      *launchFailure // the latest launch activity failed

	// unit is the capacity units one node counts for: 1 in an unweighted
	// group, the common weight when every override and every running
	// instance carries the same one, 0 when they differ (ErrUnevenWeights).
	unit int
	// firstWeight is the first override's weight (1 if unweighted); node
	// bounds and placeholders of an uneven group are counted in it.
	firstWeight int
	cap         int   // Config.MaxGroupSize
	invalid     error // why the description cannot be used, or nil
}

type instanceState struct {
	id, zone, instanceType string
	lifecycle              astypes.LifecycleState
	weight                 int // capacity units, 1 when unweighted
}

// launchFailure is a failed launch reported by DescribeScalingActivities.
type launchFailure struct {
	class   nodegroup.ErrorClass
	message string
}

// live counts the instances not on their way out.
func (s *groupState) live() int {
	n := 0
	for _, in := range s.instances {
		if !leaving(in.lifecycle) {
			n++
		}
	}
	return n
}

// units is the capacity the instances not on their way out provide.
func (s *groupState) units() int {
	n := 0
	for _, in := range s.instances {
		if !leaving(in.lifecycle) {
			n += in.weight
		}
	}
	return n
}

// w is the weight node counts are measured in.
func (s *groupState) w() int {
	if s.unit > 0 {
		return s.unit
	}
	return s.firstWeight
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// minNodes, maxNodes and targetNodes are the group's sizes in nodes:
// ceil(MinSize/w), floor(MaxSize/w) capped at Config.MaxGroupSize, and
// ceil(DesiredCapacity/w) (Auto Scaling launches until the units are
// covered, overshooting by part of one instance).
func (s *groupState) minNodes() int    { return min(ceilDiv(max(s.min, 0), s.w()), s.cap) }
func (s *groupState) maxNodes() int    { return min(max(s.max, 0)/s.w(), s.cap) }
func (s *groupState) targetNodes() int { return ceilDiv(s.desired, s.w()) }

// placeholders is how many nodes the desired capacity still asks for
// beyond the instances that exist, never more than the cap allows.
func (s *groupState) placeholders() int {
	if s.invalid != nil {
		return 0
	}
	short := s.desired - s.units()
	if short <= 0 {
		return 0
	}
	return max(0, min(ceilDiv(short, s.w()), s.cap-s.live()))
}

// sizable is nil when node counts map exactly onto the group's capacity.
func (s *groupState) sizable() error {
	if s.invalid != nil {
		return s.invalid
	}
	if s.unit == 0 {
		return ErrUnevenWeights
	}
	return nil
}

func leaving(l astypes.LifecycleState) bool {
	return strings.HasPrefix(string(l), "Terminating") || l == astypes.LifecycleStateTerminated ||
		strings.HasPrefix(string(l), "Detach") || l == astypes.LifecycleStateDetached
}

func (p *Provider) now() time.Time { return p.cfg.Now() }

// NodeGroups lists the groups as of the last refresh, sorted by name.
func (p *Provider) NodeGroups(ctx context.Context) ([]nodegroup.NodeGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.groups))
	for n := range p.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]nodegroup.NodeGroup, len(names))
	for i, n := range names {
		out[i] = p.groups[n]
	}
	return out, nil
}

// Group is the named group, or nil.
func (p *Provider) Group(name string) *Group {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.groups[name]
}

// NodeGroupForNode finds the group owning the instance named by a providerID
// aws:///<zone>/<instance-id> (placeholders for pending capacity included),
// from the cache; nil and no error when no managed group owns it.
func (p *Provider) NodeGroupForNode(ctx context.Context, providerID string) (nodegroup.NodeGroup, error) {
	id, ok := instanceID(providerID)
	if !ok {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := p.byInstance[id]; g != nil {
		return g, nil
	}
	if g := p.placeholderOwner(id); g != nil {
		return g, nil
	}
	return nil, nil
}

// ProviderID is the node's spec.providerID for an instance.
func ProviderID(zone, instanceID string) string { return "aws:///" + zone + "/" + instanceID }

// instanceID parses aws:///<zone>/<id> (or aws://<zone>/<id>).
func instanceID(providerID string) (string, bool) {
	rest, ok := strings.CutPrefix(providerID, "aws://")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 || i == len(rest)-1 {
		return "", false
	}
	return rest[i+1:], true
}

// Refresh re-reads the groups unless the cache is younger than RefreshInterval.
func (p *Provider) Refresh(ctx context.Context) error {
	p.mu.Lock()
	fresh := !p.last.IsZero() && p.now().Sub(p.last) < p.cfg.RefreshInterval
	p.mu.Unlock()
	if fresh {
		return nil
	}
	return p.refresh(ctx)
}

// RefreshInterval is how long the cache is trusted.
func (p *Provider) RefreshInterval() time.Duration { return p.cfg.RefreshInterval }

// ForceRefresh re-reads the groups now.
func (p *Provider) ForceRefresh(ctx context.Context) error { return p.refresh(ctx) }

// refresh describes every group (batched, paginated), then asks
// DescribeScalingActivities about the groups short of their desired
// capacity only, so a failed launch (a spot stock-out) is known within one
// refresh. On a describe failure the cache is left as it was. A group the
// cloud describes insanely, or a named group it does not return, is an
// error for that group alone: the returned error names each, and the
// other groups are refreshed.
func (p *Provider) refresh(ctx context.Context) error {
	described, err := p.describe(ctx)
	if err != nil {
		return &nodegroup.Error{Op: "Refresh", Err: classify(err)}
	}
	states := make([]*groupState, 0, len(described))
	var errs []error
	unknown := map[string]bool{} // groups whose activities could not be read
	seen := make(map[string]bool, len(described))
	for _, g := range described {
		st := p.stateOf(g)
		if st.name == "" {
			errs = append(errs, &nodegroup.Error{Op: "Refresh", Err: fmt.Errorf("%w: DescribeAutoScalingGroups returned a group without a name", ErrBadResponse)})
			continue
		}
		if seen[st.name] {
			errs = append(errs, &nodegroup.Error{Op: "Refresh", Group: st.name, Err: fmt.Errorf("%w: DescribeAutoScalingGroups returned the group twice", ErrBadResponse)})
			continue
		}
		seen[st.name] = true
		if st.invalid != nil {
			errs = append(errs, &nodegroup.Error{Op: "Refresh", Group: st.name, Err: st.invalid})
		} else if st.desired > st.units() {
			f, err := p.latestLaunchFailure(ctx, st.name)
			if err != nil {
				errs = append(errs, &nodegroup.Error{Op: "Refresh", Group: st.name, Err: classify(err)})
				unknown[st.name] = true
			}
			st.failure = f
		}
		states = append(states, st)
	}
	for _, name := range p.cfg.GroupNames {
		if !seen[name] {
			errs = append(errs, &nodegroup.Error{Op: "Refresh", Group: name,
				Err: fmt.Errorf("%w: DescribeAutoScalingGroups did not return the named group %s", nodegroup.ErrNotFound, name)})
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	groups := make(map[string]*Group, len(states))
	byInstance := make(map[string]*Group, len(p.byInstance))
	for _, st := range states {
		g := p.groups[st.name]
		if g == nil {
			g = &Group{p: p, name: st.name}
		}
		if unknown[st.name] && g.st != nil {
			st.failure = g.st.failure // keep what we knew when the activities call failed
		}
		g.st = st
		groups[st.name] = g
		for _, in := range st.instances {
			byInstance[in.id] = g
		}
	}
	p.groups, p.byInstance, p.last = groups, byInstance, p.now()
	return errors.Join(errs...)
}

// maxDiscoveryPages caps the DescribeAutoScalingGroups pages of a
// discovery by tags (100 groups a page, so 100 000 groups); a batch of
// names may take at most one page per name, plus one.
const maxDiscoveryPages = 1000

// describe runs DescribeAutoScalingGroups by names (batches of 100) or by
// tag filters, following NextToken; a token that repeats, or more pages
// than the input can need, is an error rather than an endless loop.
func (p *Provider) describe(ctx context.Context) ([]astypes.AutoScalingGroup, error) {
	var inputs []autoscaling.DescribeAutoScalingGroupsInput
	if len(p.cfg.GroupNames) > 0 {
		for i := 0; i < len(p.cfg.GroupNames); i += describeBatch {
			inputs = append(inputs, autoscaling.DescribeAutoScalingGroupsInput{
				AutoScalingGroupNames: p.cfg.GroupNames[i:min(i+describeBatch, len(p.cfg.GroupNames))], MaxRecords: aws.Int32(describeBatch)})
		}
	} else {
		inputs = append(inputs, autoscaling.DescribeAutoScalingGroupsInput{Filters: p.discoveryFilters(), MaxRecords: aws.Int32(describeBatch)})
	}
	var out []astypes.AutoScalingGroup
	for _, in := range inputs {
		tokens := map[string]bool{}
		limit := maxDiscoveryPages
		if len(in.AutoScalingGroupNames) > 0 {
			limit = len(in.AutoScalingGroupNames) + 1
		}
		for pages := 1; ; pages++ {
			if pages > limit {
				return nil, fmt.Errorf("DescribeAutoScalingGroups: %w: more than %d pages", ErrBadResponse, limit)
			}
			page, err := p.cfg.AutoScaling.DescribeAutoScalingGroups(ctx, &in, asGuard)
			if err != nil {
				return nil, fmt.Errorf("DescribeAutoScalingGroups: %w", err)
			}
			out = append(out, page.AutoScalingGroups...)
			next := aws.ToString(page.NextToken)
			if next == "" {
				break
			}
			if tokens[next] {
				return nil, fmt.Errorf("DescribeAutoScalingGroups: %w: NextToken %.40q repeated after %d pages", ErrBadResponse, next, pages)
			}
			tokens[next] = true
			in.NextToken = aws.String(next)
		}
	}
	return out, nil
}

func (p *Provider) discoveryFilters() []astypes.Filter {
	var fs []astypes.Filter
	if p.cfg.ClusterName != "" {
		fs = append(fs, astypes.Filter{Name: aws.String("tag-key"), Values: []string{TagEnabled}},
			astypes.Filter{Name: aws.String("tag-key"), Values: []string{TagClusterPrefix + p.cfg.ClusterName}})
	}
	keys := make([]string, 0, len(p.cfg.TagFilters))
	for k := range p.cfg.TagFilters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := p.cfg.TagFilters[k]; v != "" {
			fs = append(fs, astypes.Filter{Name: aws.String("tag:" + k), Values: []string{v}})
		} else {
			fs = append(fs, astypes.Filter{Name: aws.String("tag-key"), Values: []string{k}})
		}
	}
	return fs
}

// maxWeight is the largest WeightedCapacity AWS accepts.
const maxWeight = 999

// parseWeight reads a WeightedCapacity: "" is 1, else an integer 1–999.
func parseWeight(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	w, err := strconv.Atoi(s)
	if err != nil || w < 1 || w > maxWeight {
		return 0, fmt.Errorf("WeightedCapacity %.20q is not an integer from 1 to %d", s, maxWeight)
	}
	return w, nil
}

// stateOf reads a described group, distrusting it: sizes that cannot be
// true make it invalid (an error for this group only), and weights decide
// how nodes map onto capacity units.
func (p *Provider) stateOf(g astypes.AutoScalingGroup) *groupState {
	st := &groupState{name: aws.ToString(g.AutoScalingGroupName), min: int(aws.ToInt32(g.MinSize)), max: int(aws.ToInt32(g.MaxSize)),
		desired: int(aws.ToInt32(g.DesiredCapacity)), zones: g.AvailabilityZones, tags: make(map[string]string, len(g.Tags)),
		launchTmpl: g.LaunchTemplate, launchConfig: aws.ToString(g.LaunchConfigurationName), mixed: g.MixedInstancesPolicy,
		unit: 1, firstWeight: 1, cap: p.cfg.MaxGroupSize}
	var bad []string
	switch {
	case g.MinSize == nil || g.MaxSize == nil || g.DesiredCapacity == nil:
		bad = append(bad, "MinSize, MaxSize or DesiredCapacity missing")
	case st.desired < 0 || st.min < 0 || st.max < 0:
		bad = append(bad, fmt.Sprintf("negative size (min %d, max %d, desired %d)", st.min, st.max, st.desired))
	case st.min > st.max:
		bad = append(bad, fmt.Sprintf("MinSize %d above MaxSize %d", st.min, st.max))
	case st.desired < st.min || st.desired > st.max:
		bad = append(bad, fmt.Sprintf("DesiredCapacity %d outside [MinSize %d, MaxSize %d]", st.desired, st.min, st.max))
	}
	// Weights: every override's, and every instance's own (an instance of a
	// type since removed keeps its last weight).
	weights := map[int]bool{}
	weighted := false
	if m := g.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil {
		for i, o := range m.LaunchTemplate.Overrides {
			if o.WeightedCapacity == nil {
				continue
			}
			weighted = true
			w, err := parseWeight(aws.ToString(o.WeightedCapacity))
			if err != nil {
				bad = append(bad, fmt.Sprintf("override %d (%s): %v", i, aws.ToString(o.InstanceType), err))
				continue
			}
			if len(weights) == 0 {
				st.firstWeight = w
			}
			weights[w] = true
		}
	}
	instances := g.Instances
	if len(instances) > 2*st.cap { // terminating ones may outnumber the cap for a while, not twice over
		bad = append(bad, fmt.Sprintf("%d instances listed, more than twice the sanity cap of %d (Config.MaxGroupSize)", len(instances), st.cap))
		instances = nil
	}
	st.instances = make([]instanceState, 0, len(instances))
	for _, in := range instances {
		is := instanceState{id: aws.ToString(in.InstanceId), zone: aws.ToString(in.AvailabilityZone),
			instanceType: aws.ToString(in.InstanceType), lifecycle: in.LifecycleState, weight: 1}
		if in.WeightedCapacity != nil {
			w, err := parseWeight(aws.ToString(in.WeightedCapacity))
			if err != nil {
				bad = append(bad, fmt.Sprintf("instance %.40s: %v", is.id, err))
			} else {
				is.weight, weighted = w, true
				if !leaving(in.LifecycleState) {
					weights[w] = true
				}
			}
		} else if weighted {
			is.weight = st.firstWeight
		}
		st.instances = append(st.instances, is)
	}
	if len(weights) > 1 {
		st.unit = 0
	} else {
		for w := range weights {
			st.unit = w
		}
	}
	if len(bad) == 0 && st.targetNodes() > st.cap {
		bad = append(bad, fmt.Sprintf("DesiredCapacity %d is %d nodes, above the sanity cap of %d (Config.MaxGroupSize)", st.desired, st.targetNodes(), st.cap))
	}
	if len(bad) > 0 {
		st.invalid = fmt.Errorf("%w: %s", ErrInvalidGroup, strings.Join(bad, "; "))
	}
	for _, t := range g.Tags {
		st.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return st
}

// Error codes in a failed launch's status message that mean a stock-out.
var capacityCodes = []string{"InsufficientInstanceCapacity", "InsufficientCapacity", "MaxSpotInstanceCountExceeded",
	"capacity-not-available", "UnfulfillableCapacity", "InsufficientHostCapacity"}

// latestLaunchFailure reads the group's latest activities: if the newest
// launch attempt failed, it says why.
func (p *Provider) latestLaunchFailure(ctx context.Context, group string) (*launchFailure, error) {
	out, err := p.cfg.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
		AutoScalingGroupName: aws.String(group), MaxRecords: aws.Int32(20)}, asGuard)
	if err != nil {
		return nil, fmt.Errorf("DescribeScalingActivities: %w", err)
	}
	for _, a := range out.Activities { // newest first
		if !strings.HasPrefix(aws.ToString(a.Description), "Launching") {
			continue
		}
		if a.StatusCode != astypes.ScalingActivityStatusCodeFailed && a.StatusCode != astypes.ScalingActivityStatusCodeCancelled {
			return nil, nil
		}
		msg := aws.ToString(a.StatusMessage)
		f := &launchFailure{class: nodegroup.OtherError, message: msg}
		for _, c := range capacityCodes {
			if strings.Contains(msg, c) || strings.Contains(aws.ToString(a.Description), c) {
				f.class = nodegroup.OutOfCapacity
			}
		}
		return f, nil
	}
	return nil, nil
}
