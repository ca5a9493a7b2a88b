package asgtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Auto Scaling wire types, with the element names of the 2011-01-01 API.

type xmlTag struct {
	Key               string
	Value             string
	ResourceId        string
	ResourceType      string
	PropagateAtLaunch bool
}

type xmlLTSpec struct {
	LaunchTemplateId   string `xml:",omitempty"`
	LaunchTemplateName string `xml:",omitempty"`
	Version            string `xml:",omitempty"`
}

type xmlInstance struct {
	InstanceId              string
	InstanceType            string
	AvailabilityZone        string
	LifecycleState          string
	HealthStatus            string
	ProtectedFromScaleIn    bool
	LaunchConfigurationName string     `xml:",omitempty"`
	LaunchTemplate          *xmlLTSpec `xml:",omitempty"`
	WeightedCapacity        string     `xml:",omitempty"`
}

type xmlOverride struct {
	InstanceType     string
	WeightedCapacity string `xml:",omitempty"`
}

type xmlMIP struct {
	LaunchTemplate struct {
		LaunchTemplateSpecification xmlLTSpec
		Overrides                   []xmlOverride `xml:"Overrides>member"`
	}
	InstancesDistribution struct {
		OnDemandAllocationStrategy          string
		OnDemandBaseCapacity                int
		OnDemandPercentageAboveBaseCapacity int
		SpotAllocationStrategy              string `xml:",omitempty"`
	}
}

type xmlGroup struct {
	AutoScalingGroupName    string
	AutoScalingGroupARN     string
	MinSize                 int
	MaxSize                 int
	DesiredCapacity         int
	DefaultCooldown         int
	HealthCheckType         string
	HealthCheckGracePeriod  int
	CreatedTime             time.Time
	AvailabilityZones       []string      `xml:"AvailabilityZones>member"`
	LaunchConfigurationName string        `xml:",omitempty"`
	LaunchTemplate          *xmlLTSpec    `xml:",omitempty"`
	MixedInstancesPolicy    *xmlMIP       `xml:",omitempty"`
	Instances               []xmlInstance `xml:"Instances>member"`
	Tags                    []xmlTag      `xml:"Tags>member"`
}

type xmlActivity struct {
	ActivityId           string
	AutoScalingGroupName string
	Description          string
	Cause                string
	StartTime            time.Time
	EndTime              *time.Time `xml:",omitempty"`
	StatusCode           string
	StatusMessage        string `xml:",omitempty"`
	Progress             int
}

type xmlLaunchConfiguration struct {
	LaunchConfigurationName string
	LaunchConfigurationARN  string
	ImageId                 string
	InstanceType            string
	SpotPrice               string `xml:",omitempty"`
	CreatedTime             time.Time
}

type xmlASGInstanceDetail struct {
	InstanceId           string
	InstanceType         string
	AutoScalingGroupName string
	AvailabilityZone     string
	LifecycleState       string
	HealthStatus         string
	ProtectedFromScaleIn bool
	WeightedCapacity     string `xml:",omitempty"`
}

func (s *Server) autoScalingHandlers() map[string]handler {
	return map[string]handler{
		"DescribeAutoScalingGroups":           s.describeGroups,
		"SetDesiredCapacity":                  s.setDesiredCapacity,
		"TerminateInstanceInAutoScalingGroup": s.terminateInstance,
		"DescribeScalingActivities":           s.describeActivities,
		"DescribeLaunchConfigurations":        s.describeLaunchConfigurations,
		"DescribeAutoScalingInstances":        s.describeASGInstances,
	}
}

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:123456789012:autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/%s", s.cfg.Region, name)
}

