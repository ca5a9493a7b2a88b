package schedule

import "time"

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

// maxShift bounds how far apart the offsets around one clock change can be.
const maxShift = 3 * 3600

// offsetAt is the zone's UTC offset in seconds at instant u.
func offsetAt(loc *time.Location, u int64) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}

// firstAtOrAfter is the first instant at which the wall clock reads c or
// later: c's first occurrence, or the end of the gap c falls in.
func firstAtOrAfter(loc *time.Location, c int64) int64 {
	o0 := offsetAt(loc, c-offsetAt(loc, c))
	u := c - o0
	if o := offsetAt(loc, u); o != o0 {
		o1 := o
		u = c - o1
		if offsetAt(loc, u) != o1 {
			return gapEnd(loc, c, min(o0, o1), max(o0, o1))
		}
		o0 = o1
	}
	// c exists at u. An earlier occurrence needs a larger offset shortly before.
	if ob := offsetAt(loc, u-maxShift); ob > o0 {
		if alt := c - ob; alt < u && offsetAt(loc, alt) == ob {
			return alt
		}
	}
	return u
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

// gapEnd is the first instant whose wall time is at or after c, for a c that
// no instant shows: the instant the clock jumps past it.
func gapEnd(loc *time.Location, c, lowOff, highOff int64) int64 {
	return firstTrue(c-highOff, c-lowOff, func(u int64) bool { return u+offsetAt(loc, u) >= c })
}

// changeAfter is the first instant in (from, to] whose offset is not off
// (the caller knows there is one).
func changeAfter(loc *time.Location, from, to, off int64) int64 {
	return firstTrue(from, to, func(u int64) bool { return offsetAt(loc, u) != off })
}

// changeBefore is the first instant of the run of offset off that ends at
// to, looking no earlier than from (whose offset is not off).
func changeBefore(loc *time.Location, from, to, off int64) int64 {
	return firstTrue(from, to, func(u int64) bool { return offsetAt(loc, u) == off })
}

// maxSteps bounds the clock changes one search may cross; zones change at
// most a few times a year and searches span at most searchYears.
const maxSteps = 64

// next is the first fire strictly after instant u (seconds), if any.
func (c *Cron) next(u int64) (int64, bool) {
	if c.interval {
		start := u + 1
		for range maxSteps {
			off := offsetAt(c.loc, start)
			w, ok := c.m.next(start + off)
			if !ok {
				return 0, false
			}
			f := w - off
			if offsetAt(c.loc, f) == off {
				return f, true
			}
			start = changeAfter(c.loc, start, f, off)
		}
		return 0, false
	}
	w := u + offsetAt(c.loc, u) + 1
	for range 4 * 3600 {
		var ok bool
		if w, ok = c.m.next(w); !ok {
			return 0, false
		}
		if f := firstAtOrAfter(c.loc, w); f > u {
			return f, true
		}
		w++
	}
	return 0, false
}

// prev is the last fire at or before instant u, if any.
func (c *Cron) prev(u int64) (int64, bool) {
	if c.interval {
		end := u
		for range maxSteps {
			off := offsetAt(c.loc, end)
			w, ok := c.m.prev(end + off)
			if !ok {
				return 0, false
			}
			f := w - off
			if offsetAt(c.loc, f) == off {
				return f, true
			}
			end = changeBefore(c.loc, f, end, off) - 1
		}
		return 0, false
	}
	off := offsetAt(c.loc, u)
	w := u + off
	if ob := offsetAt(c.loc, u-maxShift); ob > off {
		w += ob - off // wall times repeated after u first occurred before it
	}
	for range 4 * 3600 {
		var ok bool
		if w, ok = c.m.prev(w); !ok {
			return 0, false
		}
		if f := firstAtOrAfter(c.loc, w); f <= u {
			return f, true
		}
		w--
	}
	return 0, false
}

// Next is the first fire strictly after t, and false when there is none
// within nine years.
func (c *Cron) Next(t time.Time) (time.Time, bool) {
	f, ok := c.next(t.Unix())
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(f, 0).In(c.loc), true
}

// Prev is the last fire at or before t, and false when there is none within
// nine years.
func (c *Cron) Prev(t time.Time) (time.Time, bool) {
	f, ok := c.prev(t.Unix())
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(f, 0).In(c.loc), true
}
