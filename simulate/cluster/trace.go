package cluster

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
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

func (t *Trace) validate(maxCSV int64) error {
	var errs []string
	num := func(name string, v float64) {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			errs = append(errs, fmt.Sprintf("%s: %v is not a finite number", name, v))
		case v < 0:
			errs = append(errs, fmt.Sprintf("%s: %g must not be negative", name, v))
		case v > maxRate:
			errs = append(errs, fmt.Sprintf("%s: %g is over %g requests per second", name, v, float64(maxRate)))
		}
	}
	dur := func(name string, d Duration) {
		if d.Duration < 0 {
			errs = append(errs, fmt.Sprintf("%s: %s must not be negative", name, d.Duration))
		}
	}
	switch t.Type {
	case "constant":
		num("value", t.Value)
	case "step":
		num("value", t.Value)
		num("to", t.To)
		dur("at", t.At)
	case "ramp":
		num("value", t.Value)
		num("to", t.To)
		dur("from", t.From)
		if t.Until.Duration <= t.From.Duration {
			errs = append(errs, "until must be after from")
		}
	case "diurnal":
		num("base", t.Base)
		num("peak", t.Peak)
		if t.Width.Duration <= 0 {
			errs = append(errs, "width must be positive")
		}
		if t.PeakAt.Duration < 0 || t.PeakAt.Duration >= 24*time.Hour {
			errs = append(errs, "peakAt must be within a day [0, 24h)")
		}
	case "csv":
		if int64(len(t.CSV)) > maxCSV {
			return limitErr("csv: %d bytes, over the limit of %d (MaxCSVBytes)", len(t.CSV), maxCSV)
		}
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
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// parseCSV reads "offset,rps" points. Its errors give the line and never
// the content (a trace may be a private file).
func parseCSV(data string) ([]point, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var pts []point
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("csv line %d: %w", pe.Line, pe.Err)
			}
			return nil, errors.New("csv: unreadable")
		}
		line, _ := r.FieldPos(0)
		if i == 0 && rec[0] == "offset" {
			continue // header
		}
		at, err := time.ParseDuration(rec[0])
		if err != nil {
			return nil, fmt.Errorf("csv line %d: the offset is not a duration like 90s", line)
		}
		if at < 0 {
			return nil, fmt.Errorf("csv line %d: the offset must not be negative", line)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		switch {
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			return nil, fmt.Errorf("csv line %d: rps is not a finite number", line)
		case v < 0:
			return nil, fmt.Errorf("csv line %d: rps must not be negative", line)
		case v > maxRate:
			return nil, fmt.Errorf("csv line %d: rps is over %g", line, float64(maxRate))
		}
		if len(pts) > 0 && at <= pts[len(pts)-1].at {
			return nil, fmt.Errorf("csv line %d: offsets must increase", line)
		}
		pts = append(pts, point{at, v})
	}
	if len(pts) == 0 {
		return nil, errors.New("csv: no points")
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
