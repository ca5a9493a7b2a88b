package esstest

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// API limits, as documented for ESS and ECS.
const (
	MaxPageSize           = 50 // DescribeScalingGroups/Configurations/Instances/Activities/Rules
	MaxGroupIDs           = 20 // ScalingGroupId.N of DescribeScalingGroups
	MaxConfigurationIDs   = 10 // ScalingConfigurationId.N of DescribeScalingConfigurations
	MaxInstanceIDs        = 20 // InstanceId.N of DescribeScalingInstances
	MaxRemoveInstances    = 20 // InstanceId.N of RemoveInstances
	MaxInstanceTypeFilter = 10 // InstanceTypes.N of ecs:DescribeInstanceTypes
)

type handler func(s *Server, p params) (map[string]any, *apiError)

var handlers = map[string]handler{
	"ess:DescribeScalingGroups":         (*Server).describeScalingGroups,
	"ess:DescribeScalingConfigurations": (*Server).describeScalingConfigurations,
	"ess:DescribeScalingInstances":      (*Server).describeScalingInstances,
	"ess:DescribeScalingActivities":     (*Server).describeScalingActivities,
	"ess:ScaleWithAdjustment":           (*Server).scaleWithAdjustment,
	"ess:RemoveInstances":               (*Server).removeInstances,
	"ess:CreateScalingRule":             (*Server).createScalingRule,
	"ess:DescribeScalingRules":          (*Server).describeScalingRules,
	"ess:ModifyScalingRule":             (*Server).modifyScalingRule,
	"ess:ExecuteScalingRule":            (*Server).executeScalingRule,
	"ecs:DescribeInstanceTypes":         (*Server).describeInstanceTypes,
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

func intParam(p params, name string, def, lo, hi int) (int, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errf(400, "InvalidParameter", "The specified parameter %q is not valid (%q, want %d..%d).", name, v, lo, hi)
	}
	return n, nil
}

// page cuts items to the requested page and fills the pagination fields.
func page[T any](p params, items []T, body map[string]any) ([]T, *apiError) {
	num, err := intParam(p, "PageNumber", 1, 1, 1<<30)
	if err != nil {
		return nil, err
	}
	size, err := intParam(p, "PageSize", 10, 1, MaxPageSize)
	if err != nil {
		return nil, err
	}
	body["PageNumber"], body["PageSize"], body["TotalCount"] = num, size, len(items)
	from := min((num-1)*size, len(items))
	return items[from:min(from+size, len(items))], nil
}

func tagList(m map[string]string) map[string]any {
	tags := []map[string]any{}
	for _, k := range sortedKeys(m) {
		tags = append(tags, map[string]any{"Key": k, "Value": m[k]})
	}
	return map[string]any{"Tag": tags}
}

func (s *Server) group(p params) (*group, *apiError) {
	id := p["ScalingGroupId"]
	if id == "" {
		return nil, errf(400, "MissingParameter", "The input parameter \"ScalingGroupId\" that is mandatory for processing this request is not supplied.")
	}
	g := s.groups[id]
	if g == nil {
		return nil, errf(404, "InvalidScalingGroupId.NotFound", "The specified scaling group does not exist: %s.", id)
	}
	return g, nil
}

func (s *Server) describeScalingGroups(p params) (map[string]any, *apiError) {
	ids := p.list("ScalingGroupId")
	if len(ids) > MaxGroupIDs {
		return nil, errf(400, "InvalidParameter", "At most %d ScalingGroupId values are allowed.", MaxGroupIDs)
	}
	var filters [][2]string
	for i := 1; ; i++ {
		k, ok := p[fmt.Sprintf("Tag.%d.Key", i)]
		if !ok {
			break
		}
		filters = append(filters, [2]string{k, p[fmt.Sprintf("Tag.%d.Value", i)]})
	}
	var match []*group
	for _, id := range s.order {
		g := s.groups[id]
		if len(ids) > 0 && !slices.Contains(ids, id) {
			continue
		}
		if n := p["ScalingGroupName"]; n != "" && g.Name != n {
			continue
		}
		ok := true
		for _, f := range filters {
			v, has := g.Tags[f[0]]
			if !has || (f[1] != "" && v != f[1]) {
				ok = false
			}
		}
		if ok {
			match = append(match, g)
		}
	}
	body := map[string]any{}
	match, err := page(p, match, body)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, g := range match {
		var pending, removing, active int
		for _, in := range g.insts {
			switch in.State {
			case StatePending:
				pending++
			case StateRemoving:
				removing++
			default:
				active++
			}
		}
		out = append(out, map[string]any{
			"ScalingGroupId": g.ID, "ScalingGroupName": g.Name, "RegionId": s.cfg.Region,
			"MinSize": g.MinSize, "MaxSize": g.MaxSize, "DesiredCapacity": g.desired, "EnableDesiredCapacity": true,
			"ActiveScalingConfigurationId": g.Configuration.ID, "LifecycleState": "Active",
			"TotalCapacity": len(g.insts), "ActiveCapacity": active, "PendingCapacity": pending, "RemovingCapacity": removing,
			"TotalInstanceCount": len(g.insts), "Tags": tagList(g.Tags),
		})
	}
	body["ScalingGroups"] = map[string]any{"ScalingGroup": out}
	return body, nil
}

