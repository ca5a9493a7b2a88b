package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/schedule"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := schedule.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustCron(t testing.TB, expr string, loc *time.Location) *schedule.Cron {
	t.Helper()
	c, err := schedule.ParseCron(expr, loc, schedule.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const layout = "2006-01-02 15:04:05 -0700"

// TestNextDST lists the fires after a start instant on real tzdata.
func TestNextDST(t *testing.T) {
	cases := []struct {
		name, zone, expr, from string
		want                   []string
	}{
		{"New York spring gap: a fixed time in the gap fires at its end", "America/New_York", "30 2 * * *", "2024-03-09 12:00:00 -0500",
			[]string{"2024-03-10 03:00:00 -0400", "2024-03-11 02:30:00 -0400"}},
		{"New York spring gap at the hour", "America/New_York", "0 2 * * *", "2024-03-09 12:00:00 -0500",
			[]string{"2024-03-10 03:00:00 -0400", "2024-03-11 02:00:00 -0400"}},
		{"New York: two times in the gap fire once", "America/New_York", "0,30 2 * * *", "2024-03-09 23:00:00 -0500",
			[]string{"2024-03-10 03:00:00 -0400", "2024-03-11 02:00:00 -0400"}},
		{"New York fall back: a repeated time fires once, first", "America/New_York", "30 1 * * *", "2024-11-02 12:00:00 -0400",
			[]string{"2024-11-03 01:30:00 -0400", "2024-11-04 01:30:00 -0500"}},
		{"New York fall back at 02:00", "America/New_York", "0 2 * * *", "2024-11-02 12:00:00 -0400",
			[]string{"2024-11-03 02:00:00 -0500"}},
		{"New York interval: no catch-up for the gap", "America/New_York", "*/30 * * * *", "2024-03-10 01:00:00 -0500",
			[]string{"2024-03-10 01:30:00 -0500", "2024-03-10 03:00:00 -0400", "2024-03-10 03:30:00 -0400"}},
		{"New York interval: elapsed time through the repeated hour", "America/New_York", "0 * * * *", "2024-11-03 00:30:00 -0400",
			[]string{"2024-11-03 01:00:00 -0400", "2024-11-03 01:00:00 -0500", "2024-11-03 02:00:00 -0500"}},
		{"Berlin last Sunday of March", "Europe/Berlin", "30 2 * * *", "2024-03-30 12:00:00 +0100",
			[]string{"2024-03-31 03:00:00 +0200", "2024-04-01 02:30:00 +0200"}},
		{"Berlin last Sunday of October", "Europe/Berlin", "30 2 * * *", "2024-10-26 12:00:00 +0200",
			[]string{"2024-10-27 02:30:00 +0200", "2024-10-28 02:30:00 +0100"}},
		{"Sydney spring (October)", "Australia/Sydney", "30 2 * * *", "2024-10-05 12:00:00 +1000",
			[]string{"2024-10-06 03:00:00 +1100", "2024-10-07 02:30:00 +1100"}},
		{"Sydney autumn (April)", "Australia/Sydney", "30 2 * * *", "2024-04-06 12:00:00 +1100",
			[]string{"2024-04-07 02:30:00 +1100", "2024-04-08 02:30:00 +1000"}},
		{"Lord Howe 30-minute gap", "Australia/Lord_Howe", "15 2 * * *", "2024-10-05 12:00:00 +1030",
			[]string{"2024-10-06 02:30:00 +1100", "2024-10-07 02:15:00 +1100"}},
		{"Santiago midnight gap keeps the day", "America/Santiago", "0 0 * * *", "2024-09-06 12:00:00 -0400",
			[]string{"2024-09-07 00:00:00 -0400", "2024-09-08 01:00:00 -0300", "2024-09-09 00:00:00 -0300"}},
		{"Sao Paulo midnight gap keeps the day", "America/Sao_Paulo", "0 0 * * *", "2018-11-02 12:00:00 -0300",
			[]string{"2018-11-03 00:00:00 -0300", "2018-11-04 01:00:00 -0200", "2018-11-05 00:00:00 -0200"}},
		{"Shanghai weekdays at nine", "Asia/Shanghai", "0 9 * * 1-5", "2024-06-07 10:00:00 +0800",
			[]string{"2024-06-10 09:00:00 +0800", "2024-06-11 09:00:00 +0800"}},
		{"day-of-month OR day-of-week", "UTC", "0 0 13 * 5", "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-05 00:00:00 +0000", "2024-01-12 00:00:00 +0000", "2024-01-13 00:00:00 +0000", "2024-01-19 00:00:00 +0000"}},
		{"day-of-month with a star day-of-week is AND", "UTC", "0 0 13 * *", "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-13 00:00:00 +0000", "2024-02-13 00:00:00 +0000"}},
		{"the 31st skips short months", "UTC", "0 0 31 * *", "2024-01-31 00:00:00 +0000",
			[]string{"2024-03-31 00:00:00 +0000", "2024-05-31 00:00:00 +0000"}},
		{"Feb 29 waits for a leap year", "UTC", "0 0 29 2 *", "2024-03-01 00:00:00 +0000",
			[]string{"2028-02-29 00:00:00 +0000"}},
		{"year wrap", "UTC", "0 0 1 1 *", "2024-12-31 23:59:00 +0000",
			[]string{"2025-01-01 00:00:00 +0000", "2026-01-01 00:00:00 +0000"}},
		{"descriptor @weekly", "UTC", "@weekly", "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-07 00:00:00 +0000"}},
		// issue 10 item 10: from 01:30 EDT, the search for the next 1 a.m. on
		// Nov 2 must not skip the repeated hour, and a year later the offset
		// is EST again after two changes in between.
		{"New York yearly interval through the repeated hour", "America/New_York", "*/30 1 2 11 *", "2025-11-02 01:30:00 -0400",
			[]string{"2025-11-02 01:00:00 -0500", "2025-11-02 01:30:00 -0500", "2026-11-02 01:00:00 -0500"}},
		{"New York yearly interval, from the year before", "America/New_York", "*/30 1 2 11 *", "2024-11-02 01:30:00 -0400",
			[]string{"2025-11-02 01:00:00 -0400", "2025-11-02 01:30:00 -0400", "2025-11-02 01:00:00 -0500"}},
		{"Berlin monthly interval across both changes", "Europe/Berlin", "*/20 2 27 * *", "2024-09-27 02:40:00 +0200",
			[]string{"2024-10-27 02:00:00 +0200", "2024-10-27 02:20:00 +0200", "2024-10-27 02:40:00 +0200", "2024-10-27 02:00:00 +0100"}},
		{"Casablanca: Sundays of March, inside the Ramadan period at +00", "Africa/Casablanca", "*/30 2 * 3 0", "2025-02-16 02:30:00 +0100",
			[]string{"2025-03-02 02:00:00 +0000", "2025-03-02 02:30:00 +0000", "2025-03-09 02:00:00 +0000"}},
		// The footer rule's leap-year Dec 31 (golang/go#81583) does not stop
		// the walk over the zone's periods.
		{"Warsaw, Dec 31 of a leap year served by the footer rule", "Europe/Warsaw", "0 * 31 12 *", "2040-12-31 12:30:00 +0100",
			[]string{"2040-12-31 13:00:00 +0100", "2040-12-31 14:00:00 +0100"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			c := mustCron(t, tc.expr, loc)
			at, err := time.Parse(layout, tc.from)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				next, ok := c.Next(at)
				if got := next.Format(layout); !ok || got != w {
					t.Fatalf("Next(%s) = %s (%v), want %s", at.In(loc).Format(layout), got, ok, w)
				}
				if prev, _ := c.Prev(next); !prev.Equal(next) {
					t.Errorf("Prev(%s) = %s, want the fire itself", w, prev.Format(layout))
				}
				at = next
			}
		})
	}
}

