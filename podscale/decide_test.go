package podscale_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
	"github.com/kscale/kscale/schedule"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func i32(v int32) *int32 { return &v }

// cpuSpec is a CPU-utilization HPA with min 1 and max 20 at a 50 % target.
func cpuSpec(b *hpa.Behavior) *hpa.Spec {
	return &hpa.Spec{MinReplicas: i32(1), MaxReplicas: 20, Behavior: b, Metrics: []hpa.MetricSpec{{Type: hpa.ResourceMetric, Name: "cpu",
		Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 50}}}}
}

// observe is n ready pods of 1 CPU each using usage milli-CPU, or a failed
// metric when usage < 0.
func observe(n int32, usage int64) hpa.Input {
	in := hpa.Input{Now: t0, SpecReplicas: n, StatusReplicas: n, Metrics: make([]hpa.MetricInput, 1)}
	for i := range n {
		name := "p" + string(rune('a'+i))
		in.Pods = append(in.Pods, hpa.Pod{Name: name, Phase: hpa.PodRunning, Ready: hpa.ConditionTrue,
			StartTime: t0.Add(-time.Hour), ReadyTransition: t0.Add(-time.Hour),
			Containers: []hpa.Container{{Name: "app", Requests: hpa.Resources{{Name: hpa.ResourceCPU, Milli: 1000}}}}})
		in.Metrics[0].Samples = append(in.Metrics[0].Samples, hpa.PodSample{Pod: name, Value: usage, Timestamp: t0.Add(-30 * time.Second), Window: time.Minute})
	}
	if usage < 0 {
		in.Metrics[0] = hpa.MetricInput{Err: errors.New("metrics unavailable")}
	}
	return in
}

func cond(t *testing.T, r *hpa.Result, typ hpa.ConditionType) hpa.Condition {
	t.Helper()
	c, ok := r.Condition(typ)
	if !ok {
		t.Fatalf("no %s condition in %+v", typ, r.Conditions)
	}
	return c
}

// Without bounds the decision is exactly hpa.Evaluate's.
func TestDecideWithoutBoundsIsEvaluate(t *testing.T) {
	for _, usage := range []int64{100, 500, 900, -1} {
		var st1, st2 hpa.State
		want, err := hpa.Evaluate(hpa.DefaultConfig(), *cpuSpec(nil), observe(4, usage), &st1)
		if err != nil {
			t.Fatal(err)
		}
		d, err := podscale.Decide(podscale.Input{Spec: cpuSpec(nil), Observation: observe(4, usage)}, &st2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, *d.HPA, cmpopts.IgnoreFields(hpa.Result{}, "Err"), cmpopts.IgnoreFields(hpa.Proposal{}, "Err")); diff != "" {
			t.Errorf("usage %d: HPA result differs (-Evaluate +Decide):\n%s", usage, diff)
		}
		if diff := cmp.Diff(st1, st2); diff != "" {
			t.Errorf("usage %d: state differs:\n%s", usage, diff)
		}
		wantDesired := want.DesiredReplicas
		if d.Desired != wantDesired || d.Rescale != want.Rescale {
			t.Errorf("usage %d: Decide = %d (rescale %v), Evaluate = %d (rescale %v)", usage, d.Desired, d.Rescale, wantDesired, want.Rescale)
		}
	}
}