func (s *Server) describeScalingConfigurations(p params) (map[string]any, *apiError) {
	ids := p.list("ScalingConfigurationId")
	if len(ids) > MaxConfigurationIDs {
		return nil, errf(400, "InvalidParameter", "At most %d ScalingConfigurationId values are allowed.", MaxConfigurationIDs)
	}
	var match []*group
	for _, id := range s.order {
		g := s.groups[id]
		if gid := p["ScalingGroupId"]; gid != "" && gid != g.ID {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, g.Configuration.ID) {
			continue
		}
		match = append(match, g)
	}
	body := map[string]any{}
	match, err := page(p, match, body)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, g := range match {
		c := g.Configuration
		first := ""
		if len(c.InstanceTypes) > 0 {
			first = c.InstanceTypes[0]
		}
		out = append(out, map[string]any{
			"ScalingConfigurationId": c.ID, "ScalingConfigurationName": c.ID, "ScalingGroupId": g.ID, "LifecycleState": "Active",
			"InstanceType": first, "InstanceTypes": map[string]any{"InstanceType": c.InstanceTypes},
			"SpotStrategy": c.SpotStrategy, "SystemDiskSize": c.SystemDiskSize, "ZoneId": c.ZoneID, "Tags": tagList(c.Tags),
		})
	}
	body["ScalingConfigurations"] = map[string]any{"ScalingConfiguration": out}
	return body, nil
}

func (s *Server) describeScalingInstances(p params) (map[string]any, *apiError) {
	ids := p.list("InstanceId")
	if len(ids) > MaxInstanceIDs {
		return nil, errf(400, "InvalidParameter", "At most %d InstanceId values are allowed.", MaxInstanceIDs)
	}
	var groups []*group
	if p["ScalingGroupId"] != "" {
		g, err := s.group(p)
		if err != nil {
			return nil, err
		}
		groups = []*group{g}
	} else {
		for _, id := range s.order {
			groups = append(groups, s.groups[id])
		}
	}
	var match []*instance
	for _, g := range groups {
		for _, in := range g.insts {
			if len(ids) > 0 && !slices.Contains(ids, in.ID) {
				continue
			}
			if ls := p["LifecycleState"]; ls != "" && ls != in.State {
				continue
			}
			match = append(match, in)
		}
	}
	body := map[string]any{}
	match, err := page(p, match, body)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, in := range match {
		out = append(out, map[string]any{
			"InstanceId": in.ID, "ScalingGroupId": in.GroupID, "ScalingConfigurationId": s.groups[in.GroupID].Configuration.ID,
			"LifecycleState": in.State, "HealthStatus": "Healthy", "ZoneId": in.Zone, "InstanceType": in.InstanceType,
			"CreationType": "AutoCreated", "CreationTime": isoTime(in.Created), "CreatedTime": isoTime(in.Created),
		})
	}
	body["ScalingInstances"] = map[string]any{"ScalingInstance": out}
	return body, nil
}

func (s *Server) describeScalingActivities(p params) (map[string]any, *apiError) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	var match []*Activity
	for i := len(s.activities) - 1; i >= 0; i-- {
		a := s.activities[i]
		if a.GroupID == g.ID && (p["StatusCode"] == "" || p["StatusCode"] == a.StatusCode) {
			match = append(match, a)
		}
	}
	body := map[string]any{}
	match, err = page(p, match, body)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range match {
		out = append(out, map[string]any{
			"ScalingActivityId": a.ID, "ScalingGroupId": a.GroupID, "StatusCode": a.StatusCode, "Progress": 100,
			"ErrorCode": a.ErrorCode, "ErrorMessage": a.ErrorMessage, "StatusMessage": a.ErrorMessage, "Cause": a.Cause,
			"Description": a.Description,
			"StartTime":   isoTime(a.Start), "EndTime": isoTime(a.Start),
		})
	}
	body["ScalingActivities"] = map[string]any{"ScalingActivity": out}
	return body, nil
}

