package schedule

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// The oracle walks every minute of one to two and a half years on the real
// timeline of a zone and decides fires from first principles, independently
// of the civil search in civil.go and the period walk in next.go:
//   - a fixed-time spec fires at an instant when the wall clock first
//     reaches a matching time (a "high-water mark" of the wall clock);
//   - an interval-style spec fires at every instant whose wall time matches.
// Next and Prev must agree with it everywhere, and Next(Prev(t)) == Next(t),
// Prev(Next(t)) == Next(t) must hold.

type oracleSpec struct {
	expr  string
	cron  *Cron
	fires []int64
}

// civilFields is one civil minute read through package time, not civil.go.
type civilFields struct{ month, day, weekday, hour, minute int }

func fieldsOf(c int64) civilFields {
	t := time.Unix(c, 0).UTC()
	return civilFields{int(t.Month()), t.Day(), int(t.Weekday()), t.Hour(), t.Minute()}
}

// wallMatches checks one civil minute against the bit sets.
func wallMatches(m *matcher, f civilFields) bool {
	if m.month&(1<<uint(f.month)) == 0 || m.hour&(1<<uint(f.hour)) == 0 ||
		m.minute&(1<<uint(f.minute)) == 0 || m.second&1 == 0 {
		return false
	}
	dom := m.dom&(1<<uint(f.day)) != 0
	dow := m.dow&(1<<uint(f.weekday)) != 0
	if m.dom&starBit != 0 || m.dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

func oracleFires(loc *time.Location, specs []*oracleSpec, from, to time.Time) {
	start, end := from.Unix(), to.Unix()
	_, off0 := time.Unix(start-60, 0).In(loc).Zone()
	hwm := start - 60 + int64(off0)
	for u := start; u < end; u += 60 {
		_, off := time.Unix(u, 0).In(loc).Zone()
		c := u + int64(off)
		fc := fieldsOf(c)
		for _, s := range specs {
			if s.cron.interval {
				if wallMatches(&s.cron.m, fc) {
					s.fires = append(s.fires, u)
				}
				continue
			}
			// The wall times first reached at u: (hwm, c].
			for x := hwm + 60; x <= c; x += 60 {
				fx := fc
				if x != c {
					fx = fieldsOf(x)
				}
				if wallMatches(&s.cron.m, fx) {
					s.fires = append(s.fires, u)
					break
				}
			}
		}
		hwm = max(hwm, c)
	}
}

// oracleChange is a clock change found by probing offsets hourly.
type oracleChange struct{ at, before, after int64 }

func oracleChanges(loc *time.Location, from, to int64) []oracleChange {
	var out []oracleChange
	off := func(u int64) int64 { _, o := time.Unix(u, 0).In(loc).Zone(); return int64(o) }
	for u := from; u < to; u += 3600 {
		a, b := off(u), off(u+3600)
		if a == b {
			continue
		}
		lo, hi := u, u+3600 // off(lo) == a, off(hi) != a
		for lo+1 < hi {
			if mid := lo + (hi-lo)/2; off(mid) == a {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, oracleChange{hi, a, b})
	}
	return out
}

// rareSpecs are expressions that fire once a month or once a year, or on a
// few days of one month, at times inside the wall-clock span a change skips
// or repeats: a search from one fire to the next crosses several changes
// and may end at the offset it started from.
func rareSpecs(changes []oracleChange) []string {
	seen := map[string]bool{}
	var out []string
	add := func(format string, args ...any) {
		if e := fmt.Sprintf(format, args...); !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for _, ch := range changes {
		lo := ch.at + min(ch.before, ch.after)     // first wall time skipped or repeated
		hi := ch.at + max(ch.before, ch.after) - 1 // last one
		first, mid := time.Unix(lo, 0).UTC(), time.Unix(lo+(hi-lo)/2, 0).UTC()
		hours := fmt.Sprint(first.Hour())
		if last := time.Unix(hi, 0).UTC(); last.Day() == first.Day() && last.Hour() != first.Hour() {
			hours = fmt.Sprintf("%d-%d", first.Hour(), last.Hour())
		}
		d, mo, wd := first.Day(), int(first.Month()), int(first.Weekday())
		add("*/10 %s %d %d *", hours, d, mo)                      // interval, once a year
		add("*/20 %s %d * *", hours, d)                           // interval, once a month
		add("*/30 %s * %d %d", hours, mo, wd)                     // interval, one weekday of one month
		add("%d %d %d %d *", mid.Minute(), mid.Hour(), d, mo)     // fixed, once a year, inside
		add("%d %d %d %d *", first.Minute(), first.Hour(), d, mo) // fixed, once a year, at the change
		add("%d %d %d * *", mid.Minute(), mid.Hour(), d)          // fixed, once a month
		add("%d %d * %d %d", mid.Minute(), mid.Hour(), mo, wd)    // fixed, one weekday of one month
	}
	return out
}

func TestNextPrevAgainstOracle(t *testing.T) {
	zones := []struct {
		name     string
		from, to string
	}{
		{"America/New_York", "2023-12-20", "2026-01-10"},
		{"Europe/Berlin", "2024-01-01", "2025-12-31"},
		{"Australia/Sydney", "2024-01-01", "2025-12-31"},
		{"Australia/Lord_Howe", "2024-01-01", "2025-06-30"},
		{"America/Santiago", "2024-01-01", "2025-06-30"},
		{"America/Sao_Paulo", "2018-01-01", "2019-06-30"},
		{"Asia/Shanghai", "2024-12-01", "2025-03-01"},
		{"Africa/Casablanca", "2024-01-01", "2026-06-30"}, // two changes around each Ramadan
		{"Antarctica/Troll", "2024-01-01", "2025-12-31"},  // two-hour shifts
	}
	exprs := []string{"30 2 * * *", "0 0 * * *", "15 2 * * *", "*/15 * * * *", "0 * * * *", "0 9 * * 1-5",
		"30 1 * * *", "0,30 2 * * 0", "0 0 13 * 5", "45 23 28-31 * *", "0 0 29 2 *", "*/7 2 * * *",
		"*/30 1 2 11 *", "30 1 2 11 *", "0 0 1 * *", "0 ? * * *"}
	rng := rand.New(rand.NewPCG(1, 2))
	var total struct{ specs, minutes, zones, checks int64 }
	for _, z := range zones {
		t.Run(z.name, func(t *testing.T) {
			loc, err := LoadLocation(z.name)
			if err != nil {
				t.Fatal(err)
			}
			from, _ := time.ParseInLocation("2006-01-02", z.from, loc)
			to, _ := time.ParseInLocation("2006-01-02", z.to, loc)
			changes := oracleChanges(loc, from.Unix(), to.Unix())
			var specs []*oracleSpec
			for _, e := range append(exprs, rareSpecs(changes)...) {
				c, err := ParseCron(e, loc, ParseOptions{})
				if err != nil {
					t.Fatalf("%q: %v", e, err)
				}
				specs = append(specs, &oracleSpec{expr: e, cron: c})
			}
			oracleFires(loc, specs, from, to)
			total.zones++
			total.specs += int64(len(specs))
			total.minutes += int64(len(specs)) * (to.Unix() - from.Unix()) / 60
			lo, hi := from.Unix()+3*86400, to.Unix()-3*86400 // away from the walk's edges
			for _, s := range specs {
				check := func(u int64) {
					total.checks++
					i := sort.Search(len(s.fires), func(i int) bool { return s.fires[i] > u })
					next, okN := s.cron.next(u)
					if i < len(s.fires) && (!okN || next != s.fires[i]) {
						t.Fatalf("%s Next(%s) = %s, oracle %s", s.expr, fmtU(u, loc), fmtU(next, loc), fmtU(s.fires[i], loc))
					}
					prev, okP := s.cron.prev(u)
					if i > 0 && (!okP || prev != s.fires[i-1]) {
						t.Fatalf("%s Prev(%s) = %s, oracle %s", s.expr, fmtU(u, loc), fmtU(prev, loc), fmtU(s.fires[i-1], loc))
					}
					if okP && okN {
						if n2, ok := s.cron.next(prev); !ok || n2 != next {
							t.Fatalf("%s Next(Prev(%s)) = %s, Next = %s", s.expr, fmtU(u, loc), fmtU(n2, loc), fmtU(next, loc))
						}
						if p2, ok := s.cron.prev(next); !ok || p2 != next {
							t.Fatalf("%s Prev(Next(%s)) = %s, Next = %s", s.expr, fmtU(u, loc), fmtU(p2, loc), fmtU(next, loc))
						}
					}
				}
				// Every fire of the rarer specs; about 3000 of a dense one's
				// plus all its fires within a day of a clock change.
				stride := max(1, len(s.fires)/3000)
				nearChange := func(f int64) bool {
					for _, ch := range changes {
						if f > ch.at-86400 && f < ch.at+86400 {
							return true
						}
					}
					return false
				}
				for i, f := range s.fires {
					if f > lo && f < hi && (i%stride == 0 || nearChange(f)) {
						check(f - 1)
						check(f)
					}
				}
				for range 300 {
					check(lo + rng.Int64N(hi-lo))
				}
				// Around each clock change: every minute (every ten for the
				// derived specs) from an hour before to a day after, and the
				// seconds at the change.
				step := int64(60)
				if len(s.fires) < 400 {
					step = 600
				}
				for _, ch := range changes {
					if ch.at < lo || ch.at > hi {
						continue
					}
					for v := ch.at - 3600; v < ch.at+86400; v += step {
						check(v)
						check(v + 30)
					}
					check(ch.at - 1)
					check(ch.at)
				}
			}
		})
	}
	t.Logf("oracle: %d zones, %d zone×spec pairs, %d spec-minutes walked, %d instants checked (each Next, Prev and both round trips)",
		total.zones, total.specs, total.minutes, total.checks)
}

func fmtU(u int64, loc *time.Location) string {
	return time.Unix(u, 0).In(loc).Format("2006-01-02 15:04:05 MST")
}

// period must contain the instant it is asked about and hold one offset,
// also where Go's footer-rule arithmetic reports a period ending a day early
// (Dec 31 of leap years, golang/go#81583).
func TestPeriodContainsTheInstant(t *testing.T) {
	for _, name := range []string{"Europe/Warsaw", "America/New_York", "Australia/Sydney", "America/Santiago", "Africa/Casablanca", "Asia/Kolkata"} {
		loc, err := LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, y := range []int{2039, 2040, 2044, 2096} {
			base := time.Date(y, 12, 29, 0, 0, 0, 0, time.UTC).Unix()
			for u := base; u < base+5*86400; u += 1800 {
				start, end, off := period(loc, u)
				if start > u || end <= u {
					t.Fatalf("%s: period(%s) = [%s, %s)", name, fmtU(u, loc), fmtU(start, loc), fmtU(end, loc))
				}
				if offsetAt(loc, u) != off || (start != noStart && offsetAt(loc, start) != off) || (end != noEnd && offsetAt(loc, end-1) != off) {
					t.Fatalf("%s: period(%s) = [%s, %s) holds more than one offset", name, fmtU(u, loc), fmtU(start, loc), fmtU(end, loc))
				}
			}
		}
	}
}

// Walking period after period from 2020 to 2045 (the footer rule serves most
// of it in the shipped tz data) covers every instant once, and the offset
// probed every 20 minutes inside each period is the period's.
func TestPeriodsTileTheTimeline(t *testing.T) {
	for _, name := range []string{"America/New_York", "Europe/Warsaw", "Australia/Lord_Howe", "America/Santiago", "Africa/Casablanca", "Antarctica/Troll"} {
		loc, err := LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		to := time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		at := from
		for n := 0; at < to; n++ {
			start, end, off := period(loc, at)
			if start > at || end <= at || n > 10000 {
				t.Fatalf("%s: period(%s) = [%s, %s)", name, fmtU(at, loc), fmtU(start, loc), fmtU(end, loc))
			}
			for v := at; v < min(end, to); v += 1200 {
				if o := offsetAt(loc, v); o != off {
					t.Fatalf("%s: period(%s) = [%s, %s) with offset %d, but %s has %d", name, fmtU(at, loc), fmtU(start, loc), fmtU(end, loc), off, fmtU(v, loc), o)
				}
			}
			if end != noEnd && offsetAt(loc, end-1) != off {
				t.Fatalf("%s: period(%s) ends at %s after a change", name, fmtU(at, loc), fmtU(end, loc))
			}
			at = end
		}
	}
}
