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
	// The last two fire once a year inside the hour the November change
	// repeats: every search crosses two or more clock changes.
	for _, expr := range []string{"*/5 * * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 29 2 *", "*/30 1 2 11 *", "30 1 2 11 *"} {
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
	for _, expr := range []string{"*/5 * * * *", "0 9 * * 1-5", "*/30 1 2 11 *", "30 1 2 11 *"} {
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
				if t.Year() < 2020 {
					t = time.Date(2030, 3, 1, 0, 0, 0, 0, loc)
				}
			}
		})
	}
}

var _ = schedule.TZDataRelease

// BenchmarkAt evaluates 10 000 schedules (a weekday window, two jobs and a
// one-shot range, in one of five zones) at one instant per op, next
// transition included.
func BenchmarkAt(b *testing.B) {
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Sydney", "UTC"}
	sale := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	scheds := make([]*schedule.Schedule, 10000)
	for i := range scheds {
		s, err := schedule.New(schedule.Spec{TimeZone: zones[i%len(zones)], Rules: []schedule.RuleSpec{
			{Name: "office", Start: "0 8 * * 1-5", End: "0 18 * * 1-5", Bounds: schedule.Floor(int32(4 + i%5)), Priority: 1},
			{Name: "up", Cron: "0 7 * * *", Bounds: schedule.Exact(6)},
			{Name: "down", Cron: "30 22 * * *", Bounds: schedule.Exact(2)},
			{Name: "sale", From: sale, To: sale.Add(24 * time.Hour), Bounds: schedule.Ceiling(40), Priority: 2},
		}})
		if err != nil {
			b.Fatal(err)
		}
		scheds[i] = s
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range scheds {
			if st := s.At(at); st.Rule == "" || st.Next.IsZero() {
				b.Fatalf("no rule in force: %+v", st)
			}
		}
	}
	b.ReportMetric(float64(len(scheds))*float64(b.N)/b.Elapsed().Seconds(), "schedules/s")
}
