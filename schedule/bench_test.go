package schedule_test

import (
	"testing"
	"time"

	"github.com/kscale/kscale/schedule"
)

// Compare runs with benchstat:
//
//	go test -run '^$' -bench . -benchmem -count 10 ./schedule > old.txt
//	benchstat old.txt new.txt

func BenchmarkNext(b *testing.B) {
	loc := mustLoc(b, "America/New_York")
	for _, expr := range []string{"*/5 * * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 29 2 *"} {
		b.Run(expr, func(b *testing.B) {
			c := mustCron(b, expr, loc)
			t := time.Date(2024, 3, 1, 0, 0, 0, 0, loc)
			b.ReportAllocs()
			for b.Loop() {
				next, ok := c.Next(t)
				if !ok || !next.After(t) {
					b.Fatalf("Next(%v) = %v, %v", t, next, ok)
				}
				t = next // walk forward, through the March clock change
				if t.Year() > 2034 {
					t = time.Date(2024, 3, 1, 0, 0, 0, 0, loc)
				}
			}
		})
	}
}

func BenchmarkPrev(b *testing.B) {
	loc := mustLoc(b, "America/New_York")
	for _, expr := range []string{"*/5 * * * *", "0 9 * * 1-5"} {
		b.Run(expr, func(b *testing.B) {
			c := mustCron(b, expr, loc)
			t := time.Date(2030, 3, 1, 0, 0, 0, 0, loc)
			b.ReportAllocs()
			for b.Loop() {
				prev, ok := c.Prev(t)
				if !ok || prev.After(t) {
					b.Fatalf("Prev(%v) = %v, %v", t, prev, ok)
				}
				t = prev.Add(-time.Second)
			}
		})
	}
}

var _ = schedule.TZDataRelease