// adjust computes the new total capacity of an adjustment.
func adjust(g *group, typ string, value int) (int, *apiError) {
	switch typ {
	case "TotalCapacity":
		return value, nil
	case "QuantityChangeInCapacity":
		return g.desired + value, nil
	case "PercentChangeInCapacity":
		return g.desired + g.desired*value/100, nil
	}
	return 0, errf(400, "InvalidParameter", "The specified AdjustmentType %q is not valid.", typ)
}

func (s *Server) scaleWithAdjustment(p params) (map[string]any, *apiError) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	v, err := intParam(p, "AdjustmentValue", 0, -1<<30, 1<<30)
	if err != nil {
		return nil, err
	}
	total, err := adjust(g, p["AdjustmentType"], v)
	if err != nil {
		return nil, err
	}
	if total > g.MaxSize {
		return nil, errf(400, "IncorrectCapacity.MaxSize", "To execute the specified scaling rule, the total capacity will exceed the MaxSize (%d) of the scaling group.", g.MaxSize)
	}
	if total < g.MinSize {
		return nil, errf(400, "IncorrectCapacity.MinSize", "To execute the specified scaling rule, the total capacity will be less than the MinSize (%d) of the scaling group.", g.MinSize)
	}
	a := s.setDesired(g, total, fmt.Sprintf("A user requests to execute scaling rule, changing the Total Capacity to %d.", total))
	return map[string]any{"ScalingActivityId": a.ID, "ActivityType": "CapacityChange"}, nil
}

func (s *Server) removeInstances(p params) (map[string]any, *apiError) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	ids := p.list("InstanceId")
	if len(ids) == 0 || len(ids) > MaxRemoveInstances {
		return nil, errf(400, "InvalidParameter", "InstanceId must name 1 to %d instances.", MaxRemoveInstances)
	}
	decrease := p["DecreaseDesiredCapacity"] != "false"
	var victims []*instance
	for _, id := range ids {
		i := slices.IndexFunc(g.insts, func(in *instance) bool { return in.ID == id })
		if i < 0 {
			if p["IgnoreInvalidInstance"] == "true" {
				continue
			}
			return nil, errf(404, "InvalidInstanceId.NotFound", "The specified instance %s does not exist in scaling group %s.", id, g.ID)
		}
		if g.insts[i].State == StateRemoving {
			return nil, errf(400, "IncorrectInstanceStatus", "The current status of instance %s does not support this action.", id)
		}
		victims = append(victims, g.insts[i])
	}
	if decrease && g.desired-len(victims) < g.MinSize {
		return nil, errf(400, "IncorrectCapacity.MinSize", "To remove the specified instances, the total capacity will be less than the MinSize (%d) of the scaling group.", g.MinSize)
	}
	for _, in := range victims {
		s.remove(in)
	}
	if decrease {
		g.desired -= len(victims)
	}
	a := &Activity{ID: s.nextID("asa"), GroupID: g.ID, StatusCode: "Successful", Start: s.now,
		Cause:       fmt.Sprintf("A user removes %d instance(s): %s.", len(victims), strings.Join(ids, ", ")),
		Description: fmt.Sprintf("Remove %q ECS instance(s)", fmt.Sprint(len(victims)))}
	s.activities = append(s.activities, a)
	return map[string]any{"ScalingActivityId": a.ID}, nil
}

func (s *Server) createScalingRule(p params) (map[string]any, *apiError) {
	g, err := s.group(p)
	if err != nil {
		return nil, err
	}
	name := p["ScalingRuleName"]
	for _, r := range s.rules {
		if name != "" && r.group == g.ID && r.name == name {
			return nil, errf(400, "ScalingRuleName.Duplicate", "The specified value of parameter \"ScalingRuleName\" is duplicated.")
		}
	}
	v, err := intParam(p, "AdjustmentValue", 0, -1<<30, 1<<30)
	if err != nil {
		return nil, err
	}
	id := s.nextID("asr")
	if name == "" {
		name = id
	}
	r := &rule{id: id, ari: fmt.Sprintf("ari:acs:ess:%s:1234567890:scalingrule/%s", s.cfg.Region, id), name: name, group: g.ID, adjType: p["AdjustmentType"], value: v}
	s.rules[id] = r
	return map[string]any{"ScalingRuleId": r.id, "ScalingRuleAri": r.ari}, nil
}

