package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/schedule"
)

func mustSchedule(t testing.TB, spec schedule.Spec) *schedule.Schedule {
	t.Helper()
	s, err := schedule.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(layout, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// keda#4677: a window from 06:30 on weekdays to 22:10 every day is closed
// all weekend; KEDA's next-start/next-end comparison says it is open.
func TestWindowAcrossTheWeekend(t *testing.T) {
	s := mustSchedule(t, schedule.Spec{TimeZone: "Europe/Prague", Rules: []schedule.RuleSpec{
		{Name: "office", Start: "30 6 * * 1-5", End: "10 22 * * *", Bounds: schedule.Floor(5)}}})
	cases := []struct {
		at     string
		active bool
	}{
		{"2024-06-07 12:00:00 +0200", true},  // Friday noon
		{"2024-06-07 23:00:00 +0200", false}, // Friday night
		{"2024-06-08 12:00:00 +0200", false}, // Saturday noon (the keda#4677 case)
		{"2024-06-09 12:00:00 +0200", false}, // Sunday
		{"2024-06-10 06:29:59 +0200", false},
		{"2024-06-10 06:30:00 +0200", true}, // Monday opening
		{"2024-06-10 22:10:00 +0200", false},
	}
	for _, tc := range cases {
		st := s.At(at(t, tc.at))
		if st.Active() != tc.active {
			t.Errorf("%s: active %v, want %v (%s)", tc.at, st.Active(), tc.active, st.Message)
		}
	}
	st := s.At(at(t, "2024-06-08 12:00:00 +0200"))
	if got := st.Next.Format(layout); got != "2024-06-10 06:30:00 +0200" {
		t.Errorf("next transition from Saturday = %s", got)
	}
}

func TestJobsLastFiredWins(t *testing.T) {
	s := mustSchedule(t, schedule.Spec{TimeZone: "Asia/Shanghai", Rules: []schedule.RuleSpec{
		{Name: "morning", Cron: "0 8 * * *", Bounds: schedule.Exact(10)},
		{Name: "night", Cron: "0 22 * * *", Bounds: schedule.Exact(2)},
	}})
	st := s.At(at(t, "2024-06-10 12:00:00 +0800"))
	if st.Rule != "morning" || *st.Bounds.Min != 10 || st.Since.Format(layout) != "2024-06-10 08:00:00 +0800" {
		t.Errorf("noon: %+v", st)
	}
	if st.Next.Format(layout) != "2024-06-10 22:00:00 +0800" {
		t.Errorf("next = %s", st.Next.Format(layout))
	}
	if st := s.At(at(t, "2024-06-11 03:00:00 +0800")); st.Rule != "night" {
		t.Errorf("03:00: %+v", st)
	}
	// A fire that was "missed" still counts: the state is a function of time.
	if st := s.At(at(t, "2024-06-11 07:59:59 +0800")); st.Rule != "night" || *st.Bounds.Max != 2 {
		t.Errorf("07:59: %+v", st)
	}
}

func TestWindowDSTAndLeadTime(t *testing.T) {
	s := mustSchedule(t, schedule.Spec{TimeZone: "America/New_York", Rules: []schedule.RuleSpec{
		{Name: "batch", Start: "30 2 * * *", End: "30 4 * * *", Bounds: schedule.Floor(3), LeadTime: 10 * time.Minute}}})
	// On the spring-forward day the 02:30-04:30 window becomes 03:00-04:30,
	// opened 10 minutes early by the lead time.
	for _, tc := range []struct {
		at     string
		active bool
	}{
		{"2024-03-10 01:45:00 -0500", false},
		{"2024-03-10 01:55:00 -0500", true}, // 10 minutes before 03:00 EDT
		{"2024-03-10 03:10:00 -0400", true},
		{"2024-03-10 04:30:00 -0400", false},
		{"2024-03-11 02:20:00 -0400", true},
	} {
		if st := s.At(at(t, tc.at)); st.Active() != tc.active {
			t.Errorf("%s: active %v, want %v", tc.at, st.Active(), tc.active)
		}
	}
}

func TestDurationWindowAndRangePrecedence(t *testing.T) {
	bf := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s := mustSchedule(t, schedule.Spec{Rules: []schedule.RuleSpec{
		{Name: "peak", Start: "0 18 * * *", Duration: 3 * time.Hour, Bounds: schedule.Floor(8)},
		{Name: "black-friday", From: bf, To: bf.Add(24 * time.Hour), Bounds: schedule.Ceiling(50), Priority: 1},
		{Name: "base", Cron: "0 0 * * *", Bounds: schedule.Floor(2)},
	}})
	cases := []struct {
		at   time.Time
		rule string
	}{
		{time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC), "peak"},
		{time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC), "base"},
		{time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC), "black-friday"},
		{time.Date(2026, 11, 28, 19, 0, 0, 0, time.UTC), "peak"},
	}
	for _, tc := range cases {
		if st := s.At(tc.at); st.Rule != tc.rule {
			t.Errorf("%s: %q, want %q (%s)", tc.at, st.Rule, tc.rule, st.Message)
		}
	}
}

