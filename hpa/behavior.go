package hpa

import (
	"math"
	"time"
)

// Defaults the API server gives an unset behavior field (autoscaling/v2
// defaults.go). The documented "4 pods per 60 seconds" is really per 15 s.
var (
	defaultScaleUpPolicies   = []Policy{{Type: PodsScalingPolicy, Value: 4, PeriodSeconds: 15}, {Type: PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}
	defaultScaleDownPolicies = []Policy{{Type: PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}
)

// DefaultBehavior returns a copy of b with the API server's defaults in every
// unset field: scaleUp window 0, select Max, policies Pods 4 and Percent 100
// per 15 s; scaleDown select Max, Percent 100 per 15 s, and its window left
// nil so that Config.DownscaleStabilizationWindow applies. Policies given are
// kept whole. A nil b stays nil (the legacy path).
func DefaultBehavior(b *Behavior) *Behavior {
	if b == nil {
		return nil
	}
	zero := int32(0)
	return &Behavior{
		ScaleUp:   defaultRules(b.ScaleUp, &zero, defaultScaleUpPolicies),
		ScaleDown: defaultRules(b.ScaleDown, nil, defaultScaleDownPolicies),
	}
}

func defaultRules(r *ScalingRules, window *int32, policies []Policy) *ScalingRules {
	sel := MaxChangePolicySelect
	out := &ScalingRules{StabilizationWindowSeconds: window, SelectPolicy: &sel, Policies: policies}
	if r == nil {
		return out
	}
	if r.StabilizationWindowSeconds != nil {
		out.StabilizationWindowSeconds = r.StabilizationWindowSeconds
	}
	if r.SelectPolicy != nil {
		out.SelectPolicy = r.SelectPolicy
	}
	if r.Policies != nil {
		out.Policies = r.Policies
	}
	out.Tolerance = r.Tolerance
	return out
}

// normalized is the outcome of normalization: the replica count and the
// AbleToScale and ScalingLimited conditions that explain it.
type normalized struct {
	Replicas       int32
	AbleToScale    Condition
	ScalingLimited Condition
}

// Upstream's condition messages.
const (
	msgReadyForNewScale    = "recommended size matches current size"
	msgScaleDownStabilized = "recent recommendations were higher than current one, applying the highest recent recommendation"
	msgScaleUpStabilized   = "recent recommendations were lower than current one, applying the lowest recent recommendation"
	msgWithinRange         = "the desired count is within the acceptable range"
	msgTooFew              = "the desired replica count is less than the minimum replica count"
	msgTooMany             = "the desired replica count is more than the maximum replica count"
	msgScaleUpLimit        = "the desired replica count is increasing faster than the maximum scale rate"
	msgScaleDownLimit      = "the desired replica count is decreasing faster than the maximum scale rate"
)

func ableToScale(r Reason, msg string) Condition {
	return Condition{Type: AbleToScale, Status: ConditionTrue, Reason: r, Message: msg}
}

// limited builds ScalingLimited: True when the limit changed the value.
func limited(changed bool, r Reason, msg string) Condition {
	s := ConditionFalse
	if changed {
		s = ConditionTrue
	}
	return Condition{Type: ScalingLimited, Status: s, Reason: r, Message: msg}
}

// normalizeLegacy is upstream's normalizeDesiredReplicas for an HPA without
// behavior: the downscale stabilization window, then min, max and the
// scale-up limit max(factor·current, minimum).
func normalizeLegacy(c *Config, st *State, now time.Time, current, desired, minReplicas, maxReplicas int32) normalized {
	stabilized := st.stabilizeLegacy(now, c.DownscaleStabilizationWindow, desired)
	var n normalized
	if stabilized != desired {
		n.AbleToScale = ableToScale(ReasonScaleDownStabilized, msgScaleDownStabilized)
	} else {
		n.AbleToScale = ableToScale(ReasonReadyForNewScale, msgReadyForNewScale)
	}
	var reason Reason
	var msg string
	n.Replicas, reason, msg = clampLegacy(c, current, stabilized, minReplicas, maxReplicas)
	n.ScalingLimited = limited(n.Replicas != stabilized, reason, msg)
	return n
}

// clampLegacy is upstream's convertDesiredReplicasWithRules.
func clampLegacy(c *Config, current, desired, minReplicas, maxReplicas int32) (int32, Reason, string) {
	// Saturating: upstream's bare int32() of a product above MaxInt32 wraps
	// (to MinInt32 on amd64), which would turn the limit negative.
	scaleUpLimit := clampInt32(math.Max(c.ScaleUpLimitFactor*float64(current), c.ScaleUpLimitMinimum))
	maxAllowed, reason, msg := maxReplicas, ReasonTooManyReplicas, msgTooMany
	if maxReplicas > scaleUpLimit {
		maxAllowed, reason, msg = scaleUpLimit, ReasonScaleUpLimit, msgScaleUpLimit
	}
	switch {
	case desired < minReplicas:
		return minReplicas, ReasonTooFewReplicas, msgTooFew
	case desired > maxAllowed:
		return maxAllowed, reason, msg
	}
	return desired, ReasonDesiredWithinRange, msgWithinRange
}

// normalizeWithBehavior is upstream's normalizeDesiredReplicasWithBehaviors:
// stabilization over both windows, then the scale-rate policies and min/max.
// b must have been through DefaultBehavior.
func normalizeWithBehavior(c *Config, b *Behavior, st *State, now time.Time, current, desired, minReplicas, maxReplicas int32) normalized {
	upWindow := windowOf(b.ScaleUp, c)
	downWindow := windowOf(b.ScaleDown, c)
	stabilized := st.stabilizeWithBehavior(now, upWindow, downWindow, current, desired)
	var n normalized
	switch {
	case stabilized == desired:
		n.AbleToScale = ableToScale(ReasonReadyForNewScale, msgReadyForNewScale)
	case desired >= current:
		n.AbleToScale = ableToScale(ReasonScaleUpStabilized, msgScaleUpStabilized)
	default:
		n.AbleToScale = ableToScale(ReasonScaleDownStabilized, msgScaleDownStabilized)
	}
	var reason Reason
	var msg string
	n.Replicas, reason, msg = st.rateLimit(now, b, current, stabilized, minReplicas, maxReplicas)
	n.ScalingLimited = limited(n.Replicas != stabilized, reason, msg)
	return n
}

// windowOf is a direction's stabilization window; an unset scaleDown window
// takes the controller's flag, as upstream's maybeInitScaleDownStabilizationWindow.
func windowOf(r *ScalingRules, c *Config) time.Duration {
	if r == nil || r.StabilizationWindowSeconds == nil {
		return c.DownscaleStabilizationWindow.Truncate(time.Second)
	}
	return time.Duration(*r.StabilizationWindowSeconds) * time.Second
}

// rateLimit is upstream's convertDesiredReplicasWithBehaviorRate.
func (s *State) rateLimit(now time.Time, b *Behavior, current, desired, minReplicas, maxReplicas int32) (int32, Reason, string) {
	switch {
	case desired > current:
		limit := max(scaleUpLimit(now, current, s.ScaleUpEvents, s.ScaleDownEvents, b.ScaleUp), current)
		maxAllowed, reason, msg := maxReplicas, ReasonTooManyReplicas, msgTooMany
		if maxReplicas > limit {
			maxAllowed, reason, msg = limit, ReasonScaleUpLimit, msgScaleUpLimit
		}
		if desired > maxAllowed {
			return maxAllowed, reason, msg
		}
	case desired < current:
		limit := min(scaleDownLimit(now, current, s.ScaleUpEvents, s.ScaleDownEvents, b.ScaleDown), current)
		minAllowed, reason, msg := minReplicas, ReasonTooFewReplicas, msgTooFew
		if minReplicas < limit {
			minAllowed, reason, msg = limit, ReasonScaleDownLimit, msgScaleDownLimit
		}
		if desired < minAllowed {
			return minAllowed, reason, msg
		}
	}
	return desired, ReasonDesiredWithinRange, msgWithinRange
}

// periodStart is the replica count at the start of a policy's period: the
// current count with the period's scale events undone. It is computed in
// int64, so it does not wrap as upstream's int32 sums can with absurd
// histories.
func periodStart(now time.Time, current int32, p Policy, up, down []ScaleEvent) int64 {
	period := time.Duration(p.PeriodSeconds) * time.Second
	return int64(current) - changeSince(now.Add(-period), up) + changeSince(now.Add(-period), down)
}

// changeSince sums the changes of the events strictly after cutoff.
func changeSince(cutoff time.Time, events []ScaleEvent) int64 {
	var sum int64
	for i := range events {
		if events[i].Timestamp.After(cutoff) {
			sum += int64(events[i].Change)
		}
	}
	return sum
}

// scaleUpLimit is upstream's calculateScaleUpLimitWithScalingRules.
func scaleUpLimit(now time.Time, current int32, up, down []ScaleEvent, r *ScalingRules) int32 {
	return policyLimit(now, current, up, down, r, true)
}

// scaleDownLimit is upstream's calculateScaleDownLimitWithBehaviors.
func scaleDownLimit(now time.Time, current int32, up, down []ScaleEvent, r *ScalingRules) int32 {
	return policyLimit(now, current, up, down, r, false)
}

// policyLimit combines the policies of one direction. selectPolicy Max picks
// the policy allowing the largest change (the highest count going up, the
// lowest going down), Min the smallest; the seeds are upstream's, so an empty
// policy list gives MinInt32 or MaxInt32 and blocks the direction.
func policyLimit(now time.Time, current int32, up, down []ScaleEvent, r *ScalingRules, scaleUp bool) int32 {
	sel := *r.SelectPolicy
	if sel == DisabledPolicySelect {
		return current
	}
	var proposed int32
	result, pick := int32(math.MaxInt32), minInt32
	if scaleUp == (sel != MinChangePolicySelect) {
		result, pick = math.MinInt32, maxInt32
	}
	for _, p := range r.Policies {
		start := periodStart(now, current, p, up, down)
		// Every proposal saturates at the int32 range where upstream's int32
		// arithmetic and conversions wrap.
		switch {
		case p.Type == PodsScalingPolicy && scaleUp:
			proposed = clampInt64(start + int64(p.Value))
		case p.Type == PodsScalingPolicy:
			proposed = clampInt64(start - int64(p.Value))
		case p.Type == PercentScalingPolicy && scaleUp:
			// Rounded up, or a small group could never grow.
			proposed = clampInt32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		case p.Type == PercentScalingPolicy:
			proposed = clampInt32(math.Trunc(float64(start) * (1 - float64(p.Value)/100)))
		default:
			// An unknown policy type proposes what the previous policy
			// did (0 for the first): upstream declares proposed outside
			// its loop.
		}
		result = pick(result, proposed)
	}
	return result
}

// clampInt64 converts to int32, saturating at its range.
func clampInt64(v int64) int32 {
	return int32(min(max(v, math.MinInt32), math.MaxInt32))
}

func minInt32(a, b int32) int32 { return min(a, b) }
func maxInt32(a, b int32) int32 { return max(a, b) }
