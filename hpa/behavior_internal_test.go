package hpa

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

var bhNow = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func bhRules(sel SelectPolicy, ps ...Policy) *ScalingRules {
	return &ScalingRules{SelectPolicy: &sel, Policies: ps}
}

func bhAgo(s int) time.Time { return bhNow.Add(-time.Duration(s) * time.Second) }

// Upstream's TestCalculateScaleUpLimitWithScalingRules / ScaleDownLimit
// scenarios, plus the seeds and rounding rules.
func TestPolicyLimits(t *testing.T) {
	pods := func(v, p int32) Policy { return Policy{Type: PodsScalingPolicy, Value: v, PeriodSeconds: p} }
	pct := func(v, p int32) Policy { return Policy{Type: PercentScalingPolicy, Value: v, PeriodSeconds: p} }
	cases := []struct {
		name    string
		up      bool
		current int32
		upEv    []ScaleEvent
		downEv  []ScaleEvent
		rules   *ScalingRules
		want    int32
	}{
		{"up: pods", true, 5, nil, nil, bhRules(MaxChangePolicySelect, pods(4, 60)), 9},
		{"up: percent rounds up", true, 3, nil, nil, bhRules(MaxChangePolicySelect, pct(10, 60)), 4},
		{"up: max of policies", true, 10, nil, nil, bhRules(MaxChangePolicySelect, pods(4, 60), pct(100, 60)), 20},
		{"up: min of policies", true, 10, nil, nil, bhRules(MinChangePolicySelect, pods(4, 60), pct(100, 60)), 14},
		{"up: disabled", true, 10, nil, nil, bhRules(DisabledPolicySelect, pods(4, 60)), 10},
		{"up: empty list with Max blocks", true, 10, nil, nil, bhRules(MaxChangePolicySelect), math.MinInt32},
		{"up: empty list with Min", true, 10, nil, nil, bhRules(MinChangePolicySelect), math.MaxInt32},
		{"up: events inside the period are undone", true, 9, []ScaleEvent{{Change: 4, Timestamp: bhAgo(30)}}, nil, bhRules(MaxChangePolicySelect, pods(4, 60)), 9},
		{"up: an event exactly one period ago is out", true, 9, []ScaleEvent{{Change: 4, Timestamp: bhAgo(60)}}, nil, bhRules(MaxChangePolicySelect, pods(4, 60)), 13},
		{"up: scale-downs in the period raise the start", true, 6, nil, []ScaleEvent{{Change: 2, Timestamp: bhAgo(10)}}, bhRules(MaxChangePolicySelect, pct(50, 60)), 12},
		{"down: pods", false, 10, nil, nil, bhRules(MaxChangePolicySelect, pods(4, 60)), 6},
		{"down: percent truncates", false, 9, nil, nil, bhRules(MaxChangePolicySelect, pct(50, 60)), 4},
		{"down: percent over 100 goes negative", false, 10, nil, nil, bhRules(MaxChangePolicySelect, pct(150, 60)), -5},
		{"down: Max picks the largest change", false, 10, nil, nil, bhRules(MaxChangePolicySelect, pods(1, 60), pct(50, 60)), 5},
		{"down: Min picks the smallest change", false, 10, nil, nil, bhRules(MinChangePolicySelect, pods(1, 60), pct(50, 60)), 9},
		{"down: disabled", false, 10, nil, nil, bhRules(DisabledPolicySelect, pods(1, 60)), 10},
		{"down: empty list with Max", false, 10, nil, nil, bhRules(MaxChangePolicySelect), math.MaxInt32},
		{"down: events inside the period are undone", false, 6, nil, []ScaleEvent{{Change: 4, Timestamp: bhAgo(14)}}, bhRules(MaxChangePolicySelect, pods(4, 15)), 6},
	}
	for _, tc := range cases {
		f := scaleDownLimit
		if tc.up {
			f = scaleUpLimit
		}
		if got := f(bhNow, tc.current, tc.upEv, tc.downEv, tc.rules); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestNormalizeWithBehavior(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		name                  string
		b                     *Behavior
		recs                  []Recommendation
		upEv                  []ScaleEvent
		current, desired      int32
		min, max              int32
		want                  int32
		wantAble, wantLimited Reason
		limited               bool
	}{
		{name: "defaults: +4 pods or +100% per 15s, the larger", b: &Behavior{}, current: 3, desired: 20, min: 1, max: 50,
			want: 7, wantAble: ReasonReadyForNewScale, wantLimited: ReasonScaleUpLimit, limited: true},
		{name: "max below the rate limit", b: &Behavior{}, current: 3, desired: 20, min: 1, max: 5,
			want: 5, wantAble: ReasonReadyForNewScale, wantLimited: ReasonTooManyReplicas, limited: true},
		{name: "scale-down window keeps the highest recommendation", b: &Behavior{},
			recs: []Recommendation{{Replicas: 8, Timestamp: bhAgo(100)}}, current: 8, desired: 3, min: 1, max: 10,
			want: 8, wantAble: ReasonScaleDownStabilized, wantLimited: ReasonDesiredWithinRange},
		{name: "scale-down window lets an older one go", b: &Behavior{},
			recs: []Recommendation{{Replicas: 8, Timestamp: bhAgo(301)}}, current: 8, desired: 3, min: 1, max: 10,
			want: 3, wantAble: ReasonReadyForNewScale, wantLimited: ReasonDesiredWithinRange},
		{name: "scale-up window keeps the lowest recommendation", b: &Behavior{ScaleUp: &ScalingRules{StabilizationWindowSeconds: ptrTo[int32](60)}},
			recs: []Recommendation{{Replicas: 4, Timestamp: bhAgo(30)}}, current: 3, desired: 9, min: 1, max: 10,
			want: 4, wantAble: ReasonScaleUpStabilized, wantLimited: ReasonDesiredWithinRange},
		{name: "down limit by policy", b: &Behavior{ScaleDown: &ScalingRules{StabilizationWindowSeconds: ptrTo[int32](0),
			Policies: []Policy{{Type: PodsScalingPolicy, Value: 2, PeriodSeconds: 60}}}}, current: 10, desired: 1, min: 1, max: 10,
			want: 8, wantAble: ReasonReadyForNewScale, wantLimited: ReasonScaleDownLimit, limited: true},
		{name: "min above the down limit", b: &Behavior{ScaleDown: &ScalingRules{StabilizationWindowSeconds: ptrTo[int32](0)}},
			current: 10, desired: 1, min: 4, max: 10,
			want: 4, wantAble: ReasonReadyForNewScale, wantLimited: ReasonTooFewReplicas, limited: true},
		{name: "rate already spent keeps current", b: &Behavior{ScaleUp: &ScalingRules{Policies: []Policy{{Type: PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}},
			upEv: []ScaleEvent{{Change: 3, Timestamp: bhAgo(20)}}, current: 6, desired: 9, min: 1, max: 10,
			want: 6, wantAble: ReasonReadyForNewScale, wantLimited: ReasonScaleUpLimit, limited: true},
	}
	for _, tc := range cases {
		st := State{Recommendations: tc.recs, ScaleUpEvents: tc.upEv}
		n := normalizeWithBehavior(&cfg, DefaultBehavior(tc.b), &st, bhNow, tc.current, tc.desired, tc.min, tc.max)
		wantStatus := ConditionFalse
		if tc.limited {
			wantStatus = ConditionTrue
		}
		if n.Replicas != tc.want || n.AbleToScale.Reason != tc.wantAble || n.ScalingLimited.Reason != tc.wantLimited || n.ScalingLimited.Status != wantStatus {
			t.Errorf("%s: %d %s %s/%s; want %d %s %s/%s", tc.name, n.Replicas, n.AbleToScale.Reason, n.ScalingLimited.Status, n.ScalingLimited.Reason,
				tc.want, tc.wantAble, wantStatus, tc.wantLimited)
		}
		if last := st.Recommendations[len(st.Recommendations)-1]; last.Replicas != tc.desired || !last.Timestamp.Equal(bhNow) {
			t.Errorf("%s: recommendation not recorded: %+v", tc.name, st.Recommendations)
		}
	}
}

func TestNormalizeLegacy(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		name             string
		recs             []Recommendation
		current, desired int32
		min, max         int32
		want             int32
		wantLimited      Reason
	}{
		{"within range", nil, 4, 6, 1, 10, 6, ReasonDesiredWithinRange},
		{"scale-up limit max(2x, 4)", nil, 1, 9, 1, 10, 4, ReasonScaleUpLimit},
		{"scale-up limit 2x", nil, 5, 12, 1, 20, 10, ReasonScaleUpLimit},
		{"max below the limit", nil, 5, 12, 1, 8, 8, ReasonTooManyReplicas},
		{"below min", nil, 5, 1, 2, 8, 2, ReasonTooFewReplicas},
		{"stabilized by a recent higher one", []Recommendation{{Replicas: 7, Timestamp: bhAgo(60)}}, 7, 3, 1, 10, 7, ReasonDesiredWithinRange},
	}
	for _, tc := range cases {
		st := State{Recommendations: tc.recs}
		n := normalizeLegacy(&cfg, &st, bhNow, tc.current, tc.desired, tc.min, tc.max)
		if n.Replicas != tc.want || n.ScalingLimited.Reason != tc.wantLimited {
			t.Errorf("%s: %d %s, want %d %s", tc.name, n.Replicas, n.ScalingLimited.Reason, tc.want, tc.wantLimited)
		}
		if tc.recs != nil && n.AbleToScale.Reason != ReasonScaleDownStabilized {
			t.Errorf("%s: AbleToScale %s", tc.name, n.AbleToScale.Reason)
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	cfg := DefaultConfig()
	var st State
	b := DefaultBehavior(&Behavior{})
	for i := range 10_000 {
		now := bhNow.Add(time.Duration(i) * 15 * time.Second)
		st.observe(now, 3)
		n := normalizeWithBehavior(&cfg, b, &st, now, 3, int32(3+i%2), 1, 10)
		if n.Replicas != 3 {
			st.RecordRescale(b, now, 3, n.Replicas)
		}
	}
	// A 5-minute window sampled every 15 s needs about 21 entries.
	if len(st.Recommendations) > 22 || len(st.ScaleUpEvents) > 3 {
		t.Errorf("history grew: %d recommendations, %d events", len(st.Recommendations), len(st.ScaleUpEvents))
	}
}

func TestRecordRescale(t *testing.T) {
	b := &Behavior{ScaleUp: &ScalingRules{Policies: []Policy{{Type: PodsScalingPolicy, Value: 4, PeriodSeconds: 60}}}}
	st := State{ScaleUpEvents: []ScaleEvent{{Change: 1, Timestamp: bhAgo(120)}, {Change: 2, Timestamp: bhAgo(90)}, {Change: 3, Timestamp: bhAgo(10)}}}
	st.RecordRescale(b, bhNow, 5, 9)
	// Both old events are marked outdated; the last outdated one is overwritten.
	want := []ScaleEvent{{Change: 1, Timestamp: bhAgo(120), Outdated: true}, {Change: 4, Timestamp: bhNow}, {Change: 3, Timestamp: bhAgo(10)}}
	for i := range want {
		if st.ScaleUpEvents[i] != want[i] {
			t.Fatalf("events = %+v, want %+v", st.ScaleUpEvents, want)
		}
	}
	st.RecordRescale(b, bhNow, 9, 7) // default scale-down policy: 15 s
	if len(st.ScaleDownEvents) != 1 || st.ScaleDownEvents[0].Change != 2 {
		t.Errorf("down events = %+v", st.ScaleDownEvents)
	}
	before := len(st.ScaleUpEvents)
	st.RecordRescale(nil, bhNow, 1, 5)
	if len(st.ScaleUpEvents) != before {
		t.Error("legacy HPA recorded an event")
	}
}

func TestDefaultBehavior(t *testing.T) {
	if DefaultBehavior(nil) != nil {
		t.Fatal("nil behavior defaulted")
	}
	min := MinChangePolicySelect
	d := DefaultBehavior(&Behavior{ScaleDown: &ScalingRules{SelectPolicy: &min}})
	if *d.ScaleUp.StabilizationWindowSeconds != 0 || *d.ScaleUp.SelectPolicy != MaxChangePolicySelect || len(d.ScaleUp.Policies) != 2 ||
		d.ScaleUp.Policies[0] != (Policy{Type: PodsScalingPolicy, Value: 4, PeriodSeconds: 15}) ||
		d.ScaleUp.Policies[1] != (Policy{Type: PercentScalingPolicy, Value: 100, PeriodSeconds: 15}) {
		t.Errorf("scaleUp defaults = %+v", d.ScaleUp)
	}
	if d.ScaleDown.StabilizationWindowSeconds != nil || *d.ScaleDown.SelectPolicy != MinChangePolicySelect ||
		len(d.ScaleDown.Policies) != 1 || d.ScaleDown.Policies[0] != (Policy{Type: PercentScalingPolicy, Value: 100, PeriodSeconds: 15}) {
		t.Errorf("scaleDown defaults = %+v", d.ScaleDown)
	}
}

// A sequence continued after a JSON round trip of the State gives the same
// answers as one that never stopped.
func TestStateJSONRoundTrip(t *testing.T) {
	cfg := DefaultConfig()
	b := DefaultBehavior(&Behavior{ScaleUp: &ScalingRules{Policies: []Policy{{Type: PodsScalingPolicy, Value: 2, PeriodSeconds: 60}}}})
	desired := []int32{9, 9, 2, 12, 3, 3, 8, 1, 1, 10}
	run := func(st *State, from, to int, current int32) int32 {
		for i := from; i < to; i++ {
			now := bhNow.Add(time.Duration(i) * 20 * time.Second)
			st.observe(now, current)
			n := normalizeWithBehavior(&cfg, b, st, now, current, desired[i], 1, 20)
			if n.Replicas != current {
				st.RecordRescale(b, now, current, n.Replicas)
				current = n.Replicas
			}
		}
		return current
	}
	var straight State
	wantEnd := run(&straight, 0, len(desired), 4)

	var first State
	mid := run(&first, 0, 5, 4)
	data, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	var restored State
	if err := json.Unmarshal(data, &restored); err != nil {
		t.Fatal(err)
	}
	if got := run(&restored, 5, len(desired), mid); got != wantEnd {
		t.Errorf("after a restart the sequence ends at %d, without one at %d", got, wantEnd)
	}
}

func ptrTo[T any](v T) *T { return &v }
