package hpa

import (
	"errors"
	"fmt"
	"strings"
)

// Limits the API server enforces on spec.behavior.
const (
	cvMaxWindowSeconds = 3600
	cvMaxPeriodSeconds = 1800
)

// Validate checks a Spec as the API server validates an HPA spec (and the
// behavior after its defaulting). Evaluate runs the same checks except the
// behavior's, which it applies as given, as upstream's controller does. Every problem is reported, each one an error
// wrapping ErrInvalidSpec whose text names the field as the API server does,
// e.g. "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1";
// they are joined with errors.Join. It returns nil for a valid spec.
//
// Rules: minReplicas ≥ 1, or ≥ 0 when c.ScaleToZero is on (0 then needs an
// Object or External metric); maxReplicas ≥ 1 and ≥ minReplicas; every
// metric of a known source type, named, with a container for
// ContainerResource and a described object for Object; a target type of
// Utilization, Value or AverageValue, whatever the source, as the API server
// allows; the target fields the source needs set (Resource and
// ContainerResource: averageUtilization or averageValue, not both; Pods:
// averageValue; Object: value or averageValue; External: value or
// averageValue, not both), none negative; behavior windows in [0, 3600], at
// least one policy when policies are given (nil means the defaults), policy
// type Pods or Percent, value > 0, period in (0, 1800], selectPolicy Max, Min
// or Disabled, tolerance ≥ 0. An empty metric list is valid: the API server
// defaults it (DefaultMetrics).
//
// Like the API server, Validate accepts a target whose type names another
// field than the one set (an External metric of type AverageValue with only
// value set); Evaluate then computes what upstream's controller computes,
// which picks the path by the field that is set (see MetricTarget).
func Validate(s Spec, c Config) error {
	return validate(s, c, true)
}

// validate is Validate, the behavior checked only when withBehavior: Evaluate
// leaves it unchecked and applies it as upstream's controller does (an empty
// policy list, for example, blocks that direction).
func validate(s Spec, c Config, withBehavior bool) error {
	var v cvValidator
	v.replicas(&s, c.ScaleToZero)
	for i := range s.Metrics {
		v.metric(i, &s.Metrics[i])
	}
	if withBehavior && s.Behavior != nil {
		v.rules("spec.behavior.scaleUp", s.Behavior.ScaleUp)
		v.rules("spec.behavior.scaleDown", s.Behavior.ScaleDown)
	}
	if len(v.errs) == 0 {
		return nil
	}
	return errors.Join(v.errs...)
}

// cvFieldError is one field problem, worded as the API server's field.Error;
// it matches ErrInvalidSpec under errors.Is.
type cvFieldError struct{ msg string }

func (e *cvFieldError) Error() string { return e.msg }
func (e *cvFieldError) Unwrap() error { return ErrInvalidSpec }

// cvValidator collects problems; it allocates nothing while the spec is
// valid, because Evaluate validates on every call.
type cvValidator struct{ errs []error }

func (v *cvValidator) add(format string, args ...any) {
	v.errs = append(v.errs, &cvFieldError{msg: fmt.Sprintf(format, args...)})
}

func (v *cvValidator) invalid(field string, value any, detail string) {
	v.add("%s: Invalid value: %v: %s", field, value, detail)
}

func (v *cvValidator) required(field, detail string) {
	if detail == "" {
		v.add("%s: Required value", field)
		return
	}
	v.add("%s: Required value: %s", field, detail)
}

