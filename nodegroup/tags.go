package nodegroup

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
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
	// memory, ephemeral-storage, pods, hugepages-<size> or an extended
	// resource such as nvidia.com/gpu).
	TagResourcePrefix = "k8s.io/cluster-autoscaler/node-template/resources/"
	// TagOptionPrefix + <option> = <value> overrides an autoscaling option.
	TagOptionPrefix = "k8s.io/cluster-autoscaler/node-template/autoscaling-options/"
)

// ErrInvalidTag is wrapped by every *TagError.
var ErrInvalidTag = errors.New("invalid node-template tag")

// TagError is a node-template or autoscaling-options tag that cannot be
// applied; Key is the tag's full key.
type TagError struct {
	Key   string
	Value string
	Err   error
}

func (e *TagError) Error() string {
	return fmt.Sprintf("tag %s=%q: %v", e.Key, e.Value, e.Err)
}

// Unwrap returns the cause.
func (e *TagError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidTag) true.
func (e *TagError) Is(target error) bool { return target == ErrInvalidTag }

// maxQuantity bounds a resource tag in its unit (millicores, bytes or a
// count): 2^53, far above any machine, exact in a float64 and leaving room
// to sum many nodes in an int64.
const maxQuantity = 1 << 53

// ApplyTemplateTags applies the label, taint and resource tags to labels,
// taints and capacity; tag labels replace labels already there. Tags are
// checked as the Kubernetes API server checks a Node: label keys and taint
// keys must be qualified names, label and taint values valid label values,
// a taint's effect NoSchedule, PreferNoSchedule or NoExecute and its
// key/effect pair unique; resources must be standard names or
// domain-prefixed extended resources, with a quantity that parses, is not
// negative, at most 2^53 in its unit, and whole for pods and extended
// resources. Every bad tag is reported, each as a *TagError naming its key
// (errors.Is(err, ErrInvalidTag)); on error nothing is changed.
func ApplyTemplateTags(tags map[string]string, labels map[string]string, taints *[]Taint, capacity *Resources) error {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var (
		errs      []error
		newLabels = map[string]string{}
		newTaints []Taint
		sets      []func(*Resources)
	)
	seen := map[[2]string]bool{}
	if taints != nil {
		for _, t := range *taints {
			seen[[2]string{t.Key, t.Effect}] = true
		}
	}
	for _, k := range keys {
		v := tags[k]
		var err error
		if name, ok := strings.CutPrefix(k, TagLabelPrefix); ok {
			if err = checkLabel(name, v); err == nil {
				newLabels[name] = v
			}
		} else if key, ok := strings.CutPrefix(k, TagTaintPrefix); ok {
			var t Taint
			if t, err = parseTaint(key, v); err == nil {
				if id := [2]string{t.Key, t.Effect}; seen[id] {
					err = fmt.Errorf("taint %s:%s is already on the template (taints are unique by key and effect)", t.Key, t.Effect)
				} else {
					seen[id] = true
					newTaints = append(newTaints, t)
				}
			}
		} else if name, ok := strings.CutPrefix(k, TagResourcePrefix); ok {
			var set func(*Resources)
			if set, err = parseResource(name, v); err == nil {
				sets = append(sets, set)
			}
		}
		if err != nil {
			errs = append(errs, &TagError{Key: k, Value: v, Err: err})
		}
	}
	switch {
	case len(errs) > 0:
		return errors.Join(errs...)
	case labels == nil && len(newLabels) > 0:
		return errors.New("ApplyTemplateTags: label tags need a non-nil labels map")
	case taints == nil && len(newTaints) > 0:
		return errors.New("ApplyTemplateTags: taint tags need a non-nil taints slice pointer")
	case capacity == nil && len(sets) > 0:
		return errors.New("ApplyTemplateTags: resource tags need a non-nil capacity")
	}
	for k, v := range newLabels {
		labels[k] = v
	}
	if len(newTaints) > 0 {
		*taints = append(*taints, newTaints...)
	}
	for _, set := range sets {
		set(capacity)
	}
	return nil
}

// checkLabel applies the API server's label rules.
func checkLabel(key, value string) error {
	if msgs := content.IsLabelKey(key); len(msgs) > 0 {
		return fmt.Errorf("label key %q: %s", key, strings.Join(msgs, "; "))
	}
	if msgs := content.IsLabelValue(value); len(msgs) > 0 {
		return fmt.Errorf("label value %q: %s", value, strings.Join(msgs, "; "))
	}
	return nil
}

// parseTaint reads a taint tag value "value:Effect" (or "Effect") and
// applies the API server's taint rules.
func parseTaint(key, v string) (Taint, error) {
	value, effect := "", v
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		value, effect = v[:i], v[i+1:]
	}
	switch effect {
	case "NoSchedule", "PreferNoSchedule", "NoExecute":
	default:
		return Taint{}, fmt.Errorf("taint effect %q is not NoSchedule, PreferNoSchedule or NoExecute", effect)
	}
	if msgs := content.IsLabelKey(key); len(msgs) > 0 {
		return Taint{}, fmt.Errorf("taint key %q: %s", key, strings.Join(msgs, "; "))
	}
	if msgs := content.IsLabelValue(value); len(msgs) > 0 {
		return Taint{}, fmt.Errorf("taint value %q: %s", value, strings.Join(msgs, "; "))
	}
	return Taint{Key: key, Value: value, Effect: effect}, nil
}

