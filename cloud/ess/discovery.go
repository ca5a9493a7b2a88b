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

// MaxGroupSize bounds every size a scaling group may report (MinSize,
// MaxSize, DesiredCapacity, instance counts). ESS's own limit is 2000
// instances per group unless a quota raises it; a larger figure is
// treated as garbage, so it can never size an allocation (placeholders)
// or a loop (pages).
const MaxGroupSize = 10000

// Sanity limits on other reported figures.
const (
	maxPages         = MaxGroupSize / pageSize // pages of one listing (groups or a group's instances)
	maxVCPU          = 4096                    // per instance type
	maxMemoryGiB     = 64 << 10                // 64 TiB
	maxGPU           = 64
	maxSystemDiskGiB = 64 << 10
	maxMessage       = 1024 // bytes of an activity's error message kept
)

// pager guards one paginated listing against a server that never ends it:
// a TotalCount that is negative or beyond what kscale reads, a PageNumber
// other than the one asked for, pages that only repeat earlier items, and
// more than maxPages pages are all ErrInvalidResponse. Items repeated
// next to new ones (a listing that shifted while it was read) are skipped.
type pager struct {
	what  string // "ess:DescribeScalingInstances of asg-1"
	limit int    // most items the listing may have; 0 means maxPages*pageSize
	seen  map[string]bool
}

// page checks one answer to page asked; fresh[i] is false for items
// already listed, done is true at the end of the listing.
func (pg *pager) page(asked, echoed, total int, ids []string) (fresh []bool, done bool, err error) {
	fail := func(format string, args ...any) ([]bool, bool, error) {
		return nil, false, fmt.Errorf("%s: %w: page %d: %s", pg.what, ErrInvalidResponse, asked, fmt.Sprintf(format, args...))
	}
	limit := pg.limit
	if limit <= 0 || limit > maxPages*pageSize {
		limit = maxPages * pageSize
	}
	switch {
	case total < 0 || total > limit:
		return fail("TotalCount %d is outside [0, %d]", total, limit)
	case echoed != 0 && echoed != asked:
		return fail("answered with page %d", echoed)
	case len(ids) > pageSize:
		return fail("%d items on a page of %d", len(ids), pageSize)
	}
	if pg.seen == nil {
		pg.seen = make(map[string]bool, min(total, limit)) // total ≤ limit, checked above
	}
	fresh = make([]bool, len(ids))
	n := 0
	for i, id := range ids {
		if id == "" {
			return fail("an item without an ID")
		}
		if !pg.seen[id] {
			pg.seen[id], fresh[i] = true, true
			n++
		}
	}
	if n == 0 && len(ids) > 0 {
		return fail("only repeats items of earlier pages (is PageNumber ignored?)")
	}
	if len(ids) < pageSize || asked*pageSize >= total {
		return fresh, true, nil
	}
	if asked >= maxPages {
		return fail("the listing goes on past %d pages", maxPages)
	}
	return fresh, false, nil
}