func (s *Server) groupXML(g *group) xmlGroup {
	x := xmlGroup{AutoScalingGroupName: g.spec.Name, AutoScalingGroupARN: s.arn(g.spec.Name), MinSize: g.spec.Min, MaxSize: g.spec.Max,
		DesiredCapacity: g.desired, DefaultCooldown: g.spec.DefaultCooldown, HealthCheckType: "EC2", HealthCheckGracePeriod: g.spec.HealthCheckPeriod,
		CreatedTime: g.createdAt, AvailabilityZones: g.spec.Zones, LaunchConfigurationName: g.spec.LaunchConfig}
	var lt *xmlLTSpec
	if r := g.spec.LaunchTemplate; r != nil {
		lt = s.ltSpec(*r)
		x.LaunchTemplate = lt
	}
	if m := g.spec.MixedInstances; m != nil {
		p := &xmlMIP{}
		lt = s.ltSpec(m.LaunchTemplate)
		p.LaunchTemplate.LaunchTemplateSpecification = *lt
		for _, o := range m.Overrides {
			p.LaunchTemplate.Overrides = append(p.LaunchTemplate.Overrides, xmlOverride(o))
		}
		p.InstancesDistribution.OnDemandAllocationStrategy = "prioritized"
		p.InstancesDistribution.OnDemandBaseCapacity = m.OnDemandBaseCapacity
		p.InstancesDistribution.OnDemandPercentageAboveBaseCapacity = m.OnDemandPercentageAboveBaseCapacity
		p.InstancesDistribution.SpotAllocationStrategy = m.SpotAllocationStrategy
		x.MixedInstancesPolicy = p
	}
	x.Instances = make([]xmlInstance, len(g.insts))
	for i, in := range g.insts {
		x.Instances[i] = xmlInstance{InstanceId: in.ID, InstanceType: in.InstanceType, AvailabilityZone: in.Zone,
			LifecycleState: in.LifecycleState, HealthStatus: "Healthy", LaunchConfigurationName: g.spec.LaunchConfig,
			LaunchTemplate: lt, WeightedCapacity: in.Weight}
	}
	for _, k := range sortedKeys(g.spec.Tags) {
		x.Tags = append(x.Tags, xmlTag{Key: k, Value: g.spec.Tags[k], ResourceId: g.spec.Name, ResourceType: "auto-scaling-group"})
	}
	return x
}

// ltSpec is a reference as AWS echoes it: both ID and name, version as given.
func (s *Server) ltSpec(r LaunchTemplateRef) *xmlLTSpec {
	x := &xmlLTSpec{LaunchTemplateId: r.ID, LaunchTemplateName: r.Name, Version: r.Version}
	if t, _, _ := s.resolveLT(r); t != nil {
		x.LaunchTemplateId, x.LaunchTemplateName = t.id, t.name
	}
	if x.Version == "" {
		x.Version = "$Default"
	}
	return x
}

// filter is one entry of a request's Filters list.
type filter struct {
	name   string
	values []string
}

// filterGroup reports whether g passes the filters as AWS applies them:
// the values of one filter are OR'ed, different filters are AND'ed (two
// tag-key filters require both keys).
func filterGroup(g *group, filters []filter) bool {
	for _, f := range filters {
		if !slices.ContainsFunc(f.values, func(v string) bool { return filterMatch(g, f.name, v) }) {
			return false
		}
	}
	return true
}

func filterMatch(g *group, name, v string) bool {
	switch {
	case name == "tag-key":
		_, ok := g.spec.Tags[v]
		return ok
	case name == "tag-value":
		for _, tv := range g.spec.Tags {
			if tv == v {
				return true
			}
		}
		return false
	case strings.HasPrefix(name, "tag:"):
		tv, has := g.spec.Tags[strings.TrimPrefix(name, "tag:")]
		return has && tv == v
	}
	return false
}

