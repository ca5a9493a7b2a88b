package schedule_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kscale/kscale/schedule"
)

// FuzzParseCron: any string either parses or fails with ErrInvalidCron
// (never a panic, whatever robfig/cron's parser does with it), and a parsed
// expression's fires strictly increase.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "0 9 * * 1-5", "@daily", "TZ=UTC", "0 0 30 2 *", "* * * * * *", "0 0 13 * 5", "59 23 31 12 *", "@every 1h", "1-5/0 * * * *", "0 ? * * *", "? ? ? ? ?", "?/15 ? * * *"} {
		f.Add(s, false, false)
	}
	f.Fuzz(func(t *testing.T, expr string, seconds, cronhpa bool) {
		c, err := schedule.ParseCron(expr, nil, schedule.ParseOptions{Seconds: seconds, CronHPA: cronhpa})
		if err != nil {
			if !errors.Is(err, schedule.ErrInvalidCron) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		at := time.Date(2024, 3, 9, 0, 0, 0, 0, time.UTC)
		for range 5 {
			next, ok := c.Next(at)
			if !ok {
				t.Fatalf("%q parsed but has no next fire after %v", expr, at)
			}
			if !next.After(at) {
				t.Fatalf("%q: Next(%v) = %v does not advance", expr, at, next)
			}
			at = next
		}
	})
}

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata",
	"Australia/Sydney", "Africa/Casablanca", "Europe/Warsaw"}

// fuzzExprs mixes daily and weekly specs with ones that fire once a month or
// once a year inside an hour that a clock change skips or repeats somewhere
// (1-2 a.m. in New York in November, 2-3 a.m. in Europe in late October,
// 23-0 h in Santiago in April), so a search crosses several changes.
var fuzzExprs = []string{"*/5 * * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 * * *", "15 2 * * *", "0 * * * *", "30 1 * * 0", "0 0 29 2 *", "*/7 1-3 * * *", "45 23 31 * *",
	"*/30 1 2 11 *", "30 1 2 11 *", "*/10 2 27 10 *", "30 2 27 10 *", "*/20 1 3 * *", "45 1 3 * *", "*/15 23 6 4 *", "*/30 2 * 10 0", "0 ? * * *", "*/10 0-2 31 12 *"}

// FuzzNextPrev checks, at any instant, in DST zones: Prev(t) <= t < Next(t),
// Next(Prev(t)) == Next(t), Prev(Next(t)) == Next(t), and no fire between.
func FuzzNextPrev(f *testing.F) {
	f.Add(uint8(1), uint8(2), int64(1710052200)) // New York, 02:30, the 2024 spring gap
	f.Add(uint8(1), uint8(6), int64(1730611800)) // New York, 30 1 * * 0, the 2024 fall back
	f.Add(uint8(4), uint8(3), int64(1725768000)) // Santiago midnight gap
	f.Add(uint8(3), uint8(4), int64(1728142200)) // Lord Howe
	// The fuzz body reads sec as 31536000 + sec (mod 3.9e9), so these seeds
	// are the instants named minus 31536000 s.
	f.Add(uint8(1), uint8(10), int64(1730525400)) // New York, */30 1 2 11 *, 2025-11-02 01:30 EDT (issue 10 item 10)
	f.Add(uint8(1), uint8(10), int64(1748750400)) // the same, Prev from 2026-06-01
	f.Add(uint8(1), uint8(11), int64(1699075800)) // New York, 30 1 2 11 *, a year of changes
	f.Add(uint8(2), uint8(12), int64(1698454800)) // Berlin, */10 2 27 10 *, 2024-10-27 02:00 CEST
	f.Add(uint8(2), uint8(13), int64(1713464000)) // Berlin, 30 2 27 10 *, from April
	f.Add(uint8(1), uint8(14), int64(1701464000)) // New York, */20 1 3 * *, monthly
	f.Add(uint8(4), uint8(16), int64(1680922800)) // Santiago, */15 23 6 4 *, the 2024 fall back
	f.Add(uint8(6), uint8(17), int64(1696564000)) // Sydney, */30 2 * 10 0, Sundays of October
	f.Add(uint8(7), uint8(17), int64(1708464000)) // Casablanca, around the 2025 Ramadan changes
	f.Add(uint8(8), uint8(19), int64(2209032000)) // Warsaw, */10 0-2 31 12 *, Dec 31 2040 (golang/go#81583)
	f.Add(uint8(1), uint8(15), int64(1699064000)) // New York, 45 1 3 * *, the 2024 fall back
	f.Fuzz(func(t *testing.T, zi, ei uint8, sec int64) {
		loc, err := schedule.LoadLocation(fuzzZones[int(zi)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		expr := fuzzExprs[int(ei)%len(fuzzExprs)]
		c, err := schedule.ParseCron(expr, loc, schedule.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Keep t between 1971 and 2099.
		u := 31536000 + ((sec%3_900_000_000)+3_900_000_000)%3_900_000_000
		at := time.Unix(u, 0)
		next, okN := c.Next(at)
		prev, okP := c.Prev(at)
		if !okN || !okP {
			t.Fatalf("%s %q at %v: next %v prev %v", loc, expr, at, okN, okP)
		}
		if prev.After(at) || !next.After(at) {
			t.Fatalf("%s %q at %v: Prev %v, Next %v", loc, expr, at, prev, next)
		}
		if n2, _ := c.Next(prev); !n2.Equal(next) {
			t.Fatalf("%s %q: Next(Prev(%v)) = %v, Next = %v", loc, expr, at, n2, next)
		}
		if p2, _ := c.Prev(next); !p2.Equal(next) {
			t.Fatalf("%s %q: Prev(Next(%v)) = %v", loc, expr, at, p2)
		}
		if p3, _ := c.Prev(next.Add(-time.Second)); !p3.Equal(prev) {
			t.Fatalf("%s %q: a fire between %v and %v: %v", loc, expr, prev, next, p3)
		}
	})
}
