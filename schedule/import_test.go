package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/schedule"
)

func reportHas(r schedule.Report, rule, part string) bool {
	for _, c := range r {
		if (rule == "" || c.Rule == rule) && strings.Contains(c.Message, part) {
			return true
		}
	}
	return false
}

func TestFromKEDACron(t *testing.T) {
	spec, rep, err := schedule.FromKEDACron("office", map[string]string{
		"timezone": "Europe/Prague", "start": "30 6 * * 1-5", "end": "10 22 * * *", "desiredReplicas": "10"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.TimeZone != "Europe/Prague" || len(spec.Rules) != 1 || *spec.Rules[0].Bounds.Min != 10 || spec.Rules[0].Bounds.Max != nil {
		t.Errorf("spec = %+v", spec)
	}
	if !reportHas(rep, "office", "keda#4677") || !reportHas(rep, "office", "floor") {
		t.Errorf("report = %+v", rep)
	}
	// A plain daily window is read the same by KEDA: no disagreement reported.
	_, rep, err = schedule.FromKEDACron("daily", map[string]string{"timezone": "UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "2"})
	if err != nil || reportHas(rep, "daily", "keda#4677") {
		t.Errorf("daily window: %v %+v", err, rep)
	}
	for _, md := range []map[string]string{
		{"start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "2"},
		{"timezone": "UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "0"},
		{"timezone": "UTC", "start": "0 8 * * *", "end": "0 8 * * *", "desiredReplicas": "2"},
		{"timezone": "UTC", "start": "0 0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "2"},
	} {
		if _, _, err := schedule.FromKEDACron("x", md); !errors.Is(err, schedule.ErrInvalidSchedule) && !errors.Is(err, schedule.ErrInvalidCron) {
			t.Errorf("%v: %v", md, err)
		}
	}
}

func TestFromCronHPA(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var obj schedule.CronHPA
	obj.Spec.ScaleTargetRef.Kind = "HorizontalPodAutoscaler"
	obj.Spec.Jobs = []schedule.CronHPAJob{
		{Name: "five", Schedule: "0 30 9 * *", TargetSize: 4},
		{Name: "once", Schedule: "0 0 12 * * *", TargetSize: 9, RunOnce: true},
		{Name: "date", Schedule: "@date 2026-06-01 10:00:00", TargetSize: 7},
	}
	spec, rep, err := schedule.FromCronHPA(obj, "Asia/Shanghai", now)
	if err != nil {
		t.Fatal(err)
	}
	if !reportHas(rep, "five", "seconds first") || !reportHas(rep, "once", "runOnce") || !reportHas(rep, "date", "one-time") || !reportHas(rep, "", "rewrote its min/max") {
		t.Errorf("report = %+v", rep)
	}
	s, err := schedule.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	loc := s.Location()
	check := func(at time.Time, rule string) {
		t.Helper()
		if st := s.At(at); st.Rule != rule {
			t.Errorf("%s: %q, want %q", at, st.Rule, rule)
		}
	}
	check(time.Date(2026, 5, 1, 9, 45, 0, 0, loc), "five")  // 09:30:00 read seconds first
	check(time.Date(2026, 5, 1, 12, 30, 0, 0, loc), "once") // the one run-once fire
	check(time.Date(2026, 5, 2, 12, 30, 0, 0, loc), "five") // it does not fire again
	check(time.Date(2026, 6, 1, 10, 30, 0, 0, loc), "date")

	obj.Spec.Jobs = []schedule.CronHPAJob{{Name: "burst", Schedule: "* */10 * * * *", TargetSize: 2}}
	if _, _, err := schedule.FromCronHPA(obj, "Asia/Shanghai", now); !errors.Is(err, schedule.ErrInvalidCron) {
		t.Errorf("every-second job: %v", err)
	}
	if _, _, err := schedule.FromCronHPA(obj, "Not/AZone", now); !errors.Is(err, schedule.ErrUnknownZone) {
		t.Errorf("bad zone: %v", err)
	}
}
