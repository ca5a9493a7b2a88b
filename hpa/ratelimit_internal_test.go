package hpa

import (
	"math"
	"testing"
	"time"
)

// bhGenRules mirrors upstream's generateScalingRules test helper: a Pods and
// a Percent policy when their values are non-zero, selectPolicy Max.
func bhGenRules(pods, podsPeriod, percent, percentPeriod, window int32) *ScalingRules {
	sel := MaxChangePolicySelect
	r := &ScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &sel}
	if pods != 0 {
		r.Policies = append(r.Policies, Policy{Type: PodsScalingPolicy, Value: pods, PeriodSeconds: podsPeriod})
	}
	if percent != 0 {
		r.Policies = append(r.Policies, Policy{Type: PercentScalingPolicy, Value: percent, PeriodSeconds: percentPeriod})
	}
	return r
}

// bhUniform mirrors upstream's generateEventsUniformDistribution: events
// centred in equal segments of the last period seconds.
func bhUniform(now time.Time, changes []int32, period int) []ScaleEvent {
	seg := float64(period) / float64(len(changes))
	out := make([]ScaleEvent, len(changes))
	for i, c := range changes {
		back := float64(period) - seg*float64(i+1) + seg/2
		out[i] = ScaleEvent{Change: c, Timestamp: now.Add(-time.Duration(back * float64(time.Second)))}
	}
	return out
}

// Upstream's TestScalingWithRules vectors (convertDesiredReplicasWithBehaviorRate).
func TestRateLimitUpstreamVectors(t *testing.T) {
	now := bhNow
	cases := []struct {
		name                   string
		up, down               []ScaleEvent
		min, max               int32
		upRules, downRules     *ScalingRules
		current, desired, want int32
		reason                 Reason
	}{
		{name: "prenormalized desired replicas within range", min: 3, max: 8, current: 5, desired: 7, want: 7, reason: ReasonDesiredWithinRange},
		{name: "prenormalized desired replicas < minReplicas", min: 2, max: 8, current: 3, desired: 1, want: 2, reason: ReasonTooFewReplicas},
		{name: "within range when minReplicas is 0", min: 0, max: 10, current: 1, desired: 0, want: 0, reason: ReasonDesiredWithinRange},
		{name: "maxReplicas < scaleUpLimit", min: 1, max: 10, current: 20, desired: 1000, want: 10, reason: ReasonTooManyReplicas},
		{name: "more than the maximum", min: 100, max: 150, current: 100, desired: 1000, want: 150, reason: ReasonTooManyReplicas},
		{name: "scaleUpLimit < maxReplicas with user policies", min: 1, max: 2000, upRules: bhGenRules(0, 0, 1, 60, 0), current: 3, desired: 1000, want: 4, reason: ReasonScaleUpLimit},
		{name: "scaleUp with default behavior", min: 1, max: 1000, current: 10, desired: 50, want: 20, reason: ReasonScaleUpLimit},
		{name: "pods policy larger than percent", min: 1, max: 1000, upRules: bhGenRules(100, 60, 100, 60, 0), current: 10, desired: 500, want: 110, reason: ReasonScaleUpLimit},
		{name: "percent policy larger than pods", min: 1, max: 1000, upRules: bhGenRules(2, 60, 100, 60, 0), current: 10, desired: 500, want: 20, reason: ReasonScaleUpLimit},
		{name: "large pod policy", min: 1, max: 1000, upRules: bhGenRules(100, 60, 0, 0, 0), current: 10, desired: 50, want: 50, reason: ReasonDesiredWithinRange},
		{name: "large percent policy", min: 1, max: 1000, upRules: bhGenRules(10000, 60, 0, 0, 0), current: 10, desired: 50, want: 50, reason: ReasonDesiredWithinRange},
		{name: "pod policy limitation", min: 1, max: 1000, upRules: bhGenRules(30, 60, 0, 0, 0), current: 10, desired: 50, want: 40, reason: ReasonScaleUpLimit},
		{name: "percent policy limitation", min: 1, max: 1000, upRules: bhGenRules(0, 0, 200, 60, 0), current: 10, desired: 50, want: 30, reason: ReasonScaleUpLimit},
		{name: "scaleDown percent larger than pods", min: 1, max: 1000, downRules: bhGenRules(20, 60, 1, 60, 300), current: 100, desired: 2, want: 80, reason: ReasonScaleDownLimit},
		{name: "scaleDown pods larger than percent", min: 1, max: 1000, downRules: bhGenRules(2, 60, 1, 60, 300), current: 100, desired: 2, want: 98, reason: ReasonScaleDownLimit},
		{name: "scaleDown min with large pod policy", min: 1, max: 1000, downRules: bhGenRules(100, 60, 0, 0, 300), current: 10, desired: 0, want: 1, reason: ReasonTooFewReplicas},
		{name: "scaleDown min with large percent policy", min: 5, max: 1000, downRules: bhGenRules(0, 0, 100, 60, 300), current: 10, desired: 2, want: 5, reason: ReasonTooFewReplicas},
		{name: "scaleDown pod policy limitation", min: 1, max: 1000, downRules: bhGenRules(5, 60, 0, 0, 300), current: 10, desired: 2, want: 5, reason: ReasonScaleDownLimit},
		{name: "scaleDown percent policy limitation", min: 1, max: 1000, downRules: bhGenRules(0, 0, 50, 60, 300), current: 10, desired: 5, want: 5, reason: ReasonDesiredWithinRange},
		{name: "max with large pod policy and events", up: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 200, upRules: bhGenRules(300, 60, 0, 0, 0), current: 100, desired: 500, want: 200, reason: ReasonTooManyReplicas},
		{name: "max with large percent policy and events", up: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 200, upRules: bhGenRules(0, 0, 10000, 60, 0), current: 100, desired: 500, want: 200, reason: ReasonTooManyReplicas},
		{name: "a lot of recent scale up events", up: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 1000, upRules: bhGenRules(5, 120, 0, 0, 0), current: 100, desired: 500, want: 100, reason: ReasonScaleUpLimit},
		{name: "pod policy and previous scale up events", up: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 1000, upRules: bhGenRules(150, 120, 0, 0, 0), current: 100, desired: 500, want: 235, reason: ReasonScaleUpLimit},
		{name: "percent policy and previous scale up events", up: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 1000, upRules: bhGenRules(0, 0, 200, 120, 0), current: 100, desired: 500, want: 255, reason: ReasonScaleUpLimit},
		{name: "percent policy and previous up and down events", up: bhUniform(now, []int32{4}, 120), down: bhUniform(now, []int32{2}, 120), min: 1, max: 1000,
			upRules: bhGenRules(0, 0, 300, 300, 0), current: 6, desired: 24, want: 16, reason: ReasonScaleUpLimit},
		{name: "scaleDown default policy and previous events", down: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 1000, current: 10, desired: 5, want: 5, reason: ReasonDesiredWithinRange},
		{name: "scaleDown min with large pod policy and previous events", down: bhUniform(now, []int32{1, 5, 9}, 120), min: 1, max: 1000,
			downRules: bhGenRules(115, 120, 0, 0, 300), current: 100, desired: 0, want: 1, reason: ReasonTooFewReplicas},
	}
	for _, tc := range cases {
		b := DefaultBehavior(&Behavior{ScaleUp: tc.upRules, ScaleDown: tc.downRules})
		st := State{ScaleUpEvents: tc.up, ScaleDownEvents: tc.down}
		got, reason, _ := st.rateLimit(now, b, tc.current, tc.desired, tc.min, tc.max)
		if got != tc.want || reason != tc.reason {
			t.Errorf("%s: %d %s, want %d %s", tc.name, got, reason, tc.want, tc.reason)
		}
	}
}