func (s *Server) describeScalingRules(p params) (map[string]any, *apiError) {
	names, ids := p.list("ScalingRuleName"), p.list("ScalingRuleId")
	var match []*rule
	for _, r := range s.rules {
		if (p["ScalingGroupId"] != "" && r.group != p["ScalingGroupId"]) ||
			(len(names) > 0 && !slices.Contains(names, r.name)) || (len(ids) > 0 && !slices.Contains(ids, r.id)) {
			continue
		}
		match = append(match, r)
	}
	sort.Slice(match, func(i, j int) bool { return match[i].id < match[j].id })
	body := map[string]any{}
	match, err := page(p, match, body)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, r := range match {
		out = append(out, map[string]any{"ScalingRuleId": r.id, "ScalingRuleAri": r.ari, "ScalingRuleName": r.name,
			"ScalingGroupId": r.group, "AdjustmentType": r.adjType, "AdjustmentValue": r.value, "ScalingRuleType": "SimpleScalingRule"})
	}
	body["ScalingRules"] = map[string]any{"ScalingRule": out}
	return body, nil
}

func (s *Server) modifyScalingRule(p params) (map[string]any, *apiError) {
	r := s.rules[p["ScalingRuleId"]]
	if r == nil {
		return nil, errf(404, "InvalidScalingRuleId.NotFound", "The specified scaling rule %q does not exist.", p["ScalingRuleId"])
	}
	if t := p["AdjustmentType"]; t != "" {
		r.adjType = t
	}
	if _, ok := p["AdjustmentValue"]; ok {
		v, err := intParam(p, "AdjustmentValue", 0, -1<<30, 1<<30)
		if err != nil {
			return nil, err
		}
		r.value = v
	}
	return map[string]any{}, nil
}

func (s *Server) executeScalingRule(p params) (map[string]any, *apiError) {
	var r *rule
	for _, c := range s.rules {
		if c.ari == p["ScalingRuleAri"] {
			r = c
		}
	}
	if r == nil {
		return nil, errf(404, "InvalidScalingRuleAri.NotFound", "The specified scaling rule %q does not exist.", p["ScalingRuleAri"])
	}
	g := s.groups[r.group]
	total, err := adjust(g, r.adjType, r.value)
	if err != nil {
		return nil, err
	}
	// A rule's result is clamped to the group's bounds.
	total = min(max(total, g.MinSize), g.MaxSize)
	a := s.setDesired(g, total, fmt.Sprintf("A user requests to execute scaling rule %q, changing the Total Capacity to %d.", r.id, total))
	return map[string]any{"ScalingActivityId": a.ID}, nil
}

func (s *Server) describeInstanceTypes(p params) (map[string]any, *apiError) {
	filter := p.list("InstanceTypes")
	if len(filter) > MaxInstanceTypeFilter {
		return nil, errf(400, "InvalidParameter", "At most %d InstanceTypes values are allowed.", MaxInstanceTypeFilter)
	}
	maxResults, err := intParam(p, "MaxResults", 100, 1, 1600)
	if err != nil {
		return nil, err
	}
	var ids []string
	for id := range s.types {
		if len(filter) == 0 || slices.Contains(filter, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	start := 0
	if tok := p["NextToken"]; tok != "" {
		start = sort.SearchStrings(ids, tok)
	}
	end := min(start+maxResults, len(ids))
	out := []map[string]any{}
	for _, id := range ids[start:end] {
		t := s.types[id]
		family := id
		if i := strings.LastIndex(id, "."); i > 0 {
			family = id[:i]
		}
		out = append(out, map[string]any{"InstanceTypeId": t.ID, "CpuCoreCount": t.CPU, "MemorySize": t.MemoryGiB,
			"GPUAmount": t.GPU, "CpuArchitecture": t.Arch, "InstanceTypeFamily": family})
	}
	next := ""
	if end < len(ids) {
		next = ids[end]
	}
	return map[string]any{"NextToken": next, "InstanceTypes": map[string]any{"InstanceType": out}}, nil
}
