package cluster

import (
	"errors"
	"fmt"
	"time"
)

// ErrLimit wraps every refusal for exceeding a Limits bound; the message
// names the limit, so a caller can offer to raise it.
var ErrLimit = errors.New("cluster: over a limit")

// Limits bound what a scenario may ask for, so a typo (a 10-year run, a
// million replicas) is refused up front instead of running out of memory.
// A zero field takes its DefaultLimits value; raise a bound when you mean
// it.
type Limits struct {
	// MaxDuration bounds the simulated time (default 31 days).
	MaxDuration time.Duration
	// MaxWorkloads bounds the workloads of a scenario (default 200).
	MaxWorkloads int
	// MaxReplicas bounds each workload's replicas, HPA maxReplicas and
	// schedule bounds (default 10 000).
	MaxReplicas int32
	// MaxNodesPerGroup bounds each group's max (default 5 000).
	MaxNodesPerGroup int
	// MaxTotalPods bounds the sum over workloads of the most replicas each
	// may reach (default 50 000).
	MaxTotalPods int
	// MaxCSVBytes bounds a csvFile's size and an inline csv trace
	// (default 16 MiB).
	MaxCSVBytes int64
	// MaxScenarioBytes bounds a scenario file (default 4 MiB).
	MaxScenarioBytes int64
	// MaxSeriesValues bounds the values the output series hold: samples ×
	// (4 + 2 per group + 5 per workload, more with custom metrics)
	// (default 20 million, a few hundred MB of JSON).
	MaxSeriesValues int64
}

// DefaultLimits are the bounds a zero Limits field takes.
func DefaultLimits() Limits {
	return Limits{
		MaxDuration:      31 * 24 * time.Hour,
		MaxWorkloads:     200,
		MaxReplicas:      10000,
		MaxNodesPerGroup: 5000,
		MaxTotalPods:     50000,
		MaxCSVBytes:      16 << 20,
		MaxScenarioBytes: 4 << 20,
		MaxSeriesValues:  20_000_000,
	}
}

// orDefault fills the zero fields.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxDuration <= 0 {
		l.MaxDuration = d.MaxDuration
	}
	if l.MaxWorkloads <= 0 {
		l.MaxWorkloads = d.MaxWorkloads
	}
	if l.MaxReplicas <= 0 {
		l.MaxReplicas = d.MaxReplicas
	}
	if l.MaxNodesPerGroup <= 0 {
		l.MaxNodesPerGroup = d.MaxNodesPerGroup
	}
	if l.MaxTotalPods <= 0 {
		l.MaxTotalPods = d.MaxTotalPods
	}
	if l.MaxCSVBytes <= 0 {
		l.MaxCSVBytes = d.MaxCSVBytes
	}
	if l.MaxScenarioBytes <= 0 {
		l.MaxScenarioBytes = d.MaxScenarioBytes
	}
	if l.MaxSeriesValues <= 0 {
		l.MaxSeriesValues = d.MaxSeriesValues
	}
	return l
}

// Value bounds: magnitudes past these are typos or attacks, never a real
// cluster, and would overflow the simulator's integer arithmetic.
const (
	maxRate      = 1e9       // requests per second in a trace
	maxMilliCPU  = 1e8       // 100 000 cores, for any CPU quantity
	maxBytes     = 1 << 50   // 1 PiB, for any memory quantity
	maxPrice     = 1e6       // per node-hour
	maxMaxPods   = 10000     // pods per node
	maxPerReqMem = 1 << 40   // memory per in-flight request, bytes
	maxMetric    = 1e12      // a custom metric's value or target
	maxLeak      = 1 << 40   // memory growth per hour, bytes
	maxParallel  = 1_000_000 // scale-down parallelism
)

// Estimate is the size of a run's output, known before the run.
type Estimate struct {
	// Samples per series and SeriesValues over all series.
	Samples      int64 `json:"samples"`
	SeriesValues int64 `json:"seriesValues"`
	// JSONBytes and CSVBytes approximate the files WriteJSON and WriteCSV
	// write (within a factor of two); the SVG and HTML charts are
	// downsampled and stay small.
	JSONBytes int64 `json:"jsonBytes"`
	CSVBytes  int64 `json:"csvBytes"`
}

// EstimateOutput sizes a validated scenario's output for the options
// (Options.Duration replaces the scenario's).
func EstimateOutput(sc *Scenario, o Options) Estimate {
	d := sc.Duration.Duration
	if o.Duration > 0 {
		d = o.Duration
	}
	sample := max(sc.Sample.Duration, time.Second)
	n := int64(d/sample) + 2
	cols := int64(4 + 2*len(sc.Groups))
	for i := range sc.Workloads {
		cols += int64(len(workloadColumns(&sc.Workloads[i])))
	}
	e := Estimate{Samples: n, SeriesValues: n * (cols + 1)}
	// JSON is indented, one value a line: about 16 bytes per value; CSV
	// about 6.
	e.JSONBytes = e.SeriesValues * 16
	e.CSVBytes = e.SeriesValues * 6
	return e
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrLimit, fmt.Sprintf(format, args...))
}