// parseResource reads one resources tag as a Kubernetes quantity and
// returns how to set it.
func parseResource(name, v string) (func(*Resources), error) {
	whole := false // pods and extended resources are counts
	switch {
	case name == "cpu", name == "memory", name == "ephemeral-storage":
	case name == "pods":
		whole = true
	case strings.HasPrefix(name, "hugepages-"):
		if _, err := resource.ParseQuantity(strings.TrimPrefix(name, "hugepages-")); err != nil {
			return nil, fmt.Errorf("resource %q: the page size is not a quantity", name)
		}
	case strings.Contains(name, "/"):
		if msgs := content.IsLabelKey(name); len(msgs) > 0 {
			return nil, fmt.Errorf("resource name %q: %s", name, strings.Join(msgs, "; "))
		}
		whole = true
	case name == "":
		return nil, errors.New("empty resource name")
	default:
		return nil, fmt.Errorf("resource name %q is neither cpu, memory, ephemeral-storage, pods, hugepages-<size> nor a domain-prefixed extended resource (example.com/%s)", name, name)
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", name, err)
	}
	if q.Sign() < 0 {
		return nil, fmt.Errorf("resource %s: negative quantity", name)
	}
	if name == "cpu" {
		if q.CmpInt64(maxQuantity/1000) > 0 {
			return nil, fmt.Errorf("resource cpu: more than %d cores", maxQuantity/1000)
		}
		n := q.MilliValue()
		return func(c *Resources) { c.MilliCPU = n }, nil
	}
	if q.CmpInt64(maxQuantity) > 0 {
		return nil, fmt.Errorf("resource %s: above %d", name, int64(maxQuantity))
	}
	if whole && q.MilliValue()%1000 != 0 {
		return nil, fmt.Errorf("resource %s: must be a whole number", name)
	}
	n := q.Value()
	switch name {
	case "memory":
		return func(c *Resources) { c.Memory = n }, nil
	case "ephemeral-storage":
		return func(c *Resources) { c.EphemeralStorage = n }, nil
	case "pods":
		return func(c *Resources) { c.Pods = n }, nil
	}
	return func(c *Resources) {
		if c.Extended == nil {
			c.Extended = map[string]int64{}
		}
		c.Extended[name] = n
	}, nil
}

// OptionsFromTags reads the autoscaling-options tags
// (scaledownutilizationthreshold, scaledowngpuutilizationthreshold,
// scaledownunneededtime, scaledownunreadytime,
// ignoredaemonsetsutilization; names are case-insensitive; other options
// are left to whoever reads them). Thresholds must be numbers in [0, 1],
// times non-negative Go durations, the flag a Go boolean. Every malformed
// tag, and two tags naming one option, is reported as a *TagError naming
// its key (errors.Is(err, ErrInvalidTag)).
func OptionsFromTags(tags map[string]string) (Options, error) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		if strings.HasPrefix(k, TagOptionPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var (
		o    Options
		errs []error
	)
	byOption := map[string]string{}
	for _, k := range keys {
		v := tags[k]
		name := strings.ToLower(strings.TrimPrefix(k, TagOptionPrefix))
		var err error
		switch name {
		case "scaledownutilizationthreshold":
			o.ScaleDownUtilizationThreshold, err = parsePtr(v, parseThreshold)
		case "scaledowngpuutilizationthreshold":
			o.ScaleDownGpuUtilizationThreshold, err = parsePtr(v, parseThreshold)
		case "scaledownunneededtime":
			o.ScaleDownUnneededTime, err = parsePtr(v, parseDuration)
		case "scaledownunreadytime":
			o.ScaleDownUnreadyTime, err = parsePtr(v, parseDuration)
		case "ignoredaemonsetsutilization":
			o.IgnoreDaemonSetsUtilization, err = parsePtr(v, strconv.ParseBool)
		default:
			continue
		}
		if first, dup := byOption[name]; dup {
			err = fmt.Errorf("option %s is also set by tag %s", name, first)
		}
		byOption[name] = k
		if err != nil {
			errs = append(errs, &TagError{Key: k, Value: v, Err: err})
		}
	}
	if len(errs) > 0 {
		return Options{}, errors.Join(errs...)
	}
	return o, nil
}

func parseThreshold(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return 0, err
	case math.IsNaN(f) || f < 0 || f > 1:
		return 0, fmt.Errorf("utilization threshold %s is not in [0, 1]", s)
	}
	return f, nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("duration %s is negative", s)
	}
	return d, err
}

func parsePtr[T any](s string, parse func(string) (T, error)) (*T, error) {
	v, err := parse(s)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
