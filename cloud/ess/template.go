package ess

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kscale/kscale/nodegroup"
)

// Tag key prefixes, the same as cluster-autoscaler's AWS provider uses on
// Auto Scaling Groups, read here from the scaling group's and the active
// scaling configuration's tags (the configuration's win on conflict).
const (
	TagLabelPrefix    = "k8s.io/cluster-autoscaler/node-template/label/"
	TagTaintPrefix    = "k8s.io/cluster-autoscaler/node-template/taint/"     // value "<value>:<Effect>"
	TagResourcePrefix = "k8s.io/cluster-autoscaler/node-template/resources/" // value a quantity
	TagOptionPrefix   = "k8s.io/cluster-autoscaler/node-template/autoscaling-options/"
)

// instanceType is what the template needs from ecs:DescribeInstanceTypes.
type instanceType struct {
	cpu       int64 // vCPUs
	memoryGiB float64
	gpu       int64
	arch      string // CpuArchitecture: X86, ARM
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

var validEffects = map[string]bool{"NoSchedule": true, "PreferNoSchedule": true, "NoExecute": true}

// parseTaint reads a taint tag value "<value>:<Effect>" (the value may be
// empty, ":NoSchedule").
func parseTaint(key, v string) (nodegroup.Taint, error) {
	i := strings.LastIndex(v, ":")
	if i < 0 || !validEffects[v[i+1:]] {
		return nodegroup.Taint{}, fmt.Errorf("taint tag %s=%q: want <value>:<NoSchedule|PreferNoSchedule|NoExecute>", key, v)
	}
	return nodegroup.Taint{Key: key, Value: v[:i], Effect: v[i+1:]}, nil
}

// buildTemplate is the node a scale-up of a group adds. With several
// instance types, capacity is the element-wise minimum over them, so a pod
// that fits the template fits whichever type ESS launches; InstanceType and
// the instance-type label name the first (highest-priority) type. Bad tags
// are returned as errors, never ignored silently.
func buildTemplate(c Config, cfg *configuration, types map[string]instanceType, tags map[string]string, zone string) (*nodegroup.Template, error) {
	if len(cfg.types) == 0 {
		return nil, fmt.Errorf("scaling configuration %s names no instance type", cfg.id)
	}
	var capacity nodegroup.Resources
	arch := "amd64"
	for i, name := range cfg.types {
		t, ok := types[name]
		if !ok {
			return nil, fmt.Errorf("instance type %s of scaling configuration %s is unknown to ecs:DescribeInstanceTypes", name, cfg.id)
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
	for _, k := range sortedKeys(tags) {
		v := tags[k]
		switch {
		case strings.HasPrefix(k, TagLabelPrefix):
			labels[strings.TrimPrefix(k, TagLabelPrefix)] = v
		case strings.HasPrefix(k, TagTaintPrefix):
			t, err := parseTaint(strings.TrimPrefix(k, TagTaintPrefix), v)
			if err != nil {
				return nil, err
			}
			taints = append(taints, t)
		case strings.HasPrefix(k, TagResourcePrefix):
			if err := setResource(&capacity, strings.TrimPrefix(k, TagResourcePrefix), v); err != nil {
				return nil, err
			}
		}
	}
	return &nodegroup.Template{
		InstanceType: cfg.types[0],
		Capacity:     capacity,
		Allocatable:  nodegroup.Allocatable(capacity, c.Reservations(capacity)),
		Labels:       labels,
		Taints:       taints,
	}, nil
}

func setResource(r *nodegroup.Resources, name, v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("resource tag %s=%q: %w", name, v, err)
	}
	switch name {
	case "cpu":
		r.MilliCPU = q.MilliValue()
	case "memory":
		r.Memory = q.Value()
	case "ephemeral-storage":
		r.EphemeralStorage = q.Value()
	case "pods":
		r.Pods = q.Value()
	default:
		if r.Extended == nil {
			r.Extended = map[string]int64{}
		}
		r.Extended[name] = q.Value()
	}
	return nil
}

// parseOptions reads the autoscaling-options tags.
func parseOptions(tags map[string]string) (nodegroup.Options, error) {
	var o nodegroup.Options
	for k, v := range tags {
		name, ok := strings.CutPrefix(k, TagOptionPrefix)
		if !ok {
			continue
		}
		bad := func(err error) error { return fmt.Errorf("autoscaling option tag %s=%q: %w", k, v, err) }
		switch name {
		case "scaledownutilizationthreshold", "scaledowngpuutilizationthreshold":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return o, bad(err)
			}
			if name == "scaledownutilizationthreshold" {
				o.ScaleDownUtilizationThreshold = &f
			} else {
				o.ScaleDownGpuUtilizationThreshold = &f
			}
		case "scaledownunneededtime", "scaledownunreadytime":
			d, err := time.ParseDuration(v)
			if err != nil {
				return o, bad(err)
			}
			if name == "scaledownunneededtime" {
				o.ScaleDownUnneededTime = &d
			} else {
				o.ScaleDownUnreadyTime = &d
			}
		case "ignoredaemonsetsutilization":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, bad(err)
			}
			o.IgnoreDaemonSetsUtilization = &b
		}
	}
	return o, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