// A 02:30 start on the spring-forward day has happened by 03:10 (the
// asymmetry netresearch/go-cron shows).
func TestPrevSharesTheGapRule(t *testing.T) {
	loc := mustLoc(t, "America/New_York")
	c := mustCron(t, "30 2 * * *", loc)
	at, _ := time.Parse(layout, "2024-03-10 03:10:00 -0400")
	prev, _ := c.Prev(at)
	if got := prev.Format(layout); got != "2024-03-10 03:00:00 -0400" {
		t.Errorf("Prev = %s", got)
	}
	// In the second pass of the repeated hour the first 01:45 is the previous fire.
	c = mustCron(t, "45 1 * * *", loc)
	at, _ = time.Parse(layout, "2024-11-03 01:30:00 -0500")
	if prev, _ := c.Prev(at); prev.Format(layout) != "2024-11-03 01:45:00 -0400" {
		t.Errorf("Prev in the repeated hour = %s", prev.Format(layout))
	}
}

// Prev of an instant months after a yearly interval spec's fires is the
// last of them, in the offset it had then (issue 10 item 10), and
// Next(Prev(t)) is Next(t).
func TestPrevAcrossSeveralChanges(t *testing.T) {
	loc := mustLoc(t, "America/New_York")
	c := mustCron(t, "*/30 1 2 11 *", loc)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	prev, _ := c.Prev(at)
	if got := prev.Format(layout); got != "2025-11-02 01:30:00 -0500" {
		t.Errorf("Prev(%s) = %s, want 2025-11-02 01:30:00 -0500", at.Format(layout), got)
	}
	n1, _ := c.Next(prev)
	n2, _ := c.Next(at)
	if !n1.Equal(n2) || n2.Format(layout) != "2026-11-02 01:00:00 -0500" {
		t.Errorf("Next(Prev(t)) = %s, Next(t) = %s, want both 2026-11-02 01:00:00 -0500", n1.Format(layout), n2.Format(layout))
	}
}