func (s *Server) describeGroups(r request) (any, error) {
	maxRecords, err := r.intParam("MaxRecords", 50)
	if err != nil {
		return nil, err
	}
	if maxRecords < 1 || maxRecords > 100 {
		return nil, validation("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100", maxRecords)
	}
	names := r.list("AutoScalingGroupNames.member")
	if len(names) > max(50, maxRecords) {
		return nil, validation("The number of AutoScalingGroupNames (%d) exceeds the maximum (%d); raise MaxRecords.", len(names), max(50, maxRecords))
	}
	var filters []filter
	for i := 1; ; i++ {
		p := "Filters.member." + strconv.Itoa(i)
		name := r.get(p + ".Name")
		if name == "" {
			break
		}
		if name != "tag-key" && name != "tag-value" && !strings.HasPrefix(name, "tag:") {
			return nil, validation("Filter name '%s' is not supported", name)
		}
		filters = append(filters, filter{name, r.list(p + ".Values.member")})
	}
	var match []*group
	for _, name := range sortedKeys(s.groups) {
		g := s.groups[name]
		if (len(names) == 0 || slices.Contains(names, name)) && filterGroup(g, filters) {
			match = append(match, g)
		}
	}
	from, to, next, err := page(len(match), r.get("NextToken"), maxRecords)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups    []xmlGroup `xml:"AutoScalingGroups>member"`
		NextToken string     `xml:",omitempty"`
	}{NextToken: next}
	out.Groups = make([]xmlGroup, 0, to-from)
	for _, g := range match[from:to] {
		out.Groups = append(out.Groups, s.groupXML(g))
	}
	return out, nil
}

func (s *Server) group(name string) (*group, error) {
	g, ok := s.groups[name]
	if !ok {
		return nil, validation("AutoScalingGroup name not found - AutoScalingGroup '%s' not found", name)
	}
	return g, nil
}