// checkGroup refuses a scaling group whose sizes cannot be right.
func checkGroup(sg ess.ScalingGroup) error {
	var errs []string
	check := func(name string, v int) {
		if v < 0 || v > MaxGroupSize {
			errs = append(errs, fmt.Sprintf("%s %d is outside [0, %d]", name, v, MaxGroupSize))
		}
	}
	check("MinSize", sg.MinSize)
	check("MaxSize", sg.MaxSize)
	if sg.EnableDesiredCapacity {
		check("DesiredCapacity", sg.DesiredCapacity)
	}
	check("TotalCapacity", sg.TotalCapacity)
	check("ActiveCapacity", sg.ActiveCapacity)
	check("PendingCapacity", sg.PendingCapacity)
	check("RemovingCapacity", sg.RemovingCapacity)
	check("TotalInstanceCount", sg.TotalInstanceCount)
	switch {
	case len(errs) > 0:
	case sg.MinSize > sg.MaxSize:
		errs = append(errs, fmt.Sprintf("MinSize %d is above MaxSize %d", sg.MinSize, sg.MaxSize))
	case sg.EnableDesiredCapacity && (sg.DesiredCapacity < sg.MinSize || sg.DesiredCapacity > sg.MaxSize):
		errs = append(errs, fmt.Sprintf("DesiredCapacity %d is outside [MinSize %d, MaxSize %d]", sg.DesiredCapacity, sg.MinSize, sg.MaxSize))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: scaling group %s: %s", ErrInvalidResponse, sg.ScalingGroupId, strings.Join(errs, "; "))
}

// checkInstanceType refuses an instance type whose resources cannot be
// right.
func checkInstanceType(t ecs.InstanceType) error {
	var errs []string
	if t.CpuCoreCount <= 0 || t.CpuCoreCount > maxVCPU {
		errs = append(errs, fmt.Sprintf("CpuCoreCount %d is outside [1, %d]", t.CpuCoreCount, maxVCPU))
	}
	if !(t.MemorySize > 0 && t.MemorySize <= maxMemoryGiB) {
		errs = append(errs, fmt.Sprintf("MemorySize %v GiB is outside (0, %d]", t.MemorySize, maxMemoryGiB))
	}
	if t.GPUAmount < 0 || t.GPUAmount > maxGPU {
		errs = append(errs, fmt.Sprintf("GPUAmount %d is outside [0, %d]", t.GPUAmount, maxGPU))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: instance type %s: %s", ErrInvalidResponse, t.InstanceTypeId, strings.Join(errs, "; "))
}

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

// load reads every group. A failed call fails the whole load; a group the
// cloud reports with impossible sizes or lists garbage for, or a named
// group it does not return, gets a groupState carrying the error (and no
// place in order), so the other groups keep working.
func (l *loader) load(ctx context.Context) (map[string]*groupState, []string, error) {
	raw, missing, err := l.listGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	groups := make(map[string]*groupState, len(raw)+len(missing))
	for _, id := range missing {
		groups[id] = &groupState{id: id, err: fmt.Errorf("%w: scaling group %s does not exist in %s", nodegroup.ErrNotFound, id, l.p.cfg.Region)}
	}
	good := raw[:0] // filtered in place: raw is ours
	for _, sg := range raw {
		if err := checkGroup(sg); err != nil {
			groups[sg.ScalingGroupId] = &groupState{id: sg.ScalingGroupId, err: err}
			continue
		}
		good = append(good, sg)
	}
	if err := l.loadConfigurations(ctx, good); err != nil {
		return nil, nil, err
	}
	if err := l.loadInstanceTypes(ctx); err != nil {
		return nil, nil, err
	}
	order := make([]string, 0, len(good))
	for _, sg := range good {
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
			limit := instanceLimit(max(sg.MaxSize, sg.TotalCapacity, sg.TotalInstanceCount))
			if g.instances, err = l.instances(ctx, g.id, limit); err != nil {
				if groupFault(err) {
					groups[g.id] = &groupState{id: g.id, err: err}
					continue
				}
				return nil, nil, err
			}
		}
		if g.desired > g.live() {
			if g.failure, err = l.lastFailure(ctx, g.id); err != nil {
				if groupFault(err) {
					groups[g.id] = &groupState{id: g.id, err: err}
					continue
				}
				return nil, nil, err
			}
		}
		groups[g.id] = g
		order = append(order, g.id)
	}
	return groups, order, nil
}

// groupFault tells a garbage answer about one group, which makes only that
// group unusable, from a failed call (throttling included), which fails the
// whole load.
func groupFault(err error) bool {
	return errors.Is(err, ErrInvalidResponse) && !errors.Is(err, nodegroup.ErrThrottled)
}

// lcall is call, counted in the loader's LoadStats.
func lcall[Q timeoutSetter, R sdkResponse](ctx context.Context, l *loader, action string, req Q, fn func(Q) (R, error)) (R, error) {
	l.calls++
	return call(ctx, l.p.api, action, req, fn)
}

// listGroups reads the named groups (20 IDs per call) and the groups
// carrying the discovery tags (50 per page), and the named IDs the cloud
// did not return.
func (l *loader) listGroups(ctx context.Context) (out []ess.ScalingGroup, missing []string, err error) {
	cfg := l.p.cfg
	seen := map[string]bool{}
	for batch := range slices.Chunk(cfg.GroupIDs, groupIDsPerCall) {
		req := ess.CreateDescribeScalingGroupsRequest()
		ids := slices.Clone(batch)
		req.ScalingGroupId = &ids
		req.PageSize = requests.NewInteger(pageSize)
		resp, err := lcall(ctx, l, "ess:DescribeScalingGroups", req, l.p.api.ess.DescribeScalingGroups)
		if err != nil {
			return nil, nil, err
		}
		pg := pager{what: "ess:DescribeScalingGroups"}
		gs := resp.ScalingGroups.ScalingGroup
		if _, _, err := pg.page(1, resp.PageNumber, resp.TotalCount, groupIDs(gs)); err != nil {
			return nil, nil, err
		}
		for _, g := range gs {
			if !slices.Contains(batch, g.ScalingGroupId) {
				return nil, nil, fmt.Errorf("ess:DescribeScalingGroups: %w: returned scaling group %s, which was not asked for", ErrInvalidResponse, g.ScalingGroupId)
			}
			if !seen[g.ScalingGroupId] {
				seen[g.ScalingGroupId] = true
				out = append(out, g)
			}
		}
	}
	for _, id := range cfg.GroupIDs {
		if !seen[id] && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(cfg.DiscoveryTags) == 0 {
		return out, missing, nil
	}
	var tags []ess.DescribeScalingGroupsTag
	for _, k := range sortedKeys(cfg.DiscoveryTags) {
		tags = append(tags, ess.DescribeScalingGroupsTag{Key: k, Value: cfg.DiscoveryTags[k]})
	}
	pg := pager{what: "ess:DescribeScalingGroups by tag"}
	for page := 1; ; page++ {
		req := ess.CreateDescribeScalingGroupsRequest()
		req.Tag = &tags
		req.PageSize = requests.NewInteger(pageSize)
		req.PageNumber = requests.NewInteger(page)
		resp, err := lcall(ctx, l, "ess:DescribeScalingGroups", req, l.p.api.ess.DescribeScalingGroups)
		if err != nil {
			return nil, nil, err
		}
		gs := resp.ScalingGroups.ScalingGroup
		fresh, done, err := pg.page(page, resp.PageNumber, resp.TotalCount, groupIDs(gs))
		if err != nil {
			return nil, nil, err
		}
		for i, g := range gs {
			if fresh[i] && !seen[g.ScalingGroupId] {
				seen[g.ScalingGroupId] = true
				out = append(out, g)
			}
		}
		if done {
			return out, missing, nil
		}
	}
}

func groupIDs(gs []ess.ScalingGroup) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ScalingGroupId
	}
	return ids
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
		resp, err := lcall(ctx, l, "ess:DescribeScalingConfigurations", req, l.p.api.ess.DescribeScalingConfigurations)
		if err != nil {
			return err
		}
		for _, sc := range resp.ScalingConfigurations.ScalingConfiguration {
			if !slices.Contains(batch, sc.ScalingConfigurationId) {
				continue // not asked for: nothing of ours
			}
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
		resp, err := lcall(ctx, l, "ecs:DescribeInstanceTypes", req, l.p.api.ecs.DescribeInstanceTypes)
		if err != nil {
			return err
		}
		for _, t := range resp.InstanceTypes.InstanceType {
			if !slices.Contains(batch, t.InstanceTypeId) {
				continue
			}
			if err := checkInstanceType(t); err != nil {
				l.types[t.InstanceTypeId] = instanceType{err: err}
				continue
			}
			l.types[t.InstanceTypeId] = instanceType{cpu: int64(t.CpuCoreCount), memoryGiB: t.MemorySize, gpu: int64(t.GPUAmount), arch: t.CpuArchitecture}
		}
	}
	return nil
}

