package schedule

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// The oracle walks every minute of several years on the real timeline of a
// zone and decides fires from first principles, independently of the civil
// search in civil.go and next.go:
//   - a fixed-time spec fires at an instant when the wall clock first
//     reaches a matching time (a "high-water mark" of the wall clock);
//   - an interval-style spec fires at every instant whose wall time matches.
// Next and Prev must agree with it everywhere.

type oracleSpec struct {
	expr  string
	cron  *Cron
	fires []int64
}

// wallMatches checks one civil minute against the bit sets, reading the
// fields through package time rather than civil.go.
func wallMatches(m *matcher, c int64) bool {
	t := time.Unix(c, 0).UTC()
	if m.month&(1<<uint(t.Month())) == 0 || m.hour&(1<<uint(t.Hour())) == 0 ||
		m.minute&(1<<uint(t.Minute())) == 0 || m.second&1 == 0 {
		return false
	}
	dom := m.dom&(1<<uint(t.Day())) != 0
	dow := m.dow&(1<<uint(t.Weekday())) != 0
	if m.dom&starBit != 0 || m.dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

func oracleFires(loc *time.Location, specs []*oracleSpec, from, to time.Time) {
	start, end := from.Unix(), to.Unix()
	hwm := start - 60 + offsetAt(loc, start-60)
	for u := start; u < end; u += 60 {
		_, off := time.Unix(u, 0).In(loc).Zone()
		c := u + int64(off)
		for _, s := range specs {
			if s.cron.interval {
				if wallMatches(&s.cron.m, c) {
					s.fires = append(s.fires, u)
				}
				continue
			}
			if c <= hwm {
				continue
			}
			for x := hwm + 60; x <= c; x += 60 {
				if wallMatches(&s.cron.m, x) {
					s.fires = append(s.fires, u)
					break
				}
			}
		}
		hwm = max(hwm, c)
	}
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
	}
	exprs := []string{"30 2 * * *", "0 0 * * *", "15 2 * * *", "*/15 * * * *", "0 * * * *", "0 9 * * 1-5",
		"30 1 * * *", "0,30 2 * * 0", "0 0 13 * 5", "45 23 28-31 * *", "0 0 29 2 *", "*/7 2 * * *"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, z := range zones {
		t.Run(z.name, func(t *testing.T) {
			loc, err := LoadLocation(z.name)
			if err != nil {
				t.Fatal(err)
			}
			from, _ := time.ParseInLocation("2006-01-02", z.from, loc)
			to, _ := time.ParseInLocation("2006-01-02", z.to, loc)
			var specs []*oracleSpec
			for _, e := range exprs {
				c, err := ParseCron(e, loc, ParseOptions{})
				if err != nil {
					t.Fatal(err)
				}
				specs = append(specs, &oracleSpec{expr: e, cron: c})
			}
			oracleFires(loc, specs, from, to)
			lo, hi := from.Unix()+3*86400, to.Unix()-3*86400 // away from the walk's edges
			for _, s := range specs {
				check := func(u int64) {
					i := sort.Search(len(s.fires), func(i int) bool { return s.fires[i] > u })
					if i < len(s.fires) {
						if got, ok := s.cron.next(u); !ok || got != s.fires[i] {
							t.Fatalf("%s Next(%s) = %s, oracle %s", s.expr, fmtU(u, loc), fmtU(got, loc), fmtU(s.fires[i], loc))
						}
					}
					if i > 0 {
						if got, ok := s.cron.prev(u); !ok || got != s.fires[i-1] {
							t.Fatalf("%s Prev(%s) = %s, oracle %s", s.expr, fmtU(u, loc), fmtU(got, loc), fmtU(s.fires[i-1], loc))
						}
					}
				}
				for _, f := range s.fires {
					if f > lo && f < hi {
						check(f - 1)
						check(f)
					}
				}
				for range 300 {
					check(lo + rng.Int64N(hi-lo))
				}
				// Every minute around each clock change.
				for u := lo; u < hi; u += 86400 {
					if offsetAt(loc, u) != offsetAt(loc, u+86400) {
						for v := u - 3600; v < u+86400+3600; v += 60 {
							check(v)
							check(v + 30)
						}
					}
				}
			}
		})
	}
}

func fmtU(u int64, loc *time.Location) string {
	return time.Unix(u, 0).In(loc).Format("2006-01-02 15:04:05 MST")
}