// notSupported words the error as field.NotSupported, the supported values
// sorted as the API server lists them.
func (v *cvValidator) notSupported(field, value string, supported ...string) {
	quoted := make([]string, len(supported))
	for i, s := range supported {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	v.add("%s: Unsupported value: %q: supported values: %s", field, value, strings.Join(quoted, ", "))
}

func (v *cvValidator) replicas(s *Spec, scaleToZero bool) {
	floor := int32(1)
	if scaleToZero {
		floor = 0
	}
	if m := s.MinReplicas; m != nil {
		if *m < floor {
			v.invalid("spec.minReplicas", *m, fmt.Sprintf("must be greater than or equal to %d", floor))
		}
		if *m == 0 && scaleToZero && !cvHasObjectOrExternal(s.Metrics) {
			v.add("spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas")
		}
	}
	if s.MaxReplicas < 1 {
		v.invalid("spec.maxReplicas", s.MaxReplicas, "must be greater than 0")
	}
	if s.MinReplicas != nil && s.MaxReplicas < *s.MinReplicas {
		v.invalid("spec.maxReplicas", s.MaxReplicas, "must be greater than or equal to `minReplicas`")
	}
}

func cvHasObjectOrExternal(ms []MetricSpec) bool {
	for i := range ms {
		if ms[i].Type == ObjectMetric || ms[i].Type == ExternalMetric {
			return true
		}
	}
	return false
}

// cvSource returns the field name of a source type ("" when unknown).
func cvSource(t MetricSourceType) string {
	switch t {
	case ResourceMetric:
		return "resource"
	case ContainerResourceMetric:
		return "containerResource"
	case PodsMetric:
		return "pods"
	case ObjectMetric:
		return "object"
	case ExternalMetric:
		return "external"
	}
	return ""
}

func (v *cvValidator) metric(i int, m *MetricSpec) {
	src := cvSource(m.Type)
	// Paths are built only for an error: a valid spec costs no allocation.
	path := func(rest string) string { return fmt.Sprintf("spec.metrics[%d].%s", i, rest) }
	switch {
	case m.Type == "":
		v.required(path("type"), "must specify a metric source type")
		return
	case src == "":
		v.notSupported(path("type"), string(m.Type), "ContainerResource", "External", "Object", "Pods", "Resource")
		return
	}
	if m.Type == ObjectMetric {
		if m.Object.Kind == "" {
			v.required(path(src+".describedObject.kind"), "")
		}
		if m.Object.Name == "" {
			v.required(path(src+".describedObject.name"), "")
		}
	}
	switch {
	case m.Name != "":
	case m.Type == ResourceMetric || m.Type == ContainerResourceMetric:
		v.required(path(src+".name"), "must specify a resource name")
	default:
		v.required(path(src+".metric.name"), "must specify a metric name")
	}
	if m.Type == ContainerResourceMetric && m.Container == "" {
		v.required(path(src+".container"), "must specify a container")
	}
	v.target(func(f string) string { return path(src + ".target." + f) }, m.Type, m.Target)
}

// target checks a target as the API server does: the type must be one of
// the three whatever the source, each value set must be positive, and each
// source needs its own fields set. A Spec has no "set to zero": 0 means
// unset (SpecFromV2 refuses an explicit zero as the API server does), so a
// negative value is the only set value refused here.
func (v *cvValidator) target(path func(string) string, src MetricSourceType, t MetricTarget) {
	if t.Type == "" {
		v.required(path("type"), "must specify a metric target type")
	}
	switch t.Type {
	case UtilizationTarget, ValueTarget, AverageValueTarget:
	default:
		v.invalid(path("type"), fmt.Sprintf("%q", t.Type), "must be either Utilization, Value, or AverageValue")
	}
	if t.Value < 0 {
		v.invalid(path("value"), cvMilliText(t.Value), "must be positive")
	}
	if t.AverageValue < 0 {
		v.invalid(path("averageValue"), cvMilliText(t.AverageValue), "must be positive")
	}
	if t.AverageUtilization < 0 {
		v.invalid(path("averageUtilization"), t.AverageUtilization, "must be greater than 0")
	}
	value, avg, util := t.Value != 0, t.AverageValue != 0, t.AverageUtilization != 0
	switch src {
	case ResourceMetric, ContainerResourceMetric:
		if !util && !avg {
			v.required(path("averageUtilization"), "must set either a target raw value or a target utilization")
		}
		if util && avg {
			v.add("%s: Forbidden: may not set both a target raw value and a target utilization", path("averageValue"))
		}
	case PodsMetric:
		if !avg {
			v.required(path("averageValue"), "must specify a positive target averageValue")
		}
	case ObjectMetric:
		if !value && !avg {
			v.required(path("averageValue"), "must set either a target value or averageValue")
		}
	case ExternalMetric:
		if !value && !avg {
			v.required(path("averageValue"), "must set either a target value for metric or a per-pod target")
		}
		if value && avg {
			v.add("%s: Forbidden: may not set both a target value for metric and a per-pod target", path("value"))
		}
	}
}

// cvMilliText prints milli-units as a Kubernetes quantity ("0", "-500m", "-2").
func cvMilliText(m int64) string {
	if m%1000 == 0 {
		return fmt.Sprintf("%d", m/1000)
	}
	return fmt.Sprintf("%dm", m)
}

func (v *cvValidator) rules(path string, r *ScalingRules) {
	if r == nil {
		return
	}
	if w := r.StabilizationWindowSeconds; w != nil && *w < 0 {
		v.invalid(path+".stabilizationWindowSeconds", *w, "must be greater than or equal to zero")
	} else if w != nil && *w > cvMaxWindowSeconds {
		v.invalid(path+".stabilizationWindowSeconds", *w, fmt.Sprintf("must be less than or equal to %d", cvMaxWindowSeconds))
	}
	if sp := r.SelectPolicy; sp != nil && *sp != MaxChangePolicySelect && *sp != MinChangePolicySelect && *sp != DisabledPolicySelect {
		v.notSupported(path+".selectPolicy", string(*sp), "Disabled", "Max", "Min")
	}
	// nil policies are filled in by the defaults; an explicit empty list is
	// what the API server refuses.
	if r.Policies != nil && len(r.Policies) == 0 {
		v.required(path+".policies", "must specify at least one Policy")
	}
	for i, p := range r.Policies {
		v.policy(path, i, p)
	}
	if t := r.Tolerance; t != nil && !(*t >= 0) { // NaN is refused too
		v.invalid(path+".tolerance", *t, "must be greater than or equal to zero")
	}
}

func (v *cvValidator) policy(path string, i int, p Policy) {
	pp := func(f string) string { return fmt.Sprintf("%s.policies[%d].%s", path, i, f) }
	if p.Type != PodsScalingPolicy && p.Type != PercentScalingPolicy {
		v.notSupported(pp("type"), string(p.Type), "Percent", "Pods")
	}
	if p.Value <= 0 {
		v.invalid(pp("value"), p.Value, "must be greater than zero")
	}
	if p.PeriodSeconds <= 0 {
		v.invalid(pp("periodSeconds"), p.PeriodSeconds, "must be greater than zero")
	} else if p.PeriodSeconds > cvMaxPeriodSeconds {
		v.invalid(pp("periodSeconds"), p.PeriodSeconds, fmt.Sprintf("must be less than or equal to %d", cvMaxPeriodSeconds))
	}
}