func TestDecideReasons(t *testing.T) {
	cases := []struct {
		name        string
		spec        *hpa.Spec
		in          hpa.Input
		bounds      schedule.Bounds
		policy      schedule.Policy
		desired     int32
		recommended int32
		reason      podscale.Reason
		limited     hpa.Reason // ScalingLimited reason in the HPA status ("" = not checked)
	}{
		{name: "no spec, no bounds", in: hpa.Input{Now: t0, SpecReplicas: 3}, desired: 3, recommended: 3, reason: podscale.ReasonNoSpec},
		{name: "no spec, floor", in: hpa.Input{Now: t0, SpecReplicas: 3}, bounds: schedule.Floor(5), desired: 5, recommended: 3, reason: podscale.ReasonScheduleFloor},
		{name: "metrics scale up", spec: cpuSpec(nil), in: observe(4, 900), desired: 8, recommended: 8, reason: podscale.ReasonMetrics},
		{name: "floor above metrics", spec: cpuSpec(nil), in: observe(4, 500), bounds: schedule.Floor(10), desired: 10, recommended: 4,
			reason: podscale.ReasonScheduleFloor, limited: hpa.Reason(schedule.ReasonScheduleFloor)},
		{name: "ceiling below metrics", spec: cpuSpec(nil), in: observe(4, 900), bounds: schedule.Ceiling(6), desired: 6, recommended: 8,
			reason: podscale.ReasonScheduleCeiling, limited: hpa.Reason(schedule.ReasonScheduleCeiling)},
		{name: "ceiling ignored under Floor policy", spec: cpuSpec(nil), in: observe(4, 900), bounds: schedule.Ceiling(6), policy: schedule.PolicyFloor,
			desired: 8, recommended: 8, reason: podscale.ReasonMetrics},
		{name: "override", spec: cpuSpec(nil), in: observe(4, 900), bounds: schedule.Exact(2), policy: schedule.PolicyOverride, desired: 2, recommended: 8,
			reason: podscale.ReasonScheduleOverride, limited: hpa.Reason(schedule.ReasonScheduleOverride)},
		{name: "metric down holds", spec: cpuSpec(nil), in: observe(4, -1), desired: 4, recommended: 4, reason: podscale.Reason(hpa.ReasonFailedGetResourceMetric)},
		{name: "metric down, floor still holds", spec: cpuSpec(nil), in: observe(4, -1), bounds: schedule.Floor(6), desired: 6, recommended: 4,
			reason: podscale.ReasonScheduleFloor, limited: hpa.Reason(schedule.ReasonScheduleFloor)},
		{name: "invalid spec holds, bounds apply", spec: &hpa.Spec{MaxReplicas: 0}, in: hpa.Input{Now: t0, SpecReplicas: 2}, bounds: schedule.Floor(3),
			desired: 3, recommended: 2, reason: podscale.ReasonScheduleFloor},
		{name: "invalid spec holds", spec: &hpa.Spec{MaxReplicas: 0}, in: hpa.Input{Now: t0, SpecReplicas: 2}, desired: 2, recommended: 2, reason: podscale.ReasonFailedCompute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var st hpa.State
			d, err := podscale.Decide(podscale.Input{Spec: tc.spec, Observation: tc.in, Bounds: tc.bounds, Policy: tc.policy}, &st)
			if err != nil {
				t.Fatal(err)
			}
			if d.Desired != tc.desired || d.Recommended != tc.recommended || d.Reason != tc.reason {
				t.Fatalf("Decide = desired %d recommended %d reason %s (%s), want %d %d %s", d.Desired, d.Recommended, d.Reason, d.Message,
					tc.desired, tc.recommended, tc.reason)
			}
			if d.Rescale != (d.Desired != d.Current) || d.Message == "" {
				t.Fatalf("rescale %v with %d → %d, message %q", d.Rescale, d.Current, d.Desired, d.Message)
			}
			if d.HPA == nil {
				return
			}
			if d.HPA.DesiredReplicas != d.Desired && !d.HPA.Stopped {
				t.Fatalf("HPA status desired %d, decision %d", d.HPA.DesiredReplicas, d.Desired)
			}
			if tc.limited != "" {
				if c := cond(t, d.HPA, hpa.ScalingLimited); c.Reason != tc.limited || c.Status != hpa.ConditionTrue {
					t.Fatalf("ScalingLimited = %s %s, want True %s", c.Status, c.Reason, tc.limited)
				}
				want := hpa.ReasonReadyForNewScale
				if d.Rescale {
					want = hpa.ReasonSucceededRescale
				}
				if c := cond(t, d.HPA, hpa.AbleToScale); c.Reason != want {
					t.Fatalf("AbleToScale = %s, want %s", c.Reason, want)
				}
				if d.HPA.Stopped {
					t.Fatal("a count the schedule set left the HPA status stopped")
				}
			}
		})
	}
}

func TestDecideRefusesBadInput(t *testing.T) {
	var st hpa.State
	bad := []podscale.Input{
		{Observation: hpa.Input{SpecReplicas: -1}},
		{Observation: hpa.Input{SpecReplicas: 1}, Policy: "Sometimes"},
		{Observation: hpa.Input{SpecReplicas: 1}, Bounds: schedule.Floor(-2)},
		{Observation: hpa.Input{SpecReplicas: 1}, Bounds: schedule.Ceiling(-2)},
		{Observation: hpa.Input{SpecReplicas: 1}, Bounds: schedule.Bounds{Min: i32(5), Max: i32(3)}},
	}
	for i, in := range bad {
		in.Spec = cpuSpec(nil)
		if _, err := podscale.Decide(in, &st); !errors.Is(err, podscale.ErrInvalidInput) {
			t.Errorf("case %d: err = %v, want ErrInvalidInput", i, err)
		}
	}
	if len(st.Recommendations) != 0 {
		t.Fatal("a refused input changed the state")
	}
	if _, err := podscale.Decide(podscale.Input{}, nil); !errors.Is(err, podscale.ErrInvalidInput) {
		t.Fatalf("nil state: err = %v", err)
	}
}

func TestSucceededAndFailed(t *testing.T) {
	b := &hpa.Behavior{}
	var st hpa.State
	d, err := podscale.Decide(podscale.Input{Spec: cpuSpec(b), Observation: observe(4, 900), Bounds: schedule.Ceiling(6)}, &st)
	if err != nil || !d.Rescale || d.Desired != 6 {
		t.Fatalf("Decide = %+v, %v", d, err)
	}
	failed := d
	r := *d.HPA
	r.Conditions = append([]hpa.Condition(nil), r.Conditions...)
	failed.HPA = &r
	failed.Failed(errors.New("conflict"))
	if failed.Rescale || failed.Desired != 4 || failed.Reason != podscale.Reason(hpa.ReasonFailedUpdateScale) {
		t.Fatalf("Failed: %+v", failed)
	}
	if c := cond(t, failed.HPA, hpa.AbleToScale); c.Status != hpa.ConditionFalse || c.Reason != hpa.ReasonFailedUpdateScale {
		t.Fatalf("AbleToScale after Failed = %+v", c)
	}
	failed.Succeeded(&st) // no rescale: records nothing
	if len(st.ScaleUpEvents) != 0 {
		t.Fatal("Succeeded after Failed recorded an event")
	}
	d.Succeeded(&st)
	if len(st.ScaleUpEvents) != 1 || st.ScaleUpEvents[0].Change != 2 || !st.ScaleUpEvents[0].Timestamp.Equal(t0) {
		t.Fatalf("scale events = %+v, want one of +2 at t0 (the final count, not the HPA's 8)", st.ScaleUpEvents)
	}
}
