package schedule

import (
	"errors"
	"fmt"

	"time"
)

// Spec is a schedule as written: rules read in one IANA time zone.
type Spec struct {
	// TimeZone is the IANA zone every rule and calendar is read in; "" is UTC.
	TimeZone string `json:"timeZone,omitempty"`
	// Cron selects the cron dialect of every expression.
	Cron ParseOptions `json:"cron,omitzero"`
	// Calendars are named exclusions that rules refer to.
	Calendars []Calendar `json:"calendars,omitempty"`
	// Exclude names calendars that apply to every rule.
	Exclude []string   `json:"exclude,omitempty"`
	Rules   []RuleSpec `json:"rules"`
}

// RuleSpec is one rule. Exactly one form is set:
//
//   - a job: Cron (or At, a single instant). From each fire on, its bounds
//     hold until another job fires: the last fired job wins (cronhpa's jobs).
//     NotBefore and NotAfter limit the fires that count.
//   - a window: Start and End, or Start and Duration. It is in force while
//     the last start is later than the last end (KEDA's cron trigger, with
//     the comparison that keda#4677 asks for).
//   - a range: From and, optionally, To (RFC 3339 instants); To empty means
//     open-ended.
//
// When several rules are in force, the highest Priority wins; at equal
// priority a range beats a window and a window beats a job. Two windows or
// ranges of equal priority may not be in force together (New refuses them).
type RuleSpec struct {
	Name string `json:"name"`

	Cron      string    `json:"cron,omitempty"`
	At        time.Time `json:"at,omitzero"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	NotAfter  time.Time `json:"notAfter,omitzero"`

	Start    string        `json:"start,omitempty"`
	End      string        `json:"end,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`

	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`

	Bounds   Bounds `json:"bounds"`
	Priority int32  `json:"priority,omitempty"`
	// LeadTime moves the rule's starts (job fires, window starts, range
	// starts) earlier, so that capacity is ready when the time comes.
	LeadTime time.Duration `json:"leadTime,omitempty"`
	// Exclude names calendars whose days this rule's starts skip.
	Exclude []string `json:"exclude,omitempty"`
}

// RuleKind is the form of a rule.
type RuleKind string

// Rule kinds, in increasing precedence at equal priority.
const (
	KindJob    RuleKind = "Job"
	KindWindow RuleKind = "Window"
	KindRange  RuleKind = "Range"
)

func (k RuleKind) rank() int {
	switch k {
	case KindRange:
		return 2
	case KindWindow:
		return 1
	}
	return 0
}

type rule struct {
	name                string
	kind                RuleKind
	cron, start, end    *Cron
	at                  time.Time
	notBefore, notAfter time.Time
	dur, lead           time.Duration
	from, to            time.Time
	bounds              Bounds
	priority            int32
	exclude             []*calendar
}

// Schedule is a compiled Spec. It is immutable and safe for concurrent use;
// every question takes the instant as an argument.
type Schedule struct {
	loc   *time.Location
	rules []rule
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// New compiles and validates spec. Errors wrap ErrInvalidSchedule (and
// ErrInvalidCron or ErrUnknownZone where they apply), one per problem.
func New(spec Spec) (*Schedule, error) {
	loc, err := LoadLocation(spec.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%w: timeZone: %w", ErrInvalidSchedule, err)
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidSchedule, fmt.Sprintf(format, args...)))
	}
	cals := map[string]*calendar{}
	for _, c := range spec.Calendars {
		if c.Name == "" || cals[c.Name] != nil {
			fail("calendar name %q is empty or repeated", c.Name)
			continue
		}
		cal, err := compileCalendar(c, loc, spec.Cron)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidSchedule, err))
			continue
		}
		cals[c.Name] = cal
	}
	lookup := func(where string, names []string) []*calendar {
		var out []*calendar
		for _, n := range names {
			if c := cals[n]; c != nil {
				out = append(out, c)
			} else {
				fail("%s: no calendar named %q", where, n)
			}
		}
		return out
	}
	global := lookup("exclude", spec.Exclude)
	s := &Schedule{loc: loc}
	names := map[string]bool{}
	for i, rs := range spec.Rules {
		where := fmt.Sprintf("rules[%d] (%s)", i, rs.Name)
		if rs.Name == "" || names[rs.Name] {
			fail("%s: a rule needs a unique name", where)
		}
		names[rs.Name] = true
		r, err := compileRule(rs, loc, spec.Cron)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrInvalidSchedule, where, err))
			continue
		}
		r.exclude = append(append(r.exclude, global...), lookup(where, rs.Exclude)...)
		s.rules = append(s.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := s.checkOverlaps(); err != nil {
		return nil, err
	}
	return s, nil
}

func compileRule(rs RuleSpec, loc *time.Location, opts ParseOptions) (rule, error) {
	r := rule{name: rs.Name, bounds: rs.Bounds, priority: rs.Priority, lead: rs.LeadTime,
		at: rs.At, notBefore: rs.NotBefore, notAfter: rs.NotAfter, from: rs.From, to: rs.To, dur: rs.Duration}
	if err := checkBounds(rs.Bounds); err != nil {
		return r, err
	}
	if rs.LeadTime < 0 || rs.Duration < 0 {
		return r, errors.New("leadTime and duration may not be negative")
	}
	forms := 0
	var err error
	if rs.Cron != "" || !rs.At.IsZero() {
		forms++
		r.kind = KindJob
		if rs.Cron != "" && !rs.At.IsZero() {
			return r, errors.New("a job has a cron or an instant (at), not both")
		}
		if rs.Cron != "" {
			if r.cron, err = ParseCron(rs.Cron, loc, opts); err != nil {
				return r, err
			}
		}
	}
	if rs.Start != "" || rs.End != "" || rs.Duration != 0 {
		forms++
		r.kind = KindWindow
		if r.start, err = ParseCron(rs.Start, loc, opts); err != nil {
			return r, fmt.Errorf("start: %w", err)
		}
		switch {
		case rs.End != "" && rs.Duration != 0:
			return r, errors.New("a window has an end or a duration, not both")
		case rs.End == "" && rs.Duration == 0:
			return r, errors.New("a window needs an end or a duration")
		case rs.End == rs.Start:
			return r, errors.New("a window's start and end must differ")
		case rs.End != "":
			if r.end, err = ParseCron(rs.End, loc, opts); err != nil {
				return r, fmt.Errorf("end: %w", err)
			}
		}
	}
	if !rs.From.IsZero() || !rs.To.IsZero() {
		forms++
		r.kind = KindRange
		if rs.From.IsZero() || (!rs.To.IsZero() && !rs.To.After(rs.From)) {
			return r, errors.New("a range needs a from before its to")
		}
	}
	if forms != 1 {
		return r, errors.New("set exactly one of cron/at (a job), start with end or duration (a window), from/to (a range)")
	}
	return r, nil
}

func checkBounds(b Bounds) error {
	if b.IsZero() {
		return errors.New("bounds: set min, max or both")
	}
	if err := b.Validate(); err != nil {
		return fmt.Errorf("bounds: %w", err)
	}
	return nil
}

// excluded reports whether a start of r at instant u falls on an excluded day.
func (s *Schedule) excluded(r *rule, u int64) bool {
	if len(r.exclude) == 0 {
		return false
	}
	w := u + offsetAt(s.loc, u)
	for _, c := range r.exclude {
		if c.excludes(u, w, s.loc) {
			return true
		}
	}
	return false
}

// allowedFire reports whether a job fire at u counts.
func (r *rule) inJobLimits(u int64) bool {
	return (r.notBefore.IsZero() || u >= r.notBefore.Unix()) && (r.notAfter.IsZero() || u <= r.notAfter.Unix())
}

// maxSkips bounds how many excluded or out-of-limit starts one search skips.
const maxSkips = 4000

// lastStart is the last counting start of r at or before instant u (before
// the lead time is applied).
func (s *Schedule) lastStart(r *rule, u int64) (int64, bool) {
	switch r.kind {
	case KindJob:
		if r.cron == nil {
			a := r.at.Unix()
			return a, a <= u && r.inJobLimits(a) && !s.excluded(r, a)
		}
		if !r.notAfter.IsZero() {
			u = min(u, r.notAfter.Unix())
		}
		return s.prevCounting(r, r.cron, u, func(f int64) bool { return r.notBefore.IsZero() || f >= r.notBefore.Unix() })
	case KindWindow:
		return s.prevCounting(r, r.start, u, nil)
	}
	f := r.from.Unix()
	return f, f <= u
}

// prevCounting walks back over c's fires from u, skipping excluded days; keep
// (when set) stops the walk when it returns false.
func (s *Schedule) prevCounting(r *rule, c *Cron, u int64, keep func(int64) bool) (int64, bool) {
	for range maxSkips {
		f, ok := c.prev(u)
		if !ok || (keep != nil && !keep(f)) {
			return 0, false
		}
		if !s.excluded(r, f) {
			return f, true
		}
		u = f - 1
	}
	return 0, false
}

// nextCounting is the first counting fire of c after u.
func (s *Schedule) nextCounting(r *rule, c *Cron, u int64) (int64, bool) {
	for range maxSkips {
		f, ok := c.next(u)
		if !ok {
			return 0, false
		}
		if !s.excluded(r, f) {
			return f, true
		}
		u = f
	}
	return 0, false
}

// inForce reports whether r holds at u and since when.
func (s *Schedule) inForce(r *rule, u int64) (int64, bool) {
	lead := int64(r.lead / time.Second)
	st, ok := s.lastStart(r, u+lead)
	if !ok {
		return 0, false
	}
	since := st - lead
	switch r.kind {
	case KindWindow:
		if r.end == nil {
			return since, u < st+int64(r.dur/time.Second)
		}
		e, ok := r.end.prev(u)
		return since, !ok || since > e
	case KindRange:
		return since, r.to.IsZero() || u < r.to.Unix()
	}
	return since, true
}
