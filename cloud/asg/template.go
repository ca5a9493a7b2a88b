package asg

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kscale/kscale/nodegroup"
)

// WeightedTemplate is the node one instance type of a group would add, with
// the capacity units it counts for (a mixed-instances override's
// WeightedCapacity; 1 otherwise).
type WeightedTemplate struct {
	Weight   float64
	Template nodegroup.Template
}

// option is one instance type a launch may pick.
type option struct {
	instanceType string
	weight       float64
}

// Template is the node a scale-up would add. For a mixed-instances group it
// is built from the first override — the type Auto Scaling tries first, and
// cluster-autoscaler's choice — while Templates lists every override with
// its weight.
func (g *Group) Template(ctx context.Context) (*nodegroup.Template, error) {
	ts, err := g.Templates(ctx)
	if err != nil {
		return nil, err
	}
	return &ts[0].Template, nil
}

// Templates is one template per instance type the group may launch, in the
// group's order (every mixed-instances override, with its weight).
//
// Sources: the launch template version (DescribeLaunchTemplateVersions) or
// launch configuration (DescribeLaunchConfigurations) for the instance type,
// spot market and root volume; DescribeInstanceTypes for vCPUs, memory,
// architecture, GPUs and the ENI-based max pods; the group's
// k8s.io/cluster-autoscaler/node-template/{label,taint,resources}/… tags on
// top. Allocatable subtracts Config.Reservations. Overrides given only as
// InstanceRequirements (attribute-based selection) are skipped.
func (g *Group) Templates(ctx context.Context) ([]WeightedTemplate, error) {
	st := g.state()
	launch, opts, spot, err := g.p.launchOptions(ctx, st)
	if err != nil {
		return nil, g.fail("Template", err)
	}
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.instanceType
	}
	infos, err := g.p.instanceTypes(ctx, names)
	if err != nil {
		return nil, g.fail("Template", err)
	}
	out := make([]WeightedTemplate, 0, len(opts))
	for _, o := range opts {
		t, err := g.p.buildTemplate(st, o.instanceType, infos[o.instanceType], launch, spot)
		if err != nil {
			return nil, g.fail("Template", err)
		}
		out = append(out, WeightedTemplate{Weight: o.weight, Template: *t})
	}
	return out, nil
}

// launchOptions resolves the instance types a launch may pick, and whether
// it buys spot capacity.
func (p *Provider) launchOptions(ctx context.Context, st *groupState) (launchData, []option, bool, error) {
	switch {
	case st.mixed != nil && st.mixed.LaunchTemplate != nil:
		var launch launchData
		if spec := st.mixed.LaunchTemplate.LaunchTemplateSpecification; spec != nil {
			var err error
			if launch, err = p.launchTemplate(ctx, spec); err != nil {
				return launchData{}, nil, false, err
			}
		}
		var opts []option
		for _, o := range st.mixed.LaunchTemplate.Overrides {
			if aws.ToString(o.InstanceType) == "" {
				continue
			}
			w, err := parseWeight(aws.ToString(o.WeightedCapacity))
			if err != nil {
				return launchData{}, nil, false, fmt.Errorf("override %s: %w", aws.ToString(o.InstanceType), err)
			}
			opts = append(opts, option{aws.ToString(o.InstanceType), float64(w)})
		}
		if len(opts) == 0 && launch.instanceType != "" {
			opts = []option{{launch.instanceType, 1}}
		}
		if len(opts) == 0 {
			return launchData{}, nil, false, fmt.Errorf("mixed-instances policy names no instance type")
		}
		spot := launch.spot
		if d := st.mixed.InstancesDistribution; d != nil && d.OnDemandPercentageAboveBaseCapacity != nil {
			spot = aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) == 0
		}
		return launch, opts, spot, nil
	case st.launchTmpl != nil:
		launch, err := p.launchTemplate(ctx, st.launchTmpl)
		if err != nil {
			return launchData{}, nil, false, err
		}
		if launch.instanceType == "" {
			return launchData{}, nil, false, fmt.Errorf("launch template names no instance type")
		}
		return launch, []option{{launch.instanceType, 1}}, launch.spot, nil
	case st.launchConfig != "":
		launch, err := p.launchConfiguration(ctx, st.launchConfig)
		if err != nil {
			return launchData{}, nil, false, err
		}
		return launch, []option{{launch.instanceType, 1}}, launch.spot, nil
	}
	return launchData{}, nil, false, fmt.Errorf("group has no launch template, launch configuration or mixed-instances policy")
}

// region is the configured region, or the zone less its letter suffix.
func (p *Provider) region(zone string) string {
	if p.cfg.Region != "" {
		return p.cfg.Region
	}
	r := strings.TrimRightFunc(zone, unicode.IsLetter)
	if r == "" || r == zone {
		return zone
	}
	return r
}

func (p *Provider) buildTemplate(st *groupState, instanceType string, ti typeInfo, launch launchData, spot bool) (*nodegroup.Template, error) {
	c := nodegroup.Resources{MilliCPU: ti.vcpus * 1000, Memory: ti.memoryMiB << 20, Pods: ti.maxPods}
	switch {
	case launch.rootVolumeGB > 0:
		c.EphemeralStorage = launch.rootVolumeGB << 30
	case ti.localStorageGB > 0:
		c.EphemeralStorage = ti.localStorageGB * 1e9
	}
	for k, v := range ti.gpus {
		if c.Extended == nil {
			c.Extended = map[string]int64{}
		}
		c.Extended[k] = v
	}
	zone := ""
	if len(st.zones) > 0 {
		zone = st.zones[0]
	}
	capacityType := nodegroup.CapacityOnDemand
	if spot {
		capacityType = nodegroup.CapacitySpot
	}
	t := &nodegroup.Template{InstanceType: instanceType, Labels: map[string]string{
		nodegroup.LabelZone: zone, nodegroup.LabelRegion: p.region(zone), nodegroup.LabelInstanceType: instanceType,
		nodegroup.LabelArch: ti.arch, nodegroup.LabelOS: "linux", nodegroup.LabelCapacityType: capacityType,
	}}
	if err := nodegroup.ApplyTemplateTags(st.tags, t.Labels, &t.Taints, &c); err != nil {
		return nil, err
	}
	t.Capacity = c
	t.Allocatable = nodegroup.Allocatable(c, p.cfg.Reservations(c))
	return t, nil
}

// Options reads the group's k8s.io/cluster-autoscaler/node-template/autoscaling-options/*
// tags (scaledownutilizationthreshold, scaledowngpuutilizationthreshold,
// scaledownunneededtime, scaledownunreadytime, ignoredaemonsetsutilization);
// a malformed value is an error naming the tag.
func (g *Group) Options(ctx context.Context) (nodegroup.Options, error) {
	st := g.state()
	o, err := nodegroup.OptionsFromTags(st.tags)
	if err != nil {
		return nodegroup.Options{}, g.fail("Options", err)
	}
	return o, nil
}
