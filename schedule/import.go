package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CronHPA is the part of kubernetes-cronhpa-controller's
// CronHorizontalPodAutoscaler (autoscaling.alibabacloud.com/v1beta1) that a
// schedule replaces; it unmarshals from the object's JSON or YAML.
type CronHPA struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Metadata   struct {
		Name      string `json:"name,omitempty"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"metadata,omitzero"`
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name,omitempty"`
		} `json:"scaleTargetRef,omitzero"`
		ExcludeDates []string     `json:"excludeDates,omitempty"`
		Jobs         []CronHPAJob `json:"jobs"`
	} `json:"spec"`
}

// CronHPAJob is one job of a CronHPA.
type CronHPAJob struct {
	Name       string `json:"name"`
	Schedule   string `json:"schedule"`
	TargetSize int32  `json:"targetSize"`
	RunOnce    bool   `json:"runOnce,omitempty"`
}

// Change is one thing whose meaning an import changes, or that the user
// should know about it.
type Change struct {
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// Report lists what an import changed.
type Report []Change

func (r *Report) add(rule, format string, args ...any) {
	*r = append(*r, Change{Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// FromCronHPA converts a CronHPA object into a Spec. zone is the zone the
// controller ran in (its TZ; the shipped manifest uses Asia/Shanghai), now is
// the instant of the migration (runOnce jobs keep their next fire only).
// Every job becomes a job rule with exact bounds read in cronhpa's dialect;
// excludeDates become a calendar. The report lists each change of meaning.
func FromCronHPA(obj CronHPA, zone string, now time.Time) (Spec, Report, error) {
	var rep Report
	loc, err := LoadLocation(zone)
	if err != nil {
		return Spec{}, nil, err
	}
	spec := Spec{TimeZone: zone, Cron: ParseOptions{CronHPA: true}}
	rep.add("", "every job is read in time zone %s; cronhpa-controller used its process's TZ for all objects", loc)
	rep.add("", "the schedule is level-triggered: a fire missed while the controller was down still takes effect, where cronhpa-controller lost it")
	if len(obj.Spec.ExcludeDates) > 0 {
		spec.Calendars = []Calendar{{Name: "excludeDates", Crons: obj.Spec.ExcludeDates}}
		spec.Exclude = []string{"excludeDates"}
		rep.add("", "excludeDates are matched against each fire's wall time; cronhpa-controller compared only month and hour (its date layout bug), so fires it skipped on the wrong days now happen")
	}
	if obj.Spec.ScaleTargetRef.Kind == "HorizontalPodAutoscaler" {
		rep.add("", "the target is an HPA: cronhpa-controller rewrote its min/max; compose the schedule's bounds with the HPA's recommendation instead (PolicyFloor keeps metric scale-ups)")
	}
	for _, j := range obj.Spec.Jobs {
		r, err := cronHPAJob(j, loc, now, &rep)
		if err != nil {
			return Spec{}, nil, fmt.Errorf("%w: job %q: %w", ErrInvalidSchedule, j.Name, err)
		}
		spec.Rules = append(spec.Rules, r)
	}
	if _, err := New(spec); err != nil {
		return Spec{}, nil, err
	}
	return spec, rep, nil
}

func cronHPAJob(j CronHPAJob, loc *time.Location, now time.Time, rep *Report) (RuleSpec, error) {
	r := RuleSpec{Name: j.Name, Bounds: Exact(j.TargetSize)}
	rep.add(j.Name, "targetSize %d becomes exact bounds (PolicyOverride reproduces cronhpa-controller; PolicyFloor lets metrics go higher)", j.TargetSize)
	if date, ok := strings.CutPrefix(strings.TrimSpace(j.Schedule), "@date "); ok {
		t, err := time.ParseInLocation(time.DateTime, strings.TrimSpace(date), loc)
		if err != nil {
			return r, fmt.Errorf("@date %q is not YYYY-MM-DD HH:MM:SS", date)
		}
		r.At = t
		rep.add(j.Name, "@date becomes a one-time job at %s", t.Format(time.RFC3339))
		return r, nil
	}
	c, err := ParseCron(j.Schedule, loc, ParseOptions{CronHPA: true})
	if err != nil {
		return r, err
	}
	r.Cron = j.Schedule
	if n := len(strings.Fields(j.Schedule)); n == 5 && !strings.HasPrefix(j.Schedule, "@") {
		first, _ := c.Next(now)
		rep.add(j.Name, "the 5-field schedule %q is read as cronhpa-controller reads it, seconds first (second minute hour day month), not as a standard cron: next fire %s", j.Schedule, first.Format(time.RFC3339))
	}
	if j.RunOnce {
		first, ok := c.Next(now)
		if !ok {
			return r, errors.New("runOnce job never fires again")
		}
		r.NotBefore, r.NotAfter = first, first
		rep.add(j.Name, "runOnce: only the fire at %s counts", first.Format(time.RFC3339))
	}
	return r, nil
}

// FromKEDACron converts the metadata of a KEDA "cron" trigger (timezone,
// start, end, desiredReplicas) into a Spec with one window rule named name,
// bounded below by desiredReplicas, which is how the HPA's maximum over
// metrics applies it. The report notes where KEDA's own window test
// (next end before next start, keda#4677) would have disagreed.
func FromKEDACron(name string, metadata map[string]string) (Spec, Report, error) {
	var rep Report
	zone := metadata["timezone"]
	if zone == "" {
		return Spec{}, nil, fmt.Errorf("%w: KEDA cron metadata: timezone is required", ErrInvalidSchedule)
	}
	n, err := strconv.ParseInt(metadata["desiredReplicas"], 10, 32)
	if err != nil || n <= 0 {
		return Spec{}, nil, fmt.Errorf("%w: KEDA cron metadata: desiredReplicas %q must be a positive integer", ErrInvalidSchedule, metadata["desiredReplicas"])
	}
	spec := Spec{TimeZone: zone, Rules: []RuleSpec{{Name: name, Start: metadata["start"], End: metadata["end"], Bounds: Floor(int32(n))}}}
	s, err := New(spec)
	if err != nil {
		return Spec{}, nil, err
	}
	rep.add(name, "desiredReplicas %d is a floor while the window is open, as under KEDA; outside it the schedule imposes nothing", n)
	if u, ok := kedaDisagreement(s); ok {
		rep.add(name, "the window is decided by comparing the last start with the last end; KEDA's next-start/next-end test differs, e.g. at %s (keda#4677)", u.Format(time.RFC3339))
	}
	return spec, rep, nil
}

// kedaDisagreement finds an hour of a reference fortnight at which KEDA's
// window test (the next end comes before the next start) and the schedule's
// disagree.
func kedaDisagreement(s *Schedule) (time.Time, bool) {
	r := &s.rules[0]
	start := time.Date(overlapYear, 6, 3, 0, 0, 0, 0, s.loc).Unix()
	for u := start; u < start+14*86400; u += 3600 {
		ns, okS := r.start.next(u)
		ne, okE := r.end.next(u)
		keda := okS && okE && ne < ns
		if _, ours := s.inForce(r, u); keda != ours {
			return time.Unix(u, 0).In(s.loc), true
		}
	}
	return time.Time{}, false
}