func TestExclusions(t *testing.T) {
	s := mustSchedule(t, schedule.Spec{TimeZone: "Europe/Berlin",
		Calendars: []schedule.Calendar{
			{Name: "holidays", Dates: []string{"2026-12-25"}, Ranges: []schedule.DateRange{{From: "2026-12-31", To: "2027-01-01"}}},
			{Name: "sundays", Crons: []string{"* * * * 0"}},
		},
		Exclude: []string{"holidays"},
		Rules:   []schedule.RuleSpec{{Name: "office", Start: "0 8 * * *", End: "0 18 * * *", Bounds: schedule.Floor(4), Exclude: []string{"sundays"}}}})
	for _, tc := range []struct {
		day    string
		active bool
	}{
		{"2026-12-24", true}, {"2026-12-25", false}, {"2026-12-27", false} /* Sunday */, {"2026-12-28", true},
		{"2026-12-31", false}, {"2027-01-01", false}, {"2027-01-04", true},
	} {
		d, _ := time.ParseInLocation(time.DateOnly, tc.day, s.Location())
		if st := s.At(d.Add(12 * time.Hour)); st.Active() != tc.active {
			t.Errorf("%s noon: active %v, want %v", tc.day, st.Active(), tc.active)
		}
	}
}

func TestPreview(t *testing.T) {
	s := mustSchedule(t, schedule.Spec{TimeZone: "America/New_York", Rules: []schedule.RuleSpec{
		{Name: "day", Start: "0 9 * * 1-5", End: "0 17 * * 1-5", Bounds: schedule.Floor(6)}}})
	got := schedule.Preview(s, at(t, "2024-11-01 12:00:00 -0400"), 4)
	want := []string{"2024-11-01 17:00:00 -0400 ", "2024-11-04 09:00:00 -0500 day", "2024-11-04 17:00:00 -0500 ", "2024-11-05 09:00:00 -0500 day"}
	if len(got) != len(want) {
		t.Fatalf("preview = %+v", got)
	}
	for i := range want {
		if g := got[i].At.Format(layout) + " " + got[i].Rule; g != want[i] {
			t.Errorf("transition %d = %q, want %q", i, g, want[i])
		}
	}
}

func TestNewRejects(t *testing.T) {
	bf := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		spec schedule.Spec
		want string
	}{
		{"unknown zone", schedule.Spec{TimeZone: "Nowhere/City"}, "unknown time zone"},
		{"no bounds", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Cron: "0 8 * * *"}}}, "set min, max or both"},
		{"min above max", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Cron: "0 8 * * *", Bounds: schedule.Bounds{Min: ptr(5), Max: ptr(2)}}}}, "min 5 is above max 2"},
		{"two forms", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Cron: "0 8 * * *", Start: "0 9 * * *", End: "0 10 * * *", Bounds: schedule.Floor(1)}}}, "exactly one of"},
		{"no form", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Bounds: schedule.Floor(1)}}}, "exactly one of"},
		{"same start and end", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Start: "0 9 * * *", End: "0 9 * * *", Bounds: schedule.Floor(1)}}}, "must differ"},
		{"window without end", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Start: "0 9 * * *", Bounds: schedule.Floor(1)}}}, "an end or a duration"},
		{"bad cron", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Cron: "TZ=UTC 0 8 * * *", Bounds: schedule.Floor(1)}}}, "time zone prefixes"},
		{"range backwards", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", From: bf, To: bf.Add(-time.Hour), Bounds: schedule.Floor(1)}}}, "from before its to"},
		{"duplicate names", schedule.Spec{Rules: []schedule.RuleSpec{{Name: "a", Cron: "0 8 * * *", Bounds: schedule.Floor(1)}, {Name: "a", Cron: "0 9 * * *", Bounds: schedule.Floor(1)}}}, "unique name"},
		{"unknown calendar", schedule.Spec{Exclude: []string{"x"}, Rules: []schedule.RuleSpec{{Name: "a", Cron: "0 8 * * *", Bounds: schedule.Floor(1)}}}, `no calendar named "x"`},
		{"bad date", schedule.Spec{Calendars: []schedule.Calendar{{Name: "c", Dates: []string{"25/12/2026"}}}}, "not YYYY-MM-DD"},
		{"overlap without precedence", schedule.Spec{Rules: []schedule.RuleSpec{
			{Name: "a", Start: "0 9 * * *", End: "0 17 * * *", Bounds: schedule.Floor(1)},
			{Name: "b", Start: "0 16 * * *", End: "0 20 * * *", Bounds: schedule.Floor(2)}}}, `rules "a" and "b" are both in force`},
		{"range overlapping a window", schedule.Spec{Rules: []schedule.RuleSpec{
			{Name: "a", Start: "0 9 * * *", End: "0 17 * * *", Bounds: schedule.Floor(1)},
			{Name: "bf", From: bf, To: bf.Add(24 * time.Hour), Bounds: schedule.Floor(2)}}}, `"a" and "bf"`},
	}
	for _, tc := range cases {
		_, err := schedule.New(tc.spec)
		if !errors.Is(err, schedule.ErrInvalidSchedule) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrInvalidSchedule mentioning %q", tc.name, err, tc.want)
		}
	}
	// With a priority the same overlap is fine.
	if _, err := schedule.New(schedule.Spec{Rules: []schedule.RuleSpec{
		{Name: "a", Start: "0 9 * * *", End: "0 17 * * *", Bounds: schedule.Floor(1)},
		{Name: "b", Start: "0 16 * * *", End: "0 20 * * *", Bounds: schedule.Floor(2), Priority: 1}}}); err != nil {
		t.Errorf("overlap with precedence: %v", err)
	}
}

