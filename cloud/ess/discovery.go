package ess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/kscale/kscale/nodegroup"
)

// API batch limits.
const (
	pageSize          = 50 // the ESS maximum
	groupIDsPerCall   = 20 // ScalingGroupId.N of DescribeScalingGroups
	configIDsPerCall  = 10 // ScalingConfigurationId.N of DescribeScalingConfigurations
	typesPerCall      = 10 // InstanceTypes.N of ecs:DescribeInstanceTypes
	removePerCall     = 20 // InstanceId.N of RemoveInstances
	activitiesPerCall = 5  // the newest activities are enough
)

// loader reads everything a refresh needs, counting calls:
//
//   - groups: DescribeScalingGroups with up to 20 IDs per call, or by tag
//     filter with 50 per page;
//   - active scaling configurations not cached (or older than
//     TemplateRefreshInterval): DescribeScalingConfigurations, 10 IDs per call;
//   - instance types not cached: ecs:DescribeInstanceTypes, 10 per call;
//   - instances of groups that have any: DescribeScalingInstances, 50 per
//     page;
//   - the newest activities of groups short of their desired capacity
//     only: DescribeScalingActivities, to report a failed launch (a
//     stock-out) on the first refresh after it.
type loader struct {
	p       *Provider
	now     time.Time
	configs map[string]*configuration
	types   map[string]instanceType
	calls   int
}

func (l *loader) load(ctx context.Context) (map[string]*groupState, []string, error) {
	raw, err := l.listGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := l.loadConfigurations(ctx, raw); err != nil {
		return nil, nil, err
	}
	if err := l.loadInstanceTypes(ctx); err != nil {
		return nil, nil, err
	}
	groups := make(map[string]*groupState, len(raw))
	order := make([]string, 0, len(raw))
	for _, sg := range raw {
		g := &groupState{id: sg.ScalingGroupId, name: sg.ScalingGroupName, min: sg.MinSize, max: sg.MaxSize,
			desired: sg.DesiredCapacity, configID: sg.ActiveScalingConfigurationId, tags: map[string]string{}}
		if !sg.EnableDesiredCapacity {
			g.desired = sg.ActiveCapacity + sg.PendingCapacity
		}
		for _, t := range sg.Tags.Tag {
			k, v := t.Key, t.Value
			if k == "" {
				k, v = t.TagKey, t.TagValue
			}
			g.tags[k] = v
		}
		if sg.TotalInstanceCount > 0 || sg.TotalCapacity > 0 || sg.PendingCapacity > 0 || sg.RemovingCapacity > 0 {
			if g.instances, err = l.instances(ctx, g.id); err != nil {
				return nil, nil, err
			}
		}
		if g.desired > g.live() {
			if g.failure, err = l.lastFailure(ctx, g.id); err != nil {
				return nil, nil, err
			}
		}
		groups[g.id] = g
		order = append(order, g.id)
	}
	return groups, order, nil
}

func (l *loader) do(ctx context.Context, action string, req timeoutSetter, call func() error) error {
	l.calls++
	return l.p.api.do(ctx, action, req, call)
}

func (l *loader) listGroups(ctx context.Context) ([]ess.ScalingGroup, error) {
	cfg := l.p.cfg
	var out []ess.ScalingGroup
	seen := map[string]bool{}
	add := func(gs []ess.ScalingGroup) {
		for _, g := range gs {
			if !seen[g.ScalingGroupId] {
				seen[g.ScalingGroupId] = true
				out = append(out, g)
			}
		}
	}
	for batch := range slices.Chunk(cfg.GroupIDs, groupIDsPerCall) {
		req := ess.CreateDescribeScalingGroupsRequest()
		ids := slices.Clone(batch)
		req.ScalingGroupId = &ids
		req.PageSize = requests.NewInteger(pageSize)
		var resp *ess.DescribeScalingGroupsResponse
		err := l.do(ctx, "ess:DescribeScalingGroups", req, func() (err error) { resp, err = l.p.api.ess.DescribeScalingGroups(req); return })
		if err != nil {
			return nil, err
		}
		add(resp.ScalingGroups.ScalingGroup)
	}
	var missing []string
	for _, id := range cfg.GroupIDs {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: scaling groups %s do not exist in %s", nodegroup.ErrNotFound, strings.Join(missing, ", "), cfg.Region)
	}
	if len(cfg.DiscoveryTags) == 0 {
		return out, nil
	}
	var tags []ess.DescribeScalingGroupsTag
	for _, k := range sortedKeys(cfg.DiscoveryTags) {
		tags = append(tags, ess.DescribeScalingGroupsTag{Key: k, Value: cfg.DiscoveryTags[k]})
	}
	for page := 1; ; page++ {
		req := ess.CreateDescribeScalingGroupsRequest()
		req.Tag = &tags
		req.PageSize = requests.NewInteger(pageSize)
		req.PageNumber = requests.NewInteger(page)
		var resp *ess.DescribeScalingGroupsResponse
		err := l.do(ctx, "ess:DescribeScalingGroups", req, func() (err error) { resp, err = l.p.api.ess.DescribeScalingGroups(req); return })
		if err != nil {
			return nil, err
		}
		add(resp.ScalingGroups.ScalingGroup)
		if len(resp.ScalingGroups.ScalingGroup) < pageSize || page*pageSize >= resp.TotalCount {
			return out, nil
		}
	}
}