// Upstream computes policy limits in int32 and converts floats with a bare
// int32(), which wraps (to MinInt32 on amd64) past the int32 range; kscale
// saturates. Within the range the results are upstream's.
func TestPolicyLimitSaturates(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const big = int32(math.MaxInt32 - 5)
	cases := []struct {
		name    string
		current int32
		rules   *ScalingRules
		up      []ScaleEvent
		down    []ScaleEvent
		scaleUp bool
		want    int32
	}{
		{"Pods policy past MaxInt32", big, bhGenRules(math.MaxInt32, 60, 0, 0, 0), nil, nil, true, math.MaxInt32},
		{"Percent policy past MaxInt32", big, bhGenRules(0, 0, 1000, 60, 0), nil, nil, true, math.MaxInt32},
		{"Percent scale-down of more than 100 %", big, bhGenRules(0, 0, 1000, 60, 0), nil, nil, false, math.MinInt32},
		{"scale-down events summing past MaxInt32", big, bhGenRules(4, 60, 0, 0, 0), nil,
			[]ScaleEvent{{Change: math.MaxInt32, Timestamp: now.Add(-time.Second)}, {Change: math.MaxInt32, Timestamp: now.Add(-2 * time.Second)}},
			true, math.MaxInt32},
		{"in range: upstream's values", 10, bhGenRules(4, 60, 100, 60, 0), nil, nil, true, 20},
		{"in range, down: truncation", 10, bhGenRules(0, 0, 55, 60, 0), nil, nil, false, 4},
	}
	for _, tc := range cases {
		got := policyLimit(now, tc.current, tc.up, tc.down, tc.rules, tc.scaleUp)
		if got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	// An unknown policy type proposes what the policy before it did, as
	// upstream's proposed variable outlives each loop iteration.
	sel := MaxChangePolicySelect
	r := &ScalingRules{SelectPolicy: &sel, Policies: []Policy{{Type: PodsScalingPolicy, Value: 3, PeriodSeconds: 60}, {Type: "Nodes", Value: 50, PeriodSeconds: 60}}}
	if got := policyLimit(now, 10, nil, nil, r, true); got != 13 {
		t.Errorf("unknown policy type after Pods 3: %d, want 13", got)
	}
	r.Policies = r.Policies[1:]
	if got := policyLimit(now, 10, nil, nil, r, true); got != 0 {
		t.Errorf("unknown policy type alone: %d, want 0", got)
	}
}
