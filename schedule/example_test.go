package schedule_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kscale/kscale/schedule"
)

// A weekday business-hours floor: at least 6 replicas from 08:00 to 18:00,
// Monday to Friday, Berlin time, opened 15 minutes early so that the pods
// are ready; the metric recommendation can still go higher.
func ExampleSchedule_At() {
	s, err := schedule.New(schedule.Spec{
		TimeZone: "Europe/Berlin",
		Rules: []schedule.RuleSpec{{
			Name:  "business-hours",
			Start: "0 8 * * 1-5", End: "0 18 * * 1-5",
			LeadTime: 15 * time.Minute,
			Bounds:   schedule.Floor(6),
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	loc := s.Location()
	for _, at := range []time.Time{
		time.Date(2026, 3, 27, 7, 50, 0, 0, loc), // Friday, inside the lead time
		time.Date(2026, 3, 28, 12, 0, 0, 0, loc), // Saturday
	} {
		st := s.At(at)
		d, err := schedule.Compose(2, st.Bounds, schedule.PolicyFloor) // the HPA asks for 2
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: active=%v replicas=%d (%s), next change %s\n",
			at.Format("Mon 15:04"), st.Active(), d.Replicas, d.Reason, st.Next.Format("Mon 02 Jan 15:04 MST"))
	}
	// Output:
	// Fri 07:50: active=true replicas=6 (ScheduleFloor), next change Fri 27 Mar 18:00 CET
	// Sat 12:00: active=false replicas=2 (MetricRecommendation), next change Mon 30 Mar 07:45 CEST
}

// A Black-Friday one-shot window with a ceiling: during the sale the
// workload may not exceed 40 replicas (a downstream's limit), whatever the
// metrics say; it takes precedence over the daily evening floor.
func ExamplePreview() {
	sale := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s, err := schedule.New(schedule.Spec{Rules: []schedule.RuleSpec{
		{Name: "evening", Start: "0 18 * * *", Duration: 4 * time.Hour, Bounds: schedule.Floor(10)},
		{Name: "black-friday", From: sale, To: sale.Add(24 * time.Hour), Bounds: schedule.Ceiling(40), Priority: 1},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tr := range schedule.Preview(s, sale.Add(-12*time.Hour), 5) {
		fmt.Printf("%s %q %s\n", tr.At.Format("Jan 02 15:04"), tr.Rule, tr.Bounds)
	}
	if d, err := schedule.Compose(75, s.At(sale.Add(19*time.Hour)).Bounds, schedule.PolicyClamp); err == nil {
		fmt.Println(d.Replicas)
	}
	// Output:
	// Nov 26 18:00 "evening" at least 10
	// Nov 26 22:00 "" no bounds
	// Nov 27 00:00 "black-friday" at most 40
	// Nov 28 00:00 "" no bounds
	// Nov 28 18:00 "evening" at least 10
	// 40
}

// A cronhpa-controller object converted: its 6-field schedules are read in
// its dialect (seconds first), in the zone the controller ran in, and the
// report says what changes.
func ExampleFromCronHPA() {
	var obj schedule.CronHPA
	err := json.Unmarshal([]byte(`{
	  "apiVersion": "autoscaling.alibabacloud.com/v1beta1",
	  "kind": "CronHorizontalPodAutoscaler",
	  "metadata": {"name": "web"},
	  "spec": {
	    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
	    "excludeDates": ["* * * 1 10 *"],
	    "jobs": [
	      {"name": "scale-up", "schedule": "0 0 8 * * *", "targetSize": 12},
	      {"name": "scale-down", "schedule": "0 0 20 * * *", "targetSize": 3}
	    ]
	  }
	}`), &obj)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC)
	spec, report, err := schedule.FromCronHPA(obj, "Asia/Shanghai", now)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range report {
		if c.Rule == "scale-up" {
			fmt.Println(c.Message)
		}
	}
	s, _ := schedule.New(spec)
	for _, day := range []int{30, 1} { // Oct 1 is excluded: the 08:00 job does not fire
		month := time.October
		if day == 30 {
			month = time.September
		}
		st := s.At(time.Date(2026, month, day, 12, 0, 0, 0, s.Location()))
		fmt.Printf("%s noon: %s %s\n", st.At.Format("Jan 02"), st.Rule, st.Bounds)
	}
	// Output:
	// targetSize 12 becomes exact bounds (PolicyOverride reproduces cronhpa-controller; PolicyFloor lets metrics go higher)
	// Sep 30 noon: scale-up exactly 12
	// Oct 01 noon: scale-down exactly 3
}

// Next and Prev share one set of clock-change rules: 02:30 does not exist in
// New York on 10 March 2024, so the daily 02:30 job fires at 03:00 that day.
func ExampleCron_Next() {
	loc, _ := schedule.LoadLocation("America/New_York")
	c, _ := schedule.ParseCron("30 2 * * *", loc, schedule.ParseOptions{})
	t := time.Date(2024, 3, 9, 12, 0, 0, 0, loc)
	for range 2 {
		t, _ = c.Next(t)
		fmt.Println(t.Format("2006-01-02 15:04 MST"))
	}
	// Output:
	// 2024-03-10 03:00 EDT
	// 2024-03-11 02:30 EDT
}
