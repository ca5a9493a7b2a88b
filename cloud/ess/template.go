package ess

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kscale/kscale/nodegroup"
)

// Tag key prefixes, the same as cluster-autoscaler's AWS provider uses on
// Auto Scaling Groups, read here from the scaling group's and the active
// scaling configuration's tags (the configuration's win on conflict).
const (
	TagLabelPrefix    = nodegroup.TagLabelPrefix
	TagTaintPrefix    = nodegroup.TagTaintPrefix    // value "<value>:<Effect>"
	TagResourcePrefix = nodegroup.TagResourcePrefix // value a quantity
	TagOptionPrefix   = nodegroup.TagOptionPrefix
)

// instanceType is what the template needs from ecs:DescribeInstanceTypes.
type instanceType struct {
	cpu       int64 // vCPUs
	memoryGiB float64
	gpu       int64
	arch      string // CpuArchitecture: X86, ARM
	err       error  // why the reported type is unusable
}

// configuration is what the template needs from a scaling configuration.
type configuration struct {
	id        string
	types     []string
	tags      map[string]string
	spot      bool
	diskGiB   int64
	zone      string
	fetchedAt time.Time
}

func buildTemplate(c Config, cfg *configuration, types map[string]instanceType, tags map[string]string, zone string) (*nodegroup.Template, error) {
	if len(cfg.types) == 0 {
		return nil, fmt.Errorf("scaling configuration %s names no instance type", cfg.id)
	}
	if cfg.diskGiB < 0 || cfg.diskGiB > maxSystemDiskGiB {
		return nil, fmt.Errorf("%w: scaling configuration %s: SystemDiskSize %d GiB is outside [0, %d]", ErrInvalidResponse, cfg.id, cfg.diskGiB, maxSystemDiskGiB)
	}
	var capacity nodegroup.Resources
	arch := "amd64"
	for i, name := range cfg.types {
		t, ok := types[name]
		if !ok {
			return nil, fmt.Errorf("instance type %s of scaling configuration %s is unknown to ecs:DescribeInstanceTypes", name, cfg.id)
		}
		if t.err != nil {
			return nil, fmt.Errorf("scaling configuration %s: %w", cfg.id, t.err)
		}
		r := nodegroup.Resources{MilliCPU: t.cpu * 1000, Memory: int64(t.memoryGiB * (1 << 30))}
		if t.gpu > 0 {
			r.Extended = map[string]int64{"nvidia.com/gpu": t.gpu}
		}
		if i == 0 {
			capacity = r
			if strings.EqualFold(t.arch, "ARM") {
				arch = "arm64"
			}
			continue
		}
		capacity.MilliCPU = min(capacity.MilliCPU, r.MilliCPU)
		capacity.Memory = min(capacity.Memory, r.Memory)
		for k, v := range capacity.Extended {
			capacity.Extended[k] = min(v, r.Extended[k])
		}
	}
	capacity.Pods = c.MaxPods
	capacity.EphemeralStorage = cfg.diskGiB << 30

	labels := map[string]string{
		nodegroup.LabelRegion:       c.Region,
		nodegroup.LabelInstanceType: cfg.types[0],
		nodegroup.LabelArch:         arch,
		nodegroup.LabelOS:           "linux",
		nodegroup.LabelCapacityType: nodegroup.CapacityOnDemand,
	}
	if cfg.spot {
		labels[nodegroup.LabelCapacityType] = nodegroup.CapacitySpot
	}
	if zone != "" {
		labels[nodegroup.LabelZone] = zone
	}
	var taints []nodegroup.Taint
	if err := nodegroup.ApplyTemplateTags(tags, labels, &taints, &capacity); err != nil {
		return nil, err
	}
	return &nodegroup.Template{
		InstanceType: cfg.types[0],
		Capacity:     capacity,
		Allocatable:  nodegroup.Allocatable(capacity, c.Reservations(capacity)),
		Labels:       labels,
		Taints:       taints,
	}, nil
}

// parseOptions reads the autoscaling-options tags.
func parseOptions(tags map[string]string) (nodegroup.Options, error) {
	return nodegroup.OptionsFromTags(tags)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