func TestParseCron(t *testing.T) {
	good := []struct {
		expr string
		opts schedule.ParseOptions
		at   string // the first fire after 2024-01-01 00:00 UTC
	}{
		{"0 9 * * 1-5", schedule.ParseOptions{}, "2024-01-01 09:00:00 +0000"},
		{"@daily", schedule.ParseOptions{}, "2024-01-02 00:00:00 +0000"},
		{"@hourly", schedule.ParseOptions{}, "2024-01-01 01:00:00 +0000"},
		{"30 0 9 * * *", schedule.ParseOptions{Seconds: true}, "2024-01-01 09:00:30 +0000"},
		{"*/10 * * * * *", schedule.ParseOptions{Seconds: true}, "2024-01-01 00:00:10 +0000"},
		{"0 30 9 * *", schedule.ParseOptions{CronHPA: true}, "2024-01-01 09:30:00 +0000"},
		{"0 30 9 * * 1-5", schedule.ParseOptions{CronHPA: true}, "2024-01-01 09:30:00 +0000"},
	}
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range good {
		c, err := schedule.ParseCron(tc.expr, nil, tc.opts)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if next, _ := c.Next(from); next.Format(layout) != tc.at {
			t.Errorf("%q: first fire %s, want %s", tc.expr, next.Format(layout), tc.at)
		}
	}
	bad := []struct {
		expr string
		opts schedule.ParseOptions
		want string
	}{
		{"", schedule.ParseOptions{}, "empty"},
		{"TZ=UTC", schedule.ParseOptions{}, "time zone prefixes"},
		{"CRON_TZ=Europe/Berlin 0 9 * * *", schedule.ParseOptions{}, "time zone prefixes"},
		{"@every 5m", schedule.ParseOptions{}, "@every"},
		{"0 0 9 * * *", schedule.ParseOptions{}, "expected exactly 5 fields"},
		{"61 * * * *", schedule.ParseOptions{}, "above maximum"},
		{"0 0 30 2 *", schedule.ParseOptions{}, "never fires"},
		{"* */10 * * * *", schedule.ParseOptions{CronHPA: true}, "more than once a minute"},
		{"not a cron", schedule.ParseOptions{}, "expected exactly 5 fields"},
	}
	for _, tc := range bad {
		_, err := schedule.ParseCron(tc.expr, nil, tc.opts)
		if !errors.Is(err, schedule.ErrInvalidCron) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an ErrInvalidCron mentioning %q", tc.expr, err, tc.want)
		}
	}
}