// instanceLimit is how many instances a group of size n may list: n, and
// slack for launches and removals while it is read.
func instanceLimit(n int) int { return n + 2*pageSize }

// instances reads a group's instances, 50 per page, at most limit.
func (l *loader) instances(ctx context.Context, group string, limit int) ([]instanceState, error) {
	var out []instanceState
	pg := pager{what: "ess:DescribeScalingInstances of " + group, limit: limit}
	for page := 1; ; page++ {
		req := ess.CreateDescribeScalingInstancesRequest()
		req.ScalingGroupId = group
		req.PageSize = requests.NewInteger(pageSize)
		req.PageNumber = requests.NewInteger(page)
		resp, err := lcall(ctx, l, "ess:DescribeScalingInstances", req, l.p.api.ess.DescribeScalingInstances)
		if err != nil {
			return nil, err
		}
		insts := resp.ScalingInstances.ScalingInstance
		ids := make([]string, len(insts))
		for i, in := range insts {
			ids[i] = in.InstanceId
		}
		fresh, done, err := pg.page(page, resp.PageNumber, resp.TotalCount, ids)
		if err != nil {
			return nil, err
		}
		for i, in := range insts {
			if !fresh[i] {
				continue
			}
			if in.ScalingGroupId != "" && in.ScalingGroupId != group {
				return nil, fmt.Errorf("%s: %w: instance %s belongs to scaling group %s", pg.what, ErrInvalidResponse, in.InstanceId, in.ScalingGroupId)
			}
			out = append(out, instanceState{id: in.InstanceId, zone: in.ZoneId, typ: in.InstanceType, state: lifecycle(in.LifecycleState)})
		}
		if done {
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
	resp, err := lcall(ctx, l, "ess:DescribeScalingActivities", req, l.p.api.ess.DescribeScalingActivities)
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
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
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
