package asg

import (
	"context"
	"errors"
	"fmt"
	"sort"
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

// groupState is one group as last described.
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
}

type instanceState struct {
	id, zone, instanceType string
	lifecycle              astypes.LifecycleState
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
// refresh. On a describe failure the cache is left as it was.
func (p *Provider) refresh(ctx context.Context) error {
	described, err := p.describe(ctx)
	if err != nil {
		return &nodegroup.Error{Op: "Refresh", Err: classify(err)}
	}
	states := make([]*groupState, 0, len(described))
	var errs []error
	unknown := map[string]bool{} // groups whose activities could not be read
	for _, g := range described {
		st := stateOf(g)
		if st.desired > st.live() {
			f, err := p.latestLaunchFailure(ctx, st.name)
			if err != nil {
				errs = append(errs, &nodegroup.Error{Op: "Refresh", Group: st.name, Err: classify(err)})
				unknown[st.name] = true
			}
			st.failure = f
		}
		states = append(states, st)
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

// describe runs DescribeAutoScalingGroups by names (batches of 100) or by
// tag filters, following NextToken.
func (p *Provider) describe(ctx context.Context) ([]astypes.AutoScalingGroup, error) {
	var inputs []*autoscaling.DescribeAutoScalingGroupsInput
	if len(p.cfg.GroupNames) > 0 {
		for i := 0; i < len(p.cfg.GroupNames); i += describeBatch {
			inputs = append(inputs, &autoscaling.DescribeAutoScalingGroupsInput{
				AutoScalingGroupNames: p.cfg.GroupNames[i:min(i+describeBatch, len(p.cfg.GroupNames))], MaxRecords: aws.Int32(describeBatch)})
		}
	} else {
		inputs = append(inputs, &autoscaling.DescribeAutoScalingGroupsInput{Filters: p.discoveryFilters(), MaxRecords: aws.Int32(describeBatch)})
	}
	var out []astypes.AutoScalingGroup
	for _, in := range inputs {
		pg := autoscaling.NewDescribeAutoScalingGroupsPaginator(p.cfg.AutoScaling, in)
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("DescribeAutoScalingGroups: %w", err)
			}
			out = append(out, page.AutoScalingGroups...)
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

func stateOf(g astypes.AutoScalingGroup) *groupState {
	st := &groupState{name: aws.ToString(g.AutoScalingGroupName), min: int(aws.ToInt32(g.MinSize)), max: int(aws.ToInt32(g.MaxSize)),
		desired: int(aws.ToInt32(g.DesiredCapacity)), zones: g.AvailabilityZones, tags: map[string]string{},
		launchTmpl: g.LaunchTemplate, launchConfig: aws.ToString(g.LaunchConfigurationName), mixed: g.MixedInstancesPolicy}
	st.instances = make([]instanceState, 0, len(g.Instances))
	for _, in := range g.Instances {
		st.instances = append(st.instances, instanceState{id: aws.ToString(in.InstanceId), zone: aws.ToString(in.AvailabilityZone),
			instanceType: aws.ToString(in.InstanceType), lifecycle: in.LifecycleState})
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
		AutoScalingGroupName: aws.String(group), MaxRecords: aws.Int32(20)})
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
