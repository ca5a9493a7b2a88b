package nodegroup

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// cluster-autoscaler's node-template tag conventions, shared by the AWS
// and Alibaba Cloud providers so groups tagged for cluster-autoscaler work
// unchanged.
const (
	// TagLabelPrefix + <key> = <value> adds a label to the template.
	TagLabelPrefix = "k8s.io/cluster-autoscaler/node-template/label/"
	// TagTaintPrefix + <key> = "<value>:<Effect>" (or "<Effect>") adds a taint.
	TagTaintPrefix = "k8s.io/cluster-autoscaler/node-template/taint/"
	// TagResourcePrefix + <name> = <quantity> sets a capacity (cpu,
	// memory, ephemeral-storage, pods or an extended resource).
	TagResourcePrefix = "k8s.io/cluster-autoscaler/node-template/resources/"
	// TagOptionPrefix + <option> = <value> overrides an autoscaling option.
	TagOptionPrefix = "k8s.io/cluster-autoscaler/node-template/autoscaling-options/"
)

// ApplyTemplateTags applies the label, taint and resource tags, in key
// order, to labels, taints and capacity. A malformed tag (a taint without a
// valid effect, a bad or negative quantity) is an error naming it.
func ApplyTemplateTags(tags map[string]string, labels map[string]string, taints *[]Taint, capacity *Resources) error {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := tags[k]
		if name, ok := strings.CutPrefix(k, TagLabelPrefix); ok {
			labels[name] = v
		} else if key, ok := strings.CutPrefix(k, TagTaintPrefix); ok {
			t, err := parseTaint(key, v)
			if err != nil {
				return fmt.Errorf("tag %s: %w", k, err)
			}
			*taints = append(*taints, t)
		} else if name, ok := strings.CutPrefix(k, TagResourcePrefix); ok {
			if err := setResource(capacity, name, v); err != nil {
				return fmt.Errorf("tag %s: %w", k, err)
			}
		}
	}
	return nil
}

// parseTaint reads a taint tag value "value:Effect" (or "Effect").
func parseTaint(key, v string) (Taint, error) {
	value, effect, ok := strings.Cut(v, ":")
	if !ok {
		value, effect = "", v
	}
	switch effect {
	case "NoSchedule", "PreferNoSchedule", "NoExecute":
	default:
		return Taint{}, fmt.Errorf("taint %q: effect %q is not NoSchedule, PreferNoSchedule or NoExecute", v, effect)
	}
	if key == "" {
		return Taint{}, fmt.Errorf("taint with an empty key")
	}
	return Taint{Key: key, Value: value, Effect: effect}, nil
}

// setResource applies one resources tag as a Kubernetes quantity.
func setResource(c *Resources, name, v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("resource %s: %w", name, err)
	}
	if q.Sign() < 0 {
		return fmt.Errorf("resource %s: negative quantity %s", name, v)
	}
	switch name {
	case "cpu":
		c.MilliCPU = q.MilliValue()
	case "memory":
		c.Memory = q.Value()
	case "ephemeral-storage":
		c.EphemeralStorage = q.Value()
	case "pods":
		c.Pods = q.Value()
	case "":
		return fmt.Errorf("resource with an empty name")
	default:
		if c.Extended == nil {
			c.Extended = map[string]int64{}
		}
		c.Extended[name] = q.Value()
	}
	return nil
}

// OptionsFromTags reads the autoscaling-options tags
// (scaledownutilizationthreshold, scaledowngpuutilizationthreshold,
// scaledownunneededtime, scaledownunreadytime,
// ignoredaemonsetsutilization; names are case-insensitive). A malformed
// value is an error naming the tag.
func OptionsFromTags(tags map[string]string) (Options, error) {
	var o Options
	for k, v := range tags {
		name, ok := strings.CutPrefix(k, TagOptionPrefix)
		if !ok {
			continue
		}
		var err error
		switch strings.ToLower(name) {
		case "scaledownutilizationthreshold":
			o.ScaleDownUtilizationThreshold, err = parsePtr(v, parseFloat)
		case "scaledowngpuutilizationthreshold":
			o.ScaleDownGpuUtilizationThreshold, err = parsePtr(v, parseFloat)
		case "scaledownunneededtime":
			o.ScaleDownUnneededTime, err = parsePtr(v, time.ParseDuration)
		case "scaledownunreadytime":
			o.ScaleDownUnreadyTime, err = parsePtr(v, time.ParseDuration)
		case "ignoredaemonsetsutilization":
			o.IgnoreDaemonSetsUtilization, err = parsePtr(v, strconv.ParseBool)
		}
		if err != nil {
			return Options{}, fmt.Errorf("autoscaling option tag %s=%q: %w", k, v, err)
		}
	}
	return o, nil
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func parsePtr[T any](s string, parse func(string) (T, error)) (*T, error) {
	v, err := parse(s)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
