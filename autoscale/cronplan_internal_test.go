package autoscale

import (
	"testing"
	"time"

	"github.com/kscale/kscale/schedule"
)

func berlinOffice(t *testing.T, b schedule.Bounds) *schedule.Schedule {
	t.Helper()
	s, err := schedule.New(schedule.Spec{TimeZone: "Europe/Berlin", Rules: []schedule.RuleSpec{
		{Name: "office", Start: "0 8 * * *", End: "0 18 * * *", Bounds: b}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func berlin(t *testing.T, y int, m time.Month, d, h, min int) time.Time {
	t.Helper()
	loc, err := schedule.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

// The requeue is exactly the next transition, across a DST change, unless
// the resync period comes first.
func TestPlanCronRequeuesAtTheNextTransition(t *testing.T) {
	s := berlinOffice(t, schedule.Floor(5))
	cases := []struct {
		name   string
		now    time.Time
		resync time.Duration
		want   time.Duration
	}{
		{"before the window", berlin(t, 2026, 3, 2, 7, 0), 24 * time.Hour, time.Hour},
		{"inside the window", berlin(t, 2026, 3, 2, 8, 0), 24 * time.Hour, 10 * time.Hour},
		{"night across spring-forward (23 h day)", berlin(t, 2026, 3, 28, 18, 0), 24 * time.Hour, 13 * time.Hour},
		{"night across fall-back (25 h day)", berlin(t, 2026, 10, 24, 18, 0), 24 * time.Hour, 15 * time.Hour},
		{"resync comes first", berlin(t, 2026, 3, 2, 7, 0), time.Minute, time.Minute},
		{"one second before", berlin(t, 2026, 3, 2, 8, 0).Add(-time.Second), 24 * time.Hour, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := planCron(tc.now, s.At(tc.now), tc.resync, 2, nil)
			if p.RequeueAfter != tc.want {
				t.Fatalf("RequeueAfter = %v, want %v (next %v)", p.RequeueAfter, tc.want, p.State.Next)
			}
			if got := tc.now.Add(p.RequeueAfter); tc.resync > tc.want && !got.Equal(p.State.Next) {
				t.Fatalf("requeued at %v, transition at %v", got, p.State.Next)
			}
		})
	}
}

// After downtime the plan applies the rule in force now: no replay of the
// transitions missed, no action for a window that opened and closed meanwhile.
func TestPlanCronCatchesUpAfterDowntime(t *testing.T) {
	s := berlinOffice(t, schedule.Floor(5))
	cases := []struct {
		name    string
		now     time.Time
		current int32
		desired int32
		reason  string
	}{
		{"missed the 08:00 start", berlin(t, 2026, 3, 2, 12, 0), 2, 5, ReasonScheduleApplied},
		{"already above the floor", berlin(t, 2026, 3, 2, 12, 0), 9, 9, ReasonScheduleHeld},
		{"the whole window was missed", berlin(t, 2026, 3, 2, 19, 0), 2, 2, ReasonNoRuleInForce},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := planCron(tc.now, s.At(tc.now), time.Hour, tc.current, nil)
			if p.Desired != tc.desired || p.Rescale != (tc.desired != tc.current) || p.Reason != tc.reason {
				t.Fatalf("plan = %d (rescale %v) %s: %s; want %d %s", p.Desired, p.Rescale, p.Reason, p.Message, tc.desired, tc.reason)
			}
		})
	}
}

func TestPlanCronBoundsAnOwningHPA(t *testing.T) {
	i := func(v int32) *int32 { return &v }
	own := HPABounds{MinReplicas: i(2), MaxReplicas: 10}
	in, out := berlin(t, 2026, 3, 2, 9, 0), berlin(t, 2026, 3, 2, 20, 0)
	cases := []struct {
		name   string
		bounds schedule.Bounds
		now    time.Time
		view   hpaView
		want   []hpaChange
	}{
		{"floor: min raised, originals saved", schedule.Floor(5), in, hpaView{Name: "h", Bounds: own},
			[]hpaChange{{Name: "h", Bounds: HPABounds{MinReplicas: i(5), MaxReplicas: 10}, Save: &own, Reason: ReasonBoundedHPA}}},
		{"floor above max: max follows", schedule.Floor(20), in, hpaView{Name: "h", Bounds: own},
			[]hpaChange{{Name: "h", Bounds: HPABounds{MinReplicas: i(20), MaxReplicas: 20}, Save: &own, Reason: ReasonBoundedHPA}}},
		{"ceiling below min: min follows", schedule.Ceiling(1), in, hpaView{Name: "h", Bounds: own},
			[]hpaChange{{Name: "h", Bounds: HPABounds{MinReplicas: i(1), MaxReplicas: 1}, Save: &own, Reason: ReasonBoundedHPA}}},
		{"exact", schedule.Exact(3), in, hpaView{Name: "h", Bounds: own},
			[]hpaChange{{Name: "h", Bounds: HPABounds{MinReplicas: i(3), MaxReplicas: 3}, Save: &own, Reason: ReasonBoundedHPA}}},
		{"already bounded: nothing to write", schedule.Floor(5), in,
			hpaView{Name: "h", Bounds: HPABounds{MinReplicas: i(5), MaxReplicas: 10}, Saved: &own}, nil},
		{"bounded from the saved originals, not the present ones", schedule.Ceiling(8), in,
			hpaView{Name: "h", Bounds: HPABounds{MinReplicas: i(5), MaxReplicas: 10}, Saved: &own},
			[]hpaChange{{Name: "h", Bounds: HPABounds{MinReplicas: i(2), MaxReplicas: 8}, Reason: ReasonBoundedHPA}}},
		{"no rule: originals restored", schedule.Floor(5), out,
			hpaView{Name: "h", Bounds: HPABounds{MinReplicas: i(5), MaxReplicas: 10}, Saved: &own},
			[]hpaChange{{Name: "h", Bounds: own, Restore: true, Reason: ReasonRestoredHPA}}},
		{"no rule, never bounded: nothing", schedule.Floor(5), out, hpaView{Name: "h", Bounds: own}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := berlinOffice(t, tc.bounds)
			p := planCron(tc.now, s.At(tc.now), time.Hour, 0, []hpaView{tc.view})
			if p.Rescale {
				t.Fatal("an HPA-owned target had its replicas planned")
			}
			if len(p.HPAs) != len(tc.want) {
				t.Fatalf("changes = %+v, want %+v", p.HPAs, tc.want)
			}
			for k, c := range p.HPAs {
				w := tc.want[k]
				if c.Name != w.Name || !c.Bounds.equal(w.Bounds) || c.Restore != w.Restore || c.Reason != w.Reason ||
					(c.Save == nil) != (w.Save == nil) || (c.Save != nil && !c.Save.equal(*w.Save)) || c.Message == "" {
					t.Fatalf("change = %+v (bounds %s), want %+v (bounds %s)", c, c.Bounds, w, w.Bounds)
				}
			}
		})
	}
}
