package schedule

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseOptions selects the cron dialect. The zero value is the standard
// 5-field form of Kubernetes CronJob and KEDA: minute hour day-of-month month
// day-of-week, plus the descriptors @yearly, @annually, @monthly, @weekly,
// @daily, @midnight and @hourly.
type ParseOptions struct {
	// Seconds reads 6 fields, seconds first, and allows a spec to fire more
	// often than once a minute.
	Seconds bool
	// CronHPA reads kubernetes-cronhpa-controller's dialect: seconds first
	// and day-of-week optional, so a 5-field spec means
	// "second minute hour day-of-month month". Without Seconds, a spec that
	// would fire more than once a minute (a "*" in the seconds field, a
	// common cronhpa mistake) is still rejected.
	CronHPA bool
}

// Cron is a parsed cron expression bound to a time zone. Its Next and Prev
// apply one set of daylight-saving rules (see the package documentation).
// A Cron is immutable and safe for concurrent use.
type Cron struct {
	expr     string
	m        matcher
	interval bool
	loc      *time.Location
}

// ParseCron parses expr in the dialect opts selects and binds it to loc (nil
// means UTC). Time zone prefixes (TZ=, CRON_TZ=) are refused: the zone is a
// separate setting. So are @every (its anchor is undefined), expressions that
// can never fire, and, without opts.Seconds, expressions that fire more than
// once a minute. Errors wrap ErrInvalidCron; ParseCron never panics.
func ParseCron(expr string, loc *time.Location, opts ParseOptions) (*Cron, error) {
	if loc == nil {
		loc = time.UTC
	}
	bad := func(format string, args ...any) (*Cron, error) {
		return nil, fmt.Errorf("%w %q: %s", ErrInvalidCron, expr, fmt.Sprintf(format, args...))
	}
	text := strings.TrimSpace(expr)
	upper := strings.ToUpper(text)
	switch {
	case text == "":
		return bad("empty")
	case strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ="):
		return bad("time zone prefixes are not accepted; set the schedule's time zone instead")
	case strings.HasPrefix(text, "@every"):
		return bad("@every is not supported: its start is undefined; write the times as a cron expression")
	}
	spec, err := parseSpec(text, opts)
	if err != nil {
		return bad("%v", err)
	}
	c := &Cron{expr: text, loc: loc, interval: isInterval(text, opts),
		m: matcher{second: spec.Second, minute: spec.Minute, hour: spec.Hour, dom: spec.Dom, month: spec.Month, dow: spec.Dow}}
	if !opts.Seconds && bits.OnesCount64(c.m.second) > 1 {
		return bad("fires more than once a minute (the seconds field matches %d seconds); enable seconds if that is meant", bits.OnesCount64(c.m.second))
	}
	if _, ok := c.m.next(0); !ok {
		return bad("never fires (no month has such a day)")
	}
	return c, nil
}

// parseSpec runs robfig/cron's parser, turning its panics into errors.
func parseSpec(text string, opts ParseOptions) (spec *cron.SpecSchedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			spec, err = nil, fmt.Errorf("unparsable: %v", r)
		}
	}()
	fields := cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor
	switch {
	case opts.CronHPA:
		fields = cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.DowOptional | cron.Descriptor
	case opts.Seconds:
		fields = cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor
	}
	s, err := cron.NewParser(fields).Parse(text)
	if err != nil {
		return nil, err
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("not a calendar expression")
	}
	return spec, nil
}

// isInterval reports whether the expression is interval-style: a
// time-of-day field written with "*", its synonym "?" (robfig/cron reads
// both as the field's whole range) or a step, or @hourly. Such a spec
// follows elapsed time across clock changes; the others are fixed times.
func isInterval(text string, opts ParseOptions) bool {
	if strings.HasPrefix(text, "@") {
		return text == "@hourly"
	}
	fields := strings.Fields(text)
	timeFields := 2 // minute, hour
	if opts.Seconds || opts.CronHPA {
		timeFields = 3 // second, minute, hour
	}
	for i := 0; i < timeFields && i < len(fields); i++ {
		if strings.ContainsAny(fields[i], "*?/") {
			return true
		}
	}
	return false
}

// String returns the expression as written.
func (c *Cron) String() string { return c.expr }

// Location is the zone the expression is read in.
func (c *Cron) Location() *time.Location { return c.loc }

// Interval reports whether the expression follows elapsed time across clock
// changes (see the package documentation).
func (c *Cron) Interval() bool { return c.interval }

// Matches reports whether the wall-clock time of t in the Cron's zone matches
// the expression (to the second), regardless of clock-change rules.
func (c *Cron) Matches(t time.Time) bool {
	u := t.Unix()
	w := u + offsetAt(c.loc, u)
	got, ok := c.m.next(w)
	return ok && got == w
}
