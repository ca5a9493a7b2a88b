package cluster

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Trace is load over time, in requests per second. Type selects the shape:
//
//   - constant: Value.
//   - step: Value until At, then To.
//   - ramp: Value at From, rising (or falling) linearly to To at Until.
//   - diurnal: Base plus a bell-shaped peak of Peak at PeakAt (time of day),
//     Width wide (one standard deviation), every day.
//   - csv: points "offset,rps" (offset a duration from the start, an
//     optional header line "offset,rps"), held until the next point; given
//     inline (CSV) or as a file (CSVFile, relative to the scenario file).
type Trace struct {
	Type    string   `json:"type"`
	Value   float64  `json:"value,omitempty"`
	To      float64  `json:"to,omitempty"`
	At      Duration `json:"at,omitzero"`
	From    Duration `json:"from,omitzero"`
	Until   Duration `json:"until,omitzero"`
	Base    float64  `json:"base,omitempty"`
	Peak    float64  `json:"peak,omitempty"`
	PeakAt  Duration `json:"peakAt,omitzero"`
	Width   Duration `json:"width,omitzero"`
	CSV     string   `json:"csv,omitempty"`
	CSVFile string   `json:"csvFile,omitempty"`

	points []point
}

type point struct {
	at  time.Duration
	rps float64
}

func (t *Trace) validate() error {
	neg := func(vs ...float64) bool {
		for _, v := range vs {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return true
			}
		}
		return false
	}
	switch t.Type {
	case "constant":
		if neg(t.Value) {
			return errors.New("value must be a non-negative number")
		}
	case "step":
		if neg(t.Value, t.To) || t.At.Duration < 0 {
			return errors.New("value and to must be non-negative, at not negative")
		}
	case "ramp":
		if neg(t.Value, t.To) || t.Until.Duration <= t.From.Duration {
			return errors.New("value and to must be non-negative and until after from")
		}
	case "diurnal":
		if neg(t.Base, t.Peak) || t.Width.Duration <= 0 || t.PeakAt.Duration < 0 || t.PeakAt.Duration >= 24*time.Hour {
			return errors.New("base and peak must be non-negative, width positive, peakAt within a day")
		}
	case "csv":
		pts, err := parseCSV(t.CSV)
		if err != nil {
			return err
		}
		t.points = pts
	case "":
		return errors.New("type is required (constant, step, ramp, diurnal or csv)")
	default:
		return fmt.Errorf("unknown type %q (constant, step, ramp, diurnal or csv)", t.Type)
	}
	return nil
}

func parseCSV(data string) ([]point, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	var pts []point
	for i, rec := range recs {
		if i == 0 && rec[0] == "offset" {
			continue // header
		}
		at, err := time.ParseDuration(rec[0])
		if err != nil {
			return nil, fmt.Errorf("csv line %d: offset: %w", i+1, err)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("csv line %d: rps %q must be a non-negative number", i+1, rec[1])
		}
		pts = append(pts, point{at, v})
	}
	if len(pts) == 0 {
		return nil, errors.New("csv: no points")
	}
	if !sort.SliceIsSorted(pts, func(i, j int) bool { return pts[i].at < pts[j].at }) {
		return nil, errors.New("csv: offsets must increase")
	}
	return pts, nil
}

// Rate is the load at offset d from the start; start is the simulated start
// (for the time of day of a diurnal trace).
func (t *Trace) Rate(start time.Time, d time.Duration) float64 {
	switch t.Type {
	case "constant":
		return t.Value
	case "step":
		if d < t.At.Duration {
			return t.Value
		}
		return t.To
	case "ramp":
		switch {
		case d <= t.From.Duration:
			return t.Value
		case d >= t.Until.Duration:
			return t.To
		}
		f := float64(d-t.From.Duration) / float64(t.Until.Duration-t.From.Duration)
		return t.Value + f*(t.To-t.Value)
	case "diurnal":
		at := start.Add(d)
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, at.Location())
		v := t.Base
		// The peaks of yesterday, today and tomorrow (a wide peak near
		// midnight spills over).
		for k := -1; k <= 1; k++ {
			x := at.Sub(day.AddDate(0, 0, k).Add(t.PeakAt.Duration)).Seconds() / t.Width.Seconds()
			v += t.Peak * math.Exp(-x*x/2)
		}
		return v
	case "csv":
		i := sort.Search(len(t.points), func(i int) bool { return t.points[i].at > d }) - 1
		if i < 0 {
			return t.points[0].rps
		}
		return t.points[i].rps
	}
	return 0
}
