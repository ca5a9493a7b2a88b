package hpa

import (
	"errors"
	"fmt"
)

// Limits the API server enforces on spec.behavior.
const (
	MaxStabilizationWindowSeconds = 3600
	MaxPolicyPeriodSeconds        = 1800
)

// Validate checks a Spec the way the API server validates an HPA, so that
// Evaluate never computes on a spec the cluster would reject. Every problem is
// reported, each naming its field as the API server does
// ("spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
// joined into one error that wraps ErrInvalidSpec. c decides whether
// minReplicas 0 is allowed (Config.ScaleToZero with an Object or External metric).
func Validate(s Spec, c Config) error {
	return validate(s, c, true)
}

// validate checks s; withBehavior also checks spec.behavior. Evaluate leaves
// the behavior unchecked and computes with it as upstream's controller does
// (an empty policy list, for example, blocks that direction).
func validate(s Spec, c Config, withBehavior bool) error {
	v := validator{}
	minReplicas := int32(1)
	if s.MinReplicas != nil {
		minReplicas = *s.MinReplicas
		floor := int32(1)
		if c.ScaleToZero && hasObjectOrExternal(s.Metrics) {
			floor = 0
		}
		if minReplicas < floor {
			v.invalid("spec.minReplicas", minReplicas, fmt.Sprintf("must be greater than or equal to %d", floor))
		}
	}
	switch {
	case s.MaxReplicas < 1:
		v.invalid("spec.maxReplicas", s.MaxReplicas, "must be greater than 0")
	case s.MaxReplicas < minReplicas:
		v.invalid("spec.maxReplicas", s.MaxReplicas, "must be greater than or equal to `minReplicas`")
	}
	for i := range s.Metrics {
		v.metric(i, &s.Metrics[i])
	}
	if withBehavior && s.Behavior != nil {
		v.rules("spec.behavior.scaleUp", s.Behavior.ScaleUp)
		v.rules("spec.behavior.scaleDown", s.Behavior.ScaleDown)
	}
	return v.err()
}

type validator struct{ errs []error }

func (v *validator) invalid(field string, value any, msg string) {
	v.errs = append(v.errs, fmt.Errorf("%w: %s: Invalid value: %v: %s", ErrInvalidSpec, field, value, msg))
}

func (v *validator) required(field, msg string) {
	v.errs = append(v.errs, fmt.Errorf("%w: %s: Required value: %s", ErrInvalidSpec, field, msg))
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return errors.Join(v.errs...)
}

// targetTypes lists the target types each source accepts.
var targetTypes = map[MetricSourceType][]MetricTargetType{
	ResourceMetric:          {UtilizationTarget, AverageValueTarget},
	ContainerResourceMetric: {UtilizationTarget, AverageValueTarget},
	PodsMetric:              {AverageValueTarget},
	ObjectMetric:            {ValueTarget, AverageValueTarget},
	ExternalMetric:          {ValueTarget, AverageValueTarget},
}

func (v *validator) metric(i int, m *MetricSpec) {
	allowed, ok := targetTypes[m.Type]
	// The field path is only built for an error: Evaluate validates on every call.
	path := func() string { return fmt.Sprintf("spec.metrics[%d]", i) }
	if !ok {
		v.invalid(path()+".type", fmt.Sprintf("%q", m.Type), "must be one of Object, Pods, Resource, ContainerResource, External")
		return
	}
	if m.Name == "" {
		v.required(path()+".name", "must specify a metric or resource name")
	}
	if m.Type == ContainerResourceMetric && m.Container == "" {
		v.required(path()+".container", "must specify a container")
	}
	if m.Type == ObjectMetric && (m.Object.Kind == "" || m.Object.Name == "") {
		v.required(path()+".describedObject", "must specify kind and name")
	}
	t := m.Target
	valid := false
	for _, a := range allowed {
		valid = valid || a == t.Type
	}
	if !valid {
		v.invalid(path()+".target.type", fmt.Sprintf("%q", t.Type), fmt.Sprintf("must be one of %v for a %s metric", allowed, m.Type))
		return
	}
	switch {
	case t.Type == UtilizationTarget && t.AverageUtilization <= 0:
		v.invalid(path()+".target.averageUtilization", t.AverageUtilization, "must be greater than 0")
	case t.Type == ValueTarget && t.Value <= 0:
		v.invalid(path()+".target.value", milliText(t.Value), "must be positive")
	case t.Type == AverageValueTarget && t.AverageValue <= 0:
		v.invalid(path()+".target.averageValue", milliText(t.AverageValue), "must be positive")
	}
}

func milliText(m int64) string { return fmt.Sprintf("%dm", m) }

func (v *validator) rules(path string, r *ScalingRules) {
	if r == nil {
		return
	}
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > MaxStabilizationWindowSeconds) {
		v.invalid(path+".stabilizationWindowSeconds", *w, fmt.Sprintf("must be in the range [0, %d]", MaxStabilizationWindowSeconds))
	}
	if sp := r.SelectPolicy; sp != nil && *sp != MaxChangePolicySelect && *sp != MinChangePolicySelect && *sp != DisabledPolicySelect {
		v.invalid(path+".selectPolicy", fmt.Sprintf("%q", *sp), "must be one of Max, Min, Disabled")
	}
	if r.Policies != nil && len(r.Policies) == 0 {
		v.required(path+".policies", "must specify at least one Policy")
	}
	for i, p := range r.Policies {
		pp := fmt.Sprintf("%s.policies[%d]", path, i)
		if p.Type != PodsScalingPolicy && p.Type != PercentScalingPolicy {
			v.invalid(pp+".type", fmt.Sprintf("%q", p.Type), "must be one of Pods, Percent")
		}
		if p.Value <= 0 {
			v.invalid(pp+".value", p.Value, "must be greater than zero")
		}
		if p.PeriodSeconds <= 0 || p.PeriodSeconds > MaxPolicyPeriodSeconds {
			v.invalid(pp+".periodSeconds", p.PeriodSeconds, fmt.Sprintf("must be in the range (0, %d]", MaxPolicyPeriodSeconds))
		}
	}
	if t := r.Tolerance; t != nil && !(*t >= 0) {
		v.invalid(path+".tolerance", *t, "must be greater than or equal to 0")
	}
}