func (l *loader) loadConfigurations(ctx context.Context, groups []ess.ScalingGroup) error {
	var want []string
	for _, g := range groups {
		id := g.ActiveScalingConfigurationId
		if id == "" || slices.Contains(want, id) {
			continue
		}
		if c := l.configs[id]; c == nil || l.now.Sub(c.fetchedAt) >= l.p.cfg.TemplateRefreshInterval {
			want = append(want, id)
		}
	}
	for batch := range slices.Chunk(want, configIDsPerCall) {
		req := ess.CreateDescribeScalingConfigurationsRequest()
		ids := slices.Clone(batch)
		req.ScalingConfigurationId = &ids
		req.PageSize = requests.NewInteger(pageSize)
		var resp *ess.DescribeScalingConfigurationsResponse
		err := l.do(ctx, "ess:DescribeScalingConfigurations", req, func() (err error) {
			resp, err = l.p.api.ess.DescribeScalingConfigurations(req)
			return
		})
		if err != nil {
			return err
		}
		for _, sc := range resp.ScalingConfigurations.ScalingConfiguration {
			c := &configuration{id: sc.ScalingConfigurationId, types: sc.InstanceTypes.InstanceType, tags: map[string]string{},
				spot: sc.SpotStrategy != "" && sc.SpotStrategy != "NoSpot", diskGiB: int64(sc.SystemDiskSize), zone: sc.ZoneId, fetchedAt: l.now}
			if len(c.types) == 0 && sc.InstanceType != "" {
				c.types = []string{sc.InstanceType}
			}
			for _, t := range sc.Tags.Tag {
				k, v := t.Key, t.Value
				if k == "" {
					k, v = t.TagKey, t.TagValue
				}
				c.tags[k] = v
			}
			l.configs[c.id] = c
		}
	}
	return nil
}

func (l *loader) loadInstanceTypes(ctx context.Context) error {
	var want []string
	for _, c := range l.configs {
		for _, t := range c.types {
			if _, ok := l.types[t]; !ok && !slices.Contains(want, t) {
				want = append(want, t)
			}
		}
	}
	slices.Sort(want)
	for batch := range slices.Chunk(want, typesPerCall) {
		req := ecs.CreateDescribeInstanceTypesRequest()
		names := slices.Clone(batch)
		req.InstanceTypes = &names
		req.MaxResults = requests.NewInteger(100)
		var resp *ecs.DescribeInstanceTypesResponse
		err := l.do(ctx, "ecs:DescribeInstanceTypes", req, func() (err error) { resp, err = l.p.api.ecs.DescribeInstanceTypes(req); return })
		if err != nil {
			return err
		}
		for _, t := range resp.InstanceTypes.InstanceType {
			l.types[t.InstanceTypeId] = instanceType{cpu: int64(t.CpuCoreCount), memoryGiB: t.MemorySize, gpu: int64(t.GPUAmount), arch: t.CpuArchitecture}
		}
	}
	return nil
}

// instances reads a group's instances, 50 per page.
func (l *loader) instances(ctx context.Context, group string) ([]instanceState, error) {
	var out []instanceState
	for page := 1; ; page++ {
		req := ess.CreateDescribeScalingInstancesRequest()
		req.ScalingGroupId = group
		req.PageSize = requests.NewInteger(pageSize)
		req.PageNumber = requests.NewInteger(page)
		var resp *ess.DescribeScalingInstancesResponse
		err := l.do(ctx, "ess:DescribeScalingInstances", req, func() (err error) { resp, err = l.p.api.ess.DescribeScalingInstances(req); return })
		if err != nil {
			return nil, err
		}
		for _, in := range resp.ScalingInstances.ScalingInstance {
			out = append(out, instanceState{id: in.InstanceId, zone: in.ZoneId, typ: in.InstanceType, state: lifecycle(in.LifecycleState)})
		}
		if len(resp.ScalingInstances.ScalingInstance) < pageSize || page*pageSize >= resp.TotalCount {
			return out, nil
		}
	}
}

// lastFailure is why the group's newest scaling activity failed, nil if it
// did not.
func (l *loader) lastFailure(ctx context.Context, group string) (*launchFailure, error) {
	req := ess.CreateDescribeScalingActivitiesRequest()
	req.ScalingGroupId = group
	req.PageSize = requests.NewInteger(activitiesPerCall)
	var resp *ess.DescribeScalingActivitiesResponse
	err := l.do(ctx, "ess:DescribeScalingActivities", req, func() (err error) { resp, err = l.p.api.ess.DescribeScalingActivities(req); return })
	if err != nil {
		return nil, err
	}
	acts := resp.ScalingActivities.ScalingActivity
	if len(acts) == 0 {
		return nil, nil
	}
	return activityFailure(acts[0]), nil
}

// stockCodes are the error codes and message fragments of stock-outs.
var stockCodes = []string{"NoStock", "OutOfStock", "InsufficientCapacity", "RecommendEmpty", "ResourceNotAvailable", "out of stock"}

func activityFailure(a ess.ScalingActivity) *launchFailure {
	switch a.StatusCode {
	case "Failed", "Rejected", "Warning":
	default:
		return nil
	}
	msg := strings.TrimSpace(a.ErrorCode + ": " + firstNonEmpty(a.ErrorMessage, a.StatusMessage, a.Description))
	text := a.ErrorCode + " " + a.ErrorMessage + " " + a.StatusMessage
	for _, c := range stockCodes {
		if strings.Contains(text, c) {
			return &launchFailure{class: nodegroup.OutOfCapacity, message: msg}
		}
	}
	return &launchFailure{class: nodegroup.OtherError, message: msg}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// errNoConfig is returned for groups without an active scaling
// configuration (launch-template groups), whose template is not supported.
var errNoConfig = errors.New("group has no active scaling configuration")