func TestCompose(t *testing.T) {
	cases := []struct {
		rec    int32
		b      schedule.Bounds
		p      schedule.Policy
		want   int32
		reason string
	}{
		{3, schedule.Floor(5), schedule.PolicyClamp, 5, schedule.ReasonScheduleFloor},
		{9, schedule.Floor(5), schedule.PolicyClamp, 9, schedule.ReasonRecommendation},
		{9, schedule.Ceiling(6), schedule.PolicyClamp, 6, schedule.ReasonScheduleCeiling},
		{9, schedule.Ceiling(6), schedule.PolicyFloor, 9, schedule.ReasonRecommendation},
		{3, schedule.Floor(5), schedule.PolicyCeiling, 3, schedule.ReasonRecommendation},
		{3, schedule.Exact(7), schedule.PolicyOverride, 7, schedule.ReasonScheduleOverride},
		{30, schedule.Exact(7), schedule.PolicyOverride, 7, schedule.ReasonScheduleOverride},
		{30, schedule.Bounds{}, schedule.PolicyOverride, 30, schedule.ReasonRecommendation},
	}
	for _, tc := range cases {
		d, err := schedule.Compose(tc.rec, tc.b, tc.p)
		if err != nil || d.Replicas != tc.want || d.Reason != tc.reason || d.Message == "" {
			t.Errorf("Compose(%d, %s, %s) = %+v, %v, want %d %s", tc.rec, tc.b, tc.p, d, err, tc.want, tc.reason)
		}
	}
}

// Compose refuses what it cannot combine without guessing (issue 11): an
// unknown policy, negative bounds, a minimum above the maximum and a
// negative recommendation, each with its typed error and the field.
func TestComposeRefuses(t *testing.T) {
	cases := []struct {
		name string
		rec  int32
		b    schedule.Bounds
		p    schedule.Policy
		want error
		text string
	}{
		{"unknown policy", 3, schedule.Floor(5), "Max", schedule.ErrInvalidPolicy, `"Max"`},
		{"policy in the wrong case", 3, schedule.Floor(5), "floor", schedule.ErrInvalidPolicy, `"floor"`},
		{"unknown policy with no bounds", 3, schedule.Bounds{}, "Sum", schedule.ErrInvalidPolicy, `"Sum"`},
		{"negative floor", 3, schedule.Floor(-1), schedule.PolicyClamp, schedule.ErrInvalidBounds, "min: -1"},
		{"negative ceiling", 3, schedule.Ceiling(-2), schedule.PolicyFloor, schedule.ErrInvalidBounds, "max: -2"},
		{"negative exact count", 3, schedule.Exact(-4), schedule.PolicyOverride, schedule.ErrInvalidBounds, "min: -4"},
		{"min above max", 3, schedule.Bounds{Min: ptr(5), Max: ptr(2)}, schedule.PolicyClamp, schedule.ErrInvalidBounds, "min 5 is above max 2"},
		{"min above max under Floor", 3, schedule.Bounds{Min: ptr(5), Max: ptr(2)}, schedule.PolicyFloor, schedule.ErrInvalidBounds, "min 5 is above max 2"},
		{"negative recommendation", -1, schedule.Floor(5), schedule.PolicyClamp, schedule.ErrInvalidRecommendation, "-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := schedule.Compose(tc.rec, tc.b, tc.p)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("Compose(%d, %s, %q) error %v, want %v mentioning %s", tc.rec, tc.b, tc.p, err, tc.want, tc.text)
			}
			if d != (schedule.Decision{}) {
				t.Errorf("a refused Compose returned %+v", d)
			}
		})
	}
	// The empty policy is the documented default, Clamp.
	if d, err := schedule.Compose(9, schedule.Ceiling(6), ""); err != nil || d.Replicas != 6 {
		t.Errorf(`Compose(9, at most 6, "") = %+v, %v, want 6`, d, err)
	}
	if err := schedule.Policy("Override").Validate(); err != nil {
		t.Errorf("Override: %v", err)
	}
	if err := (schedule.Bounds{}).Validate(); err != nil {
		t.Errorf("empty bounds: %v", err)
	}
}

func ptr(v int32) *int32 { return &v }
