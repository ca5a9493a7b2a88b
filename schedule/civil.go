package schedule

import "math/bits"

// Civil times are counted as seconds since 1970-01-01 00:00:00 of a clock
// that has no zone ("wall seconds"): an instant u shows the wall time
// u + offset. Arithmetic on them is exact and allocation-free.

const secondsPerDay = 86400

// daysFromCivil is the day number of a proleptic Gregorian date, 1970-01-01 = 0
// (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// weekday of a day number: 0 = Sunday (1970-01-01 was a Thursday).
func weekday(days int64) int64 { return ((days+4)%7 + 7) % 7 }

// wall is a civil time broken into fields.
type wall struct{ y, mo, d, h, mi, s int64 }

func toWall(c int64) wall {
	days := floorDiv(c, secondsPerDay)
	sod := c - days*secondsPerDay
	y, mo, d := civilFromDays(days)
	return wall{y, mo, d, sod / 3600, sod % 3600 / 60, sod % 60}
}

func (w wall) seconds() int64 {
	return daysFromCivil(w.y, w.mo, w.d)*secondsPerDay + w.h*3600 + w.mi*60 + w.s
}

// starBit marks a day field written as "*" or "?" (robfig/cron's convention).
const starBit = 1 << 63

// matcher holds a cron expression's fields as bit sets, as robfig/cron's
// SpecSchedule does.
type matcher struct {
	second, minute, hour, dom, month, dow uint64
}

// dayMatches applies cron's day rule: when both day-of-month and
// day-of-week are restricted, either may match (OR); otherwise both must.
func (m *matcher) dayMatches(y, mo, d int64) bool {
	domMatch := m.dom&(1<<uint(d)) != 0
	dowMatch := m.dow&(1<<uint(weekday(daysFromCivil(y, mo, d)))) != 0
	if m.dom&starBit != 0 || m.dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

// nextBit is the smallest set bit of mask at or above x, or -1.
func nextBit(mask uint64, x int64) int64 {
	mask &^= starBit
	if x > 62 {
		return -1
	}
	m := mask >> uint(x) << uint(x)
	if m == 0 {
		return -1
	}
	return int64(bits.TrailingZeros64(m))
}

// prevBit is the largest set bit of mask at or below x, or -1.
func prevBit(mask uint64, x int64) int64 {
	mask &^= starBit
	if x < 0 {
		return -1
	}
	if x < 62 {
		mask &= (2 << uint(x)) - 1
	}
	if mask == 0 {
		return -1
	}
	return int64(63 - bits.LeadingZeros64(mask))
}

// searchYears bounds a search for a matching civil time: long enough for
// Feb 29 across a skipped leap year (2096 → 2104).
const searchYears = 9

// next is the smallest civil time at or after c that matches, and whether
// there is one within searchYears.
func (m *matcher) next(c int64) (int64, bool) {
	w := toWall(c)
	limit := w.y + searchYears
	for w.y <= limit {
		if mo := nextBit(m.month, w.mo); mo != w.mo {
			if mo < 0 {
				w = wall{y: w.y + 1, mo: 1, d: 1}
			} else {
				w = wall{y: w.y, mo: mo, d: 1}
			}
			continue
		}
		if !m.dayMatches(w.y, w.mo, w.d) {
			w = nextDay(w)
			continue
		}
		h := nextBit(m.hour, w.h)
		if h < 0 {
			w = nextDay(w)
			continue
		}
		if h != w.h {
			w.h, w.mi, w.s = h, 0, 0
		}
		mi := nextBit(m.minute, w.mi)
		if mi < 0 {
			w = nextHour(w)
			continue
		}
		if mi != w.mi {
			w.mi, w.s = mi, 0
		}
		s := nextBit(m.second, w.s)
		if s < 0 {
			w = nextMinute(w)
			continue
		}
		w.s = s
		return w.seconds(), true
	}
	return 0, false
}

func nextDay(w wall) wall {
	w.d++
	w.h, w.mi, w.s = 0, 0, 0
	if w.d > daysIn(w.y, w.mo) {
		w.d = 1
		w.mo++
		if w.mo > 12 {
			w.mo = 1
			w.y++
		}
	}
	return w
}

func nextHour(w wall) wall {
	if w.h == 23 {
		return nextDay(w)
	}
	w.h++
	w.mi, w.s = 0, 0
	return w
}

func nextMinute(w wall) wall {
	if w.mi == 59 {
		return nextHour(w)
	}
	w.mi++
	w.s = 0
	return w
}

// prev is the largest civil time at or before c that matches.
func (m *matcher) prev(c int64) (int64, bool) {
	w := toWall(c)
	limit := w.y - searchYears
	for w.y >= limit {
		if mo := prevBit(m.month, w.mo); mo != w.mo {
			if mo < 0 {
				w = wall{y: w.y - 1, mo: 12, d: 31, h: 23, mi: 59, s: 59}
			} else {
				w = wall{y: w.y, mo: mo, d: daysIn(w.y, mo), h: 23, mi: 59, s: 59}
			}
			continue
		}
		if !m.dayMatches(w.y, w.mo, w.d) {
			w = prevDay(w)
			continue
		}
		h := prevBit(m.hour, w.h)
		if h < 0 {
			w = prevDay(w)
			continue
		}
		if h != w.h {
			w.h, w.mi, w.s = h, 59, 59
		}
		mi := prevBit(m.minute, w.mi)
		if mi < 0 {
			w = prevHour(w)
			continue
		}
		if mi != w.mi {
			w.mi, w.s = mi, 59
		}
		s := prevBit(m.second, w.s)
		if s < 0 {
			w = prevMinute(w)
			continue
		}
		w.s = s
		return w.seconds(), true
	}
	return 0, false
}

func prevDay(w wall) wall {
	w.d--
	w.h, w.mi, w.s = 23, 59, 59
	if w.d < 1 {
		w.mo--
		if w.mo < 1 {
			w.mo = 12
			w.y--
		}
		w.d = daysIn(w.y, w.mo)
	}
	return w
}

func prevHour(w wall) wall {
	if w.h == 0 {
		return prevDay(w)
	}
	w.h--
	w.mi, w.s = 59, 59
	return w
}

func prevMinute(w wall) wall {
	if w.mi == 0 {
		return prevHour(w)
	}
	w.mi--
	w.s = 59
	return w
}