func TestLoadLocation(t *testing.T) {
	if _, err := schedule.LoadLocation("Mars/Olympus_Mons"); !errors.Is(err, schedule.ErrUnknownZone) {
		t.Errorf("unknown zone: %v", err)
	}
	if loc, err := schedule.LoadLocation(""); err != nil || loc != time.UTC {
		t.Errorf("empty zone: %v %v", loc, err)
	}
	loc := mustLoc(t, "Asia/Kolkata")
	if _, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone(); off != 5*3600+1800 {
		t.Errorf("Kolkata offset %d", off)
	}
}

// Instants far outside the years 1-9999 give no fire rather than a wrong one,
// an overflow or a hang.
func TestExtremeInstants(t *testing.T) {
	for _, zone := range []string{"UTC", "America/New_York"} {
		loc := mustLoc(t, zone)
		for _, expr := range []string{"*/5 * * * *", "30 2 * * *"} {
			c := mustCron(t, expr, loc)
			for _, at := range []time.Time{{}, time.Unix(1<<62, 0), time.Unix(-1<<62, 0), time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 10, 0, 0, time.UTC)} {
				n, okN := c.Next(at)
				p, okP := c.Prev(at)
				if okN && !n.After(at) || okP && p.After(at) {
					t.Errorf("%s %q at %v: Next %v %v, Prev %v %v", zone, expr, at, n, okN, p, okP)
				}
			}
		}
	}
}

// robfig/cron reads "?" as "*" in every field (its getRange gives both the
// field's whole range), so "?" in a time-of-day field makes the expression
// interval-style: it fires in both passes of a repeated hour, as "*" does
// (issue 10 item 11).
func TestQuestionMarkIsAStar(t *testing.T) {
	loc := mustLoc(t, "America/New_York")
	pairs := []struct {
		question, star string
		opts           schedule.ParseOptions
	}{
		{"0 ? * * *", "0 * * * *", schedule.ParseOptions{}},
		{"? 1 * * *", "* 1 * * *", schedule.ParseOptions{}},
		{"?/20 1 * * *", "*/20 1 * * *", schedule.ParseOptions{}},
		{"0 0 ? * * ?", "0 0 * * * *", schedule.ParseOptions{Seconds: true}},
		{"0 0 ? * *", "0 0 * * *", schedule.ParseOptions{CronHPA: true}},
		{"0 0 ? ? * ?", "0 0 * * * *", schedule.ParseOptions{CronHPA: true}},
		{"30 1 ? * *", "30 1 * * *", schedule.ParseOptions{}}, // day fields: both fixed-time
	}
	for _, p := range pairs {
		q, err := schedule.ParseCron(p.question, loc, p.opts)
		if err != nil {
			t.Fatalf("%q: %v", p.question, err)
		}
		s, err := schedule.ParseCron(p.star, loc, p.opts)
		if err != nil {
			t.Fatalf("%q: %v", p.star, err)
		}
		if q.Interval() != s.Interval() {
			t.Errorf("%q interval-style %v, %q %v", p.question, q.Interval(), p.star, s.Interval())
		}
		at, _ := time.Parse(layout, "2024-11-03 00:10:00 -0400")
		for range 5 {
			nq, _ := q.Next(at)
			ns, _ := s.Next(at)
			if !nq.Equal(ns) {
				t.Fatalf("Next(%s): %q gives %s, %q gives %s", at.Format(layout), p.question, nq.Format(layout), p.star, ns.Format(layout))
			}
			at = nq
		}
	}
	// The repeated 1 a.m. hour fires twice for the hourly spec.
	c := mustCron(t, "0 ? * * *", loc)
	at, _ := time.Parse(layout, "2024-11-03 00:30:00 -0400")
	var got []string
	for range 3 {
		at, _ = c.Next(at)
		got = append(got, at.Format(layout))
	}
	if want := []string{"2024-11-03 01:00:00 -0400", "2024-11-03 01:00:00 -0500", "2024-11-03 02:00:00 -0500"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("0 ? * * * fires %v, want %v", got, want)
	}
}