func (s *Server) setDesiredCapacity(r request) (any, error) {
	g, err := s.group(r.get("AutoScalingGroupName"))
	if err != nil {
		return nil, err
	}
	if r.get("DesiredCapacity") == "" {
		return nil, validation("1 validation error detected: Value null at 'desiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	d, err := r.intParam("DesiredCapacity", 0)
	if err != nil {
		return nil, err
	}
	if d > g.spec.Max {
		return nil, validation("New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", d, g.spec.Max)
	}
	if d < g.spec.Min {
		return nil, validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", d, g.spec.Min)
	}
	if d != g.desired {
		g.lastFail = time.Time{}
	}
	g.desired = d
	s.reconcile(g)
	return nil, nil // no result element: the action's output shape is empty
}

func activityXML(group string, a Activity) xmlActivity {
	x := xmlActivity{ActivityId: a.ID, AutoScalingGroupName: group, Description: a.Description, Cause: a.Cause,
		StartTime: a.Start, StatusCode: a.StatusCode, StatusMessage: a.StatusMessage}
	if !a.End.IsZero() {
		end := a.End
		x.EndTime = &end
		x.Progress = 100
	}
	return x
}

func (s *Server) terminateInstance(r request) (any, error) {
	id := r.get("InstanceId")
	decrement := r.get("ShouldDecrementDesiredCapacity")
	if decrement == "" {
		return nil, validation("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	for _, name := range sortedKeys(s.groups) {
		g := s.groups[name]
		for _, in := range g.insts {
			if in.ID != id {
				continue
			}
			if in.LifecycleState == "Terminating" {
				// Already on its way out (a repeated call): nothing changes.
				var a Activity
				for _, x := range g.acts {
					if x.Description == "Terminating EC2 instance: "+id {
						a = x
					}
				}
				return struct{ Activity xmlActivity }{activityXML(name, a)}, nil
			}
			cause := "an instance was taken out of service in response to a user request."
			if decrement == "true" {
				// The desired capacity drops by the instance's weight.
				w := weightOf(in)
				if g.desired-w < g.spec.Min {
					return nil, validation("Currently, desiredSize equals minSize (%d). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.", g.spec.Min)
				}
				g.desired -= w
				cause = fmt.Sprintf("an instance was taken out of service in response to a user request, shrinking the capacity from %d to %d.", g.desired+w, g.desired)
			}
			a := s.terminate(g, in, cause)
			s.reconcile(g)
			return struct{ Activity xmlActivity }{activityXML(name, a)}, nil
		}
	}
	return nil, validation("Instance Id not found - No managed instance found for instance ID: %s", id)
}

func (s *Server) describeActivities(r request) (any, error) {
	maxRecords, err := r.intParam("MaxRecords", 100)
	if err != nil {
		return nil, err
	}
	if maxRecords < 1 || maxRecords > 100 {
		return nil, validation("MaxRecords must be between 1 and 100")
	}
	type named struct {
		group string
		a     Activity
	}
	var acts []named
	if name := r.get("AutoScalingGroupName"); name != "" {
		if g, ok := s.groups[name]; ok {
			for i := len(g.acts) - 1; i >= 0; i-- {
				acts = append(acts, named{name, g.acts[i]})
			}
		}
	} else {
		for _, name := range sortedKeys(s.groups) {
			g := s.groups[name]
			for i := len(g.acts) - 1; i >= 0; i-- {
				acts = append(acts, named{name, g.acts[i]})
			}
		}
		slices.SortStableFunc(acts, func(a, b named) int { return b.a.Start.Compare(a.a.Start) })
	}
	from, to, next, err := page(len(acts), r.get("NextToken"), maxRecords)
	if err != nil {
		return nil, err
	}
	out := struct {
		Activities []xmlActivity `xml:"Activities>member"`
		NextToken  string        `xml:",omitempty"`
	}{NextToken: next}
	for _, a := range acts[from:to] {
		out.Activities = append(out.Activities, activityXML(a.group, a.a))
	}
	return out, nil
}

func (s *Server) describeLaunchConfigurations(r request) (any, error) {
	maxRecords, err := r.intParam("MaxRecords", 50)
	if err != nil {
		return nil, err
	}
	if maxRecords < 1 || maxRecords > 100 {
		return nil, validation("MaxRecords must be between 1 and 100")
	}
	names := r.list("LaunchConfigurationNames.member")
	var match []LaunchConfiguration
	for _, n := range sortedKeys(s.lcs) {
		if len(names) == 0 || slices.Contains(names, n) {
			match = append(match, s.lcs[n])
		}
	}
	from, to, next, err := page(len(match), r.get("NextToken"), maxRecords)
	if err != nil {
		return nil, err
	}
	out := struct {
		LCs       []xmlLaunchConfiguration `xml:"LaunchConfigurations>member"`
		NextToken string                   `xml:",omitempty"`
	}{NextToken: next}
	for _, lc := range match[from:to] {
		out.LCs = append(out.LCs, xmlLaunchConfiguration{LaunchConfigurationName: lc.Name, ImageId: "ami-00000000000000001",
			LaunchConfigurationARN: fmt.Sprintf("arn:aws:autoscaling:%s:123456789012:launchConfiguration:0:launchConfigurationName/%s", s.cfg.Region, lc.Name),
			InstanceType:           lc.InstanceType, SpotPrice: lc.SpotPrice, CreatedTime: s.cfg.Start})
	}
	return out, nil
}

func (s *Server) describeASGInstances(r request) (any, error) {
	maxRecords, err := r.intParam("MaxRecords", 50)
	if err != nil {
		return nil, err
	}
	if maxRecords < 1 || maxRecords > 50 {
		return nil, validation("MaxRecords must be between 1 and 50")
	}
	ids := r.list("InstanceIds.member")
	var match []xmlASGInstanceDetail
	for _, name := range sortedKeys(s.groups) {
		for _, in := range s.groups[name].insts {
			if len(ids) == 0 || slices.Contains(ids, in.ID) {
				match = append(match, xmlASGInstanceDetail{InstanceId: in.ID, InstanceType: in.InstanceType, AutoScalingGroupName: name,
					AvailabilityZone: in.Zone, LifecycleState: in.LifecycleState, HealthStatus: "HEALTHY", WeightedCapacity: in.Weight})
			}
		}
	}
	from, to, next, err := page(len(match), r.get("NextToken"), maxRecords)
	if err != nil {
		return nil, err
	}
	return struct {
		Instances []xmlASGInstanceDetail `xml:"AutoScalingInstances>member"`
		NextToken string                 `xml:",omitempty"`
	}{match[from:to], next}, nil
}
