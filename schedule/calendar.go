package schedule

import (
	"fmt"
	"time"
)

// Calendar is a named set of excluded days, reusable across rules: civil
// dates and inclusive date ranges in the schedule's zone ("2026-12-25"),
// and cron expressions matched against the wall time of a fire (the form
// cronhpa-controller's excludeDates use, e.g. "* * * 15 11 *" in its dialect).
type Calendar struct {
	Name   string      `json:"name"`
	Dates  []string    `json:"dates,omitempty"`
	Ranges []DateRange `json:"ranges,omitempty"`
	Crons  []string    `json:"crons,omitempty"`
}

// DateRange is an inclusive range of civil dates, "2026-12-24" to "2027-01-01".
type DateRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// calendar is a compiled Calendar: days as day numbers, crons as matchers.
type calendar struct {
	name   string
	days   map[int64]bool
	ranges [][2]int64
	crons  []*Cron
}

func compileCalendar(c Calendar, loc *time.Location, opts ParseOptions) (*calendar, error) {
	out := &calendar{name: c.Name, days: map[int64]bool{}}
	for _, d := range c.Dates {
		day, err := parseDay(d)
		if err != nil {
			return nil, fmt.Errorf("calendar %q: %w", c.Name, err)
		}
		out.days[day] = true
	}
	for _, r := range c.Ranges {
		from, err := parseDay(r.From)
		if err != nil {
			return nil, fmt.Errorf("calendar %q: %w", c.Name, err)
		}
		to, err := parseDay(r.To)
		if err != nil {
			return nil, fmt.Errorf("calendar %q: %w", c.Name, err)
		}
		if to < from {
			return nil, fmt.Errorf("calendar %q: range %s..%s ends before it starts", c.Name, r.From, r.To)
		}
		out.ranges = append(out.ranges, [2]int64{from, to})
	}
	// Exclusion crons only match; they never fire, so any frequency is fine.
	matchOpts := ParseOptions{Seconds: opts.Seconds || opts.CronHPA, CronHPA: opts.CronHPA}
	for _, e := range c.Crons {
		cr, err := ParseCron(e, loc, matchOpts)
		if err != nil {
			return nil, fmt.Errorf("calendar %q: %w", c.Name, err)
		}
		out.crons = append(out.crons, cr)
	}
	return out, nil
}

func parseDay(s string) (int64, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return daysFromCivil(int64(t.Year()), int64(t.Month()), int64(t.Day())), nil
}

// excludes reports whether the fire at instant u (whose wall time is w)
// falls on an excluded day.
func (c *calendar) excludes(u, w int64, loc *time.Location) bool {
	day := floorDiv(w, secondsPerDay)
	if c.days[day] {
		return true
	}
	for _, r := range c.ranges {
		if day >= r[0] && day <= r[1] {
			return true
		}
	}
	for _, cr := range c.crons {
		if cr.Matches(time.Unix(u, 0)) {
			return true
		}
	}
	return false
}
