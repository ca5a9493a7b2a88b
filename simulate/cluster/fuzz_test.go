package cluster

import (
	"math"
	"os"
	"testing"
)

// FuzzParse: any input is refused with an error or gives a scenario that
// validates again unchanged; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, name := range []string{"scenarios/default.yaml", "scenarios/rps.yaml", "testdata/csv.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseWith(data, ParseOptions{Dir: "testdata"})
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("a parsed scenario does not validate again: %v", err)
		}
		e := EstimateOutput(s, Options{})
		if e.Samples <= 0 || e.SeriesValues <= 0 {
			t.Fatalf("estimate %+v", e)
		}
	})
}

// FuzzParseCSV: points are finite, bounded, non-negative and strictly
// increasing in time, or the input is refused.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"offset,rps\n0s,5\n1h,50\n", "0s,NaN\n", "1h,5\n0s,3\n", "0s,1e308\n", "\"0s\",1\n", "0s,-0\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		pts, err := parseCSV(data)
		if err != nil {
			return
		}
		for i, p := range pts {
			if math.IsNaN(p.rps) || math.IsInf(p.rps, 0) || p.rps < 0 || p.rps > maxRate || p.at < 0 {
				t.Fatalf("point %d: %+v", i, p)
			}
			if i > 0 && p.at <= pts[i-1].at {
				t.Fatalf("offsets do not increase at %d", i)
			}
		}
	})
}
