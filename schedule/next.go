package schedule

import (
	"math"
	"time"
)

// How fires are placed on the timeline of a zone with clock changes:
//
//   - A fixed-time expression fires at the first instant the wall clock
//     reads each matching time or later. A time skipped by a spring-forward
//     gap therefore fires once, at the end of the gap; a time repeated by a
//     fall-back fires once, at its first occurrence; several skipped times
//     collapse into one fire.
//   - An interval-style expression fires at every instant whose wall-clock
//     time matches: nothing fires for the skipped times (no catch-up burst),
//     and the repeated times fire again, as elapsed time passes through them.
//
// Both rules are computed over the zone's periods of constant offset, read
// from its tz data one period at a time (see period), so a search is exact
// whatever number of clock changes it spans.

// maxOffset bounds the magnitude of a zone's UTC offset: RFC 8536 limits
// TZif offsets to -25 h .. +26 h.
const maxOffset = 26 * 3600

// searchSpan bounds how far from its start a search for a fire walks the
// zone's periods (the civil search of one period has the same bound).
const searchSpan = searchYears * 366 * secondsPerDay

const (
	noStart = math.MinInt64 // a period that began before the zone's data
	noEnd   = math.MaxInt64 // a period that never ends
)

// offsetAt is the zone's UTC offset in seconds at instant u.
func offsetAt(loc *time.Location, u int64) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}

// period is the run [start, end) of instants around u over which the zone's
// offset stays off, as the zone's tz data (transition table and POSIX footer
// rule) gives it through time.Time.ZoneBounds. A bound may be a transition
// that changes nothing but the abbreviation, or a year boundary of the
// footer rule; callers only rely on the offset being constant inside.
func period(loc *time.Location, u int64) (start, end, off int64) {
	t := time.Unix(u, 0).In(loc)
	_, o := t.Zone()
	s, e := t.ZoneBounds()
	start, end, off = noStart, noEnd, int64(o)
	if !s.IsZero() {
		start = s.Unix()
	}
	if !e.IsZero() {
		end = e.Unix()
	}
	if start > u || end <= u {
		start, end = probePeriod(loc, u, off)
	}
	return start, end, off
}

// probePeriod is period's fallback for bounds that do not contain u. Go's
// footer-rule arithmetic reports a period ending a day early on the last UTC
// day of a leap year (golang/go#81583); footer rules change the offset at
// most twice a year, months apart, so a change inside that UTC day is found
// by bisection and the day's bounds serve otherwise.
func probePeriod(loc *time.Location, u, off int64) (start, end int64) {
	lo := floorDiv(u, secondsPerDay) * secondsPerDay
	hi := lo + secondsPerDay
	start, end = lo, hi
	if offsetAt(loc, lo) != off {
		start = firstTrue(lo, u, func(x int64) bool { return offsetAt(loc, x) == off })
	}
	if offsetAt(loc, hi) != off {
		end = firstTrue(u, hi, func(x int64) bool { return offsetAt(loc, x) != off })
	}
	return start, end
}

// firstTrue is the smallest x in (lo, hi] with ok(x), for a predicate that
// is false at lo, true at hi and changes once in between.
func firstTrue(lo, hi int64, ok func(int64) bool) int64 {
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// firstAtOrAfter is the first instant at which the wall clock reads c or
// later: c's first occurrence, or the end of the gap c falls in.
func firstAtOrAfter(loc *time.Location, c int64) int64 {
	// No instant before c-maxOffset shows c or later.
	for at := c - maxOffset; ; {
		_, end, off := period(loc, at)
		if x := max(at, c-off); x < end {
			return x
		}
		at = end
	}
}

// highWater is the latest wall time the clock has shown at or before
// instant u: u's own wall time, or more in the hour after a fall-back.
func highWater(loc *time.Location, u int64) int64 {
	start, _, off := period(loc, u)
	hw := u + off
	// Instants before u-2*maxOffset show less than u's wall time.
	for start != noStart && start > u-2*maxOffset {
		s, _, o := period(loc, start-1)
		hw = max(hw, start-1+o)
		start = s
	}
	return hw
}

// next is the first fire strictly after instant u (seconds), if any.
func (c *Cron) next(u int64) (int64, bool) {
	if u < minInstant || u > maxInstant {
		return 0, false
	}
	if c.interval {
		// No wall time in [from, w) matches: a later period whose first
		// wall time falls in [from, w] has w as its first candidate too.
		var from, w int64 = 1, 0
		for at := u + 1; at-u <= searchSpan; {
			_, end, off := period(c.loc, at)
			if s := at + off; s < from || s > w {
				var ok bool
				if w, ok = c.m.next(s); !ok {
					return 0, false
				}
				from = s
			}
			if f := w - off; f < end {
				return f, true
			}
			at = end
		}
		return 0, false
	}
	// Wall times up to highWater(u) were reached by u; the next fire is the
	// first reach of the next matching time beyond it.
	w, ok := c.m.next(highWater(c.loc, u) + 1)
	if !ok {
		return 0, false
	}
	return firstAtOrAfter(c.loc, w), true
}

// prev is the last fire at or before instant u, if any.
func (c *Cron) prev(u int64) (int64, bool) {
	if u < minInstant || u > maxInstant {
		return 0, false
	}
	if c.interval {
		// No wall time in (w, from] matches (see next).
		var from, w int64 = -1, 0
		for at := u; u-at <= searchSpan; {
			start, _, off := period(c.loc, at)
			if s := at + off; s > from || s < w {
				var ok bool
				if w, ok = c.m.prev(s); !ok {
					return 0, false
				}
				from = s
			}
			if f := w - off; f >= start {
				return f, true
			}
			at = start - 1
		}
		return 0, false
	}
	w, ok := c.m.prev(highWater(c.loc, u))
	if !ok {
		return 0, false
	}
	return firstAtOrAfter(c.loc, w), true
}

// Instants searched from lie in the years 1 to 9999; beyond them civil
// arithmetic on seconds could overflow.
const (
	minInstant = -62135596800 // 0001-01-01T00:00:00Z
	maxInstant = 253402300799 // 9999-12-31T23:59:59Z
)

// Next is the first fire strictly after t, and false when there is none
// within nine years or t lies outside the years 1 to 9999.
func (c *Cron) Next(t time.Time) (time.Time, bool) {
	f, ok := c.next(t.Unix())
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(f, 0).In(c.loc), true
}

// Prev is the last fire at or before t, and false when there is none within
// nine years or t lies outside the years 1 to 9999.
func (c *Cron) Prev(t time.Time) (time.Time, bool) {
	f, ok := c.prev(t.Unix())
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(f, 0).In(c.loc), true
}
