package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/schedule"
)

// ErrInvalidScenario wraps every scenario validation error.
var ErrInvalidScenario = errors.New("cluster: invalid scenario")

// Duration is a time.Duration written as "90s", "15m" or "1h30m".
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "90s"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"90s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Quantity is a Kubernetes quantity ("500m", "2", "16Gi"), written as a
// string or a number.
type Quantity string

// UnmarshalJSON accepts a string or a number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("quantity must be a string or a number: %w", err)
		}
		*q = Quantity(n.String())
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*q = Quantity(v)
	return nil
}

// Scenario is a cluster to simulate: workloads with their load, HPAs and
// schedules, node groups, and the settings of the two autoscalers.
type Scenario struct {
	Name string `json:"name"`
	// Seed drives every random choice (pod start-up jitter); the same
	// scenario and seed give byte-identical output.
	Seed uint64 `json:"seed,omitempty"`
	// Start is the simulated start (RFC 3339); default 2026-01-05T00:00:00Z,
	// a Monday.
	Start time.Time `json:"start,omitzero"`
	// Duration is how long to simulate (default 24h).
	Duration Duration `json:"duration,omitzero"`
	// Sample is the interval of the output series (default 1m).
	Sample Duration `json:"sample,omitzero"`

	Workloads []Workload `json:"workloads"`
	Groups    []Group    `json:"groups"`

	HPA               HPASettings `json:"hpa,omitzero"`
	ClusterAutoscaler CASettings  `json:"clusterAutoscaler,omitzero"`
}

// Workload is a Deployment: identical pods, their load and how they scale.
type Workload struct {
	Name string `json:"name"`
	// Replicas is the starting replica count (default 1).
	Replicas int32 `json:"replicas,omitempty"`
	// CPU and Memory are each pod's requests, as Kubernetes quantities.
	CPU    Quantity `json:"cpu"`
	Memory Quantity `json:"memory"`
	// NodeSelector restricts the pods to groups whose labels match.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// StartupLatency is how long a bound pod takes to become ready
	// (default 20s); Jitter spreads it by up to ± that fraction (seeded).
	StartupLatency Duration `json:"startupLatency,omitzero"`
	Jitter         float64  `json:"jitter,omitempty"`
	// Service is how load turns into CPU use.
	Service Service `json:"service"`
	// Load is the traffic over time, in requests per second.
	Load Trace `json:"load"`
	// HPA is a standard autoscaling/v2 HorizontalPodAutoscaler spec; its
	// scaleTargetRef is ignored (it targets this workload).
	HPA *autoscalingv2.HorizontalPodAutoscalerSpec `json:"hpa,omitempty"`
	// Schedule pre-scales the workload.
	Schedule *Schedule `json:"schedule,omitempty"`
}

// Service is the documented service model. Every ready pod uses BaseCPU
// plus an equal share of Load × CPUPerRequest; a pod not yet ready uses
// BaseCPU and serves nothing. CPUPerRequest is CPU seconds per request as
// a quantity ("5m": 5 millicores per request per second).
//
// Memory, for HPAs on memory: a pod uses BaseMemory, plus
// MemoryPerRequest × the requests per second it serves (in-flight
// buffers), plus MemoryGrowthPerHour × the hours since it started (a slow
// leak; a new pod starts afresh). Memory use is reported, never enforced
// (no OOM kill).
//
// Custom metrics: the Pods metric "requests_per_second" is each ready
// pod's share of the load (0 for a pod starting); the Object or External
// metric "requests_per_second" is the whole load. When QueueServiceRate
// is set, requests also queue: the External metric "queue_length" is a
// queue that the load fills and each ready pod drains at QueueServiceRate
// requests per second.
type Service struct {
	CPUPerRequest       Quantity `json:"cpuPerRequest"`
	BaseCPU             Quantity `json:"baseCPU,omitempty"`
	BaseMemory          Quantity `json:"baseMemory,omitempty"`
	MemoryPerRequest    Quantity `json:"memoryPerRequest,omitempty"`
	MemoryGrowthPerHour Quantity `json:"memoryGrowthPerHour,omitempty"`
	QueueServiceRate    float64  `json:"queueServiceRate,omitempty"`
}

// Schedule is a schedule in the scenario's shorthand: rules with cron
// jobs, windows or ranges and a floor/ceiling, read in TimeZone, combined
// with the HPA by Policy (Floor by default).
type Schedule struct {
	TimeZone string         `json:"timeZone,omitempty"`
	Policy   string         `json:"policy,omitempty"`
	Rules    []ScheduleRule `json:"rules"`
}

// ScheduleRule is one rule; see schedule.RuleSpec.
type ScheduleRule struct {
	Name     string   `json:"name"`
	Cron     string   `json:"cron,omitempty"`
	Start    string   `json:"start,omitempty"`
	End      string   `json:"end,omitempty"`
	Duration Duration `json:"duration,omitzero"`
	LeadTime Duration `json:"leadTime,omitzero"`
	Min      *int32   `json:"min,omitempty"`
	Max      *int32   `json:"max,omitempty"`
	Priority int32    `json:"priority,omitempty"`
}

// Group is a node group: its node shape, bounds, price and provisioning.
type Group struct {
	Name         string            `json:"name"`
	InstanceType string            `json:"instanceType,omitempty"`
	CPU          Quantity          `json:"cpu"`
	Memory       Quantity          `json:"memory"`
	MaxPods      int64             `json:"maxPods,omitempty"` // default 110
	Labels       map[string]string `json:"labels,omitempty"`
	Min          int               `json:"min,omitempty"`
	Max          int               `json:"max"`
	// Initial is the number of nodes at the start (default Min).
	Initial      int     `json:"initial,omitempty"`
	PricePerHour float64 `json:"pricePerHour,omitempty"`
	Spot         bool    `json:"spot,omitempty"`
	// ProvisionDelay is from the resize to a ready node (default 3m).
	ProvisionDelay Duration `json:"provisionDelay,omitzero"`
	// StockOuts are periods in which launches fail for lack of capacity.
	StockOuts []Period `json:"stockOuts,omitempty"`
}

// Period is a span of simulated time, as offsets from the start.
type Period struct {
	From Duration `json:"from"`
	To   Duration `json:"to"`
}

// HPASettings are kube-controller-manager's HPA flags.
type HPASettings struct {
	SyncPeriod              Duration `json:"syncPeriod,omitzero"`
	Tolerance               float64  `json:"tolerance,omitempty"`
	CPUInitializationPeriod Duration `json:"cpuInitializationPeriod,omitzero"`
	InitialReadinessDelay   Duration `json:"initialReadinessDelay,omitzero"`
	DownscaleStabilization  Duration `json:"downscaleStabilization,omitzero"`
}

// CASettings are cluster-autoscaler's flags the simulation honours.
type CASettings struct {
	ScanInterval           Duration `json:"scanInterval,omitzero"`           // 10s
	ScaleDownUnneededTime  Duration `json:"scaleDownUnneededTime,omitzero"`  // 10m
	ScaleDownDelayAfterAdd Duration `json:"scaleDownDelayAfterAdd,omitzero"` // 10m
	UtilizationThreshold   float64  `json:"utilizationThreshold,omitempty"`  // 0.5
	// Expander is least-waste (default), most-pods, least-nodes, price or
	// random.
	Expander string `json:"expander,omitempty"`
	// ScaleUpMode is expander (default: cluster-autoscaler's, one group
	// per loop chosen by Expander) or provision (Karpenter's: every
	// pending pod packed at once across all groups).
	ScaleUpMode string `json:"scaleUpMode,omitempty"`
	// MaxNodeProvisionTime: a launch not ready by then is given up (15m).
	MaxNodeProvisionTime Duration `json:"maxNodeProvisionTime,omitzero"`
	// MaxScaleDownParallelism caps the nodes removed per scan (10).
	MaxScaleDownParallelism int  `json:"maxScaleDownParallelism,omitempty"`
	Disabled                bool `json:"disabled,omitempty"`
	// PreProvision raises node groups ahead of the workloads' scheduled
	// rises (autoscaler.Rise), by each group's measured provisioning
	// latency (at least PreProvisionLatencyFloor, default 5m) plus the
	// pods' start-up.
	PreProvision             bool     `json:"preProvision,omitempty"`
	PreProvisionLatencyFloor Duration `json:"preProvisionLatencyFloor,omitzero"`
}

// ParseOptions tune Parse and Load.
type ParseOptions struct {
	// Dir is the directory a trace's csvFile is read from (Load: the
	// scenario file's directory; Parse: the working directory).
	Dir string
	// AllowOutsideDir lets a csvFile leave Dir (an absolute path, "..", a
	// symbolic link out); by default it is refused.
	AllowOutsideDir bool
	// Limits bound the scenario; zero fields take DefaultLimits.
	Limits Limits
}

// Parse reads a scenario from YAML (or JSON) strictly — duplicate keys and
// unknown fields are refused with their path — then applies defaults and
// validates it against DefaultLimits; errors name the field. A trace's
// csvFile is read from the working directory and may not leave it.
func Parse(data []byte) (*Scenario, error) { return ParseWith(data, ParseOptions{Dir: "."}) }

// ParseWith is Parse with options.
func ParseWith(data []byte, o ParseOptions) (*Scenario, error) {
	lim := o.Limits.orDefault()
	if int64(len(data)) > lim.MaxScenarioBytes {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, limitErr("the scenario is %d bytes, over the limit of %d (MaxScenarioBytes)", len(data), lim.MaxScenarioBytes))
	}
	var s Scenario
	if err := decodeScenario(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	for i := range s.Workloads {
		t := &s.Workloads[i].Load
		if t.CSVFile == "" {
			continue
		}
		if t.CSV != "" {
			return nil, fmt.Errorf("%w: workloads[%d].load: give csv or csvFile, not both", ErrInvalidScenario, i)
		}
		b, err := readCSVFile(o.Dir, t.CSVFile, o.AllowOutsideDir, lim.MaxCSVBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: workloads[%d].load.csvFile: %w", ErrInvalidScenario, i, err)
		}
		if t.Type == "" {
			t.Type = "csv"
		}
		t.CSV = string(b)
	}
	if err := s.ValidateLimits(lim); err != nil {
		return nil, err
	}
	return &s, nil
}

// Load reads and parses a scenario file; a trace's csvFile is read
// relative to the scenario's directory and may not leave it.
func Load(path string) (*Scenario, error) { return LoadWith(path, ParseOptions{}) }

// LoadWith is Load with options; o.Dir is ignored (the file's directory
// is used).
func LoadWith(path string, o ParseOptions) (*Scenario, error) {
	lim := o.Limits.orDefault()
	data, err := readRegular(path, lim.MaxScenarioBytes, "MaxScenarioBytes")
	if err != nil {
		return nil, err
	}
	o.Dir = filepath.Dir(path)
	s, err := ParseWith(data, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readCSVFile reads a trace file below dir (unless outside is allowed).
// Errors name the file, never its contents.
func readCSVFile(dir, name string, outside bool, limit int64) ([]byte, error) {
	if outside {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return readRegular(p, limit, "MaxCSVBytes")
	}
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("%q leaves the scenario's directory (allow it explicitly to read it)", name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Stat first: opening a FIFO would block.
	st, err := root.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, unwrapPath(err))
	}
	if err := regular(name, st, limit); err != nil {
		return nil, err
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, unwrapPath(err))
	}
	defer f.Close()
	return readBounded(f, name, limit, "MaxCSVBytes")
}

// readRegular reads a regular file of at most limit bytes.
func readRegular(path string, limit int64, limitName string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, st, limit); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, path, limit, limitName)
}

func regular(name string, st os.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%q is not a regular file (%s)", name, st.Mode().Type())
	}
	if st.Size() > limit {
		return limitErr("%q is %d bytes, over the limit of %d", name, st.Size(), limit)
	}
	return nil
}

func readBounded(f *os.File, name string, limit int64, limitName string) ([]byte, error) {
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, unwrapPath(err))
	}
	if int64(len(b)) > limit {
		return nil, limitErr("%q is over the limit of %d bytes (%s)", name, limit, limitName)
	}
	return b, nil
}

// unwrapPath drops a *PathError's repeated path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Validate applies defaults and checks every field against DefaultLimits,
// joining all problems.
func (s *Scenario) Validate() error { return s.ValidateLimits(DefaultLimits()) }

// validator collects field problems.
type validator struct {
	errs  []string
	limit bool
}

func (v *validator) bad(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

func (v *validator) over(path, format string, args ...any) {
	v.limit = true
	v.bad(path, format, args...)
}

// dur defaults a duration and checks it: not negative, whole seconds (the
// simulator steps in seconds), at least min when min > 0.
func (v *validator) dur(path string, d *Duration, def, min time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
	switch {
	case d.Duration < 0:
		v.bad(path, "%s must not be negative", d.Duration)
	case d.Duration%time.Second != 0:
		v.bad(path, "%s is not a whole number of seconds: the simulator steps in seconds", d.Duration)
	case min > 0 && d.Duration < min:
		v.bad(path, "%s is under %s", d.Duration, min)
	}
}

// num checks a float: finite, in [lo, hi].
func (v *validator) num(path string, x, lo, hi float64) {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		v.bad(path, "%v is not a finite number", x)
	case x < lo:
		v.bad(path, "%g must not be below %g", x, lo)
	case x > hi:
		v.bad(path, "%g is over %g", x, hi)
	}
}

// qty checks a quantity: required (unless optional), not negative,
// positive when positive, at most hi in its unit (cores or bytes).
func (v *validator) qty(path string, qv Quantity, required, positive bool, hi float64) {
	s := string(qv)
	if s == "" {
		if required {
			v.bad(path, "required")
		}
		return
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		v.bad(path, "%q is not a quantity", s)
		return
	}
	f := q.AsApproximateFloat64()
	switch {
	case q.Sign() < 0 || (positive && q.Sign() == 0):
		v.bad(path, "%q must be positive", s)
	case math.IsNaN(f) || math.IsInf(f, 0) || f > hi:
		v.bad(path, "%q is over %g", s, hi)
	}
}

// ValidateLimits applies defaults and checks every field, and the
// scenario's size against l (zero fields take DefaultLimits), joining all
// problems. A size problem also matches ErrLimit.
func (s *Scenario) ValidateLimits(l Limits) error {
	l = l.orDefault()
	v := &validator{}
	bad := v.bad
	if s.Start.IsZero() {
		s.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	if y := s.Start.Year(); y < 1970 || y > 9000 {
		bad("start", "year %d is outside 1970-9000", y)
	}
	v.dur("duration", &s.Duration, 24*time.Hour, 0)
	if s.Duration.Duration > l.MaxDuration {
		v.over("duration", "%s is over the limit of %s (MaxDuration)", s.Duration.Duration, l.MaxDuration)
	}
	v.dur("sample", &s.Sample, time.Minute, time.Second)
	v.dur("hpa.syncPeriod", &s.HPA.SyncPeriod, hpa.DefaultSyncPeriod, time.Second)
	v.num("hpa.tolerance", s.HPA.Tolerance, 0, 1)
	v.dur("hpa.cpuInitializationPeriod", &s.HPA.CPUInitializationPeriod, 0, 0)
	v.dur("hpa.initialReadinessDelay", &s.HPA.InitialReadinessDelay, 0, 0)
	v.dur("hpa.downscaleStabilization", &s.HPA.DownscaleStabilization, 0, 0)
	ca := &s.ClusterAutoscaler
	v.dur("clusterAutoscaler.scanInterval", &ca.ScanInterval, 10*time.Second, time.Second)
	v.dur("clusterAutoscaler.scaleDownUnneededTime", &ca.ScaleDownUnneededTime, 10*time.Minute, 0)
	v.dur("clusterAutoscaler.scaleDownDelayAfterAdd", &ca.ScaleDownDelayAfterAdd, 10*time.Minute, 0)
	v.dur("clusterAutoscaler.maxNodeProvisionTime", &ca.MaxNodeProvisionTime, 15*time.Minute, 0)
	v.dur("clusterAutoscaler.preProvisionLatencyFloor", &ca.PreProvisionLatencyFloor, 5*time.Minute, 0)
	v.num("clusterAutoscaler.utilizationThreshold", ca.UtilizationThreshold, 0, 1)
	if ca.UtilizationThreshold == 0 {
		ca.UtilizationThreshold = 0.5
	}
	switch {
	case ca.MaxScaleDownParallelism < 0:
		bad("clusterAutoscaler.maxScaleDownParallelism", "%d must not be negative", ca.MaxScaleDownParallelism)
	case ca.MaxScaleDownParallelism > maxParallel:
		bad("clusterAutoscaler.maxScaleDownParallelism", "%d is over %d", ca.MaxScaleDownParallelism, maxParallel)
	case ca.MaxScaleDownParallelism == 0:
		ca.MaxScaleDownParallelism = 10
	}
	switch ca.ScaleUpMode {
	case "":
		ca.ScaleUpMode = "expander"
	case "expander", "provision":
	default:
		bad("clusterAutoscaler.scaleUpMode", "unknown scale-up mode %q (expander or provision)", ca.ScaleUpMode)
	}
	switch ca.Expander {
	case "":
		ca.Expander = "least-waste"
	case "least-waste", "most-pods", "least-nodes", "price", "random":
	default:
		bad("clusterAutoscaler.expander", "unknown expander %q", ca.Expander)
	}
	if len(s.Workloads) == 0 {
		bad("workloads", "at least one workload is required")
	}
	if len(s.Workloads) > l.MaxWorkloads {
		v.over("workloads", "%d workloads, over the limit of %d (MaxWorkloads)", len(s.Workloads), l.MaxWorkloads)
	}
	if len(s.Groups) == 0 {
		bad("groups", "at least one node group is required")
	}
	if len(s.Groups) > l.MaxWorkloads {
		v.over("groups", "%d groups, over the limit of %d (MaxWorkloads bounds groups too)", len(s.Groups), l.MaxWorkloads)
	}
	names := map[string]bool{}
	named := func(path, kind, name string) {
		switch {
		case name == "":
			bad(path+".name", "required")
		case names[kind+"/"+name]:
			bad(path+".name", "duplicate %s %q", kind, name)
		}
		names[kind+"/"+name] = true
	}
	totalPods := 0
	for i := range s.Workloads {
		w := &s.Workloads[i]
		p := fmt.Sprintf("workloads[%d]", i)
		named(p, "workload", w.Name)
		if w.Replicas == 0 {
			w.Replicas = 1
		}
		if w.Replicas < 0 {
			bad(p+".replicas", "must not be negative")
		}
		most := w.Replicas
		if w.Replicas > l.MaxReplicas {
			v.over(p+".replicas", "%d is over the limit of %d (MaxReplicas)", w.Replicas, l.MaxReplicas)
		}
		v.qty(p+".cpu", w.CPU, true, true, maxMilliCPU/1000)
		v.qty(p+".memory", w.Memory, true, true, maxBytes)
		sv := &w.Service
		v.qty(p+".service.cpuPerRequest", sv.CPUPerRequest, true, true, maxMilliCPU/1000)
		v.qty(p+".service.baseCPU", sv.BaseCPU, false, false, maxMilliCPU/1000)
		v.qty(p+".service.baseMemory", sv.BaseMemory, false, false, maxBytes)
		v.qty(p+".service.memoryPerRequest", sv.MemoryPerRequest, false, false, maxPerReqMem)
		v.qty(p+".service.memoryGrowthPerHour", sv.MemoryGrowthPerHour, false, false, maxLeak)
		v.num(p+".service.queueServiceRate", sv.QueueServiceRate, 0, maxRate)
		v.dur(p+".startupLatency", &w.StartupLatency, 20*time.Second, 0)
		v.num(p+".jitter", w.Jitter, 0, 0.999999)
		if err := w.Load.validate(l.MaxCSVBytes); err != nil {
			if errors.Is(err, ErrLimit) {
				v.limit = true
			}
			bad(p+".load", "%v", err)
		}
		if w.HPA != nil {
			defaultMetrics(w.HPA)
			spec, err := hpa.SpecFromV2(*w.HPA)
			if err == nil {
				err = hpa.Validate(spec, hpa.Config{}) // the run's gates: HPAScaleToZero off
			}
			if err != nil {
				bad(p+".hpa", "%v", err)
			} else {
				for j := range spec.Metrics {
					if msg := unsimulated(&spec.Metrics[j], w); msg != "" {
						bad(fmt.Sprintf("%s.hpa.metrics[%d]", p, j), "%s", msg)
					}
				}
			}
			if w.HPA.MaxReplicas > l.MaxReplicas {
				v.over(p+".hpa.maxReplicas", "%d is over the limit of %d (MaxReplicas)", w.HPA.MaxReplicas, l.MaxReplicas)
			}
			most = max(most, w.HPA.MaxReplicas)
		}
		if w.Schedule != nil {
			if _, _, err := w.Schedule.compile(); err != nil {
				bad(p+".schedule", "%v", err)
			}
			for j, r := range w.Schedule.Rules {
				rp := fmt.Sprintf("%s.schedule.rules[%d]", p, j)
				v.dur(rp+".duration", &w.Schedule.Rules[j].Duration, 0, 0)
				v.dur(rp+".leadTime", &w.Schedule.Rules[j].LeadTime, 0, 0)
				for _, b := range []struct {
					name string
					v    *int32
				}{{"min", r.Min}, {"max", r.Max}} {
					if b.v == nil {
						continue
					}
					if *b.v > l.MaxReplicas {
						v.over(rp+"."+b.name, "%d is over the limit of %d (MaxReplicas)", *b.v, l.MaxReplicas)
					}
					most = max(most, *b.v)
				}
			}
		}
		totalPods += int(max(most, 0))
	}
	if totalPods > l.MaxTotalPods {
		v.over("workloads", "up to %d pods in all (replicas, hpa.maxReplicas and schedule bounds), over the limit of %d (MaxTotalPods)", totalPods, l.MaxTotalPods)
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		p := fmt.Sprintf("groups[%d]", i)
		named(p, "group", g.Name)
		v.qty(p+".cpu", g.CPU, true, true, maxMilliCPU/1000)
		v.qty(p+".memory", g.Memory, true, true, maxBytes)
		switch {
		case g.MaxPods < 0:
			bad(p+".maxPods", "%d must not be negative", g.MaxPods)
		case g.MaxPods > maxMaxPods:
			bad(p+".maxPods", "%d is over %d", g.MaxPods, maxMaxPods)
		case g.MaxPods == 0:
			g.MaxPods = 110
		}
		if g.Initial == 0 {
			g.Initial = g.Min
		}
		if g.Min < 0 || g.Max < g.Min || g.Max == 0 {
			bad(p, "bounds min %d, max %d: need 0 <= min <= max, max > 0", g.Min, g.Max)
		}
		if g.Max > l.MaxNodesPerGroup {
			v.over(p+".max", "%d is over the limit of %d (MaxNodesPerGroup)", g.Max, l.MaxNodesPerGroup)
		}
		if g.Initial < g.Min || g.Initial > g.Max {
			bad(p+".initial", "%d is outside [%d, %d]", g.Initial, g.Min, g.Max)
		}
		v.num(p+".pricePerHour", g.PricePerHour, 0, maxPrice)
		v.dur(p+".provisionDelay", &g.ProvisionDelay, 3*time.Minute, 0)
		if g.InstanceType == "" {
			g.InstanceType = g.Name
		}
		for j := range g.StockOuts {
			so := &g.StockOuts[j]
			sp := fmt.Sprintf("%s.stockOuts[%d]", p, j)
			v.dur(sp+".from", &so.From, 0, 0)
			v.dur(sp+".to", &so.To, 0, 0)
			if so.To.Duration <= so.From.Duration {
				bad(sp, "to must be after from")
			}
		}
	}
	if len(v.errs) > 0 {
		err := fmt.Errorf("%w:\n  %s", ErrInvalidScenario, strings.Join(v.errs, "\n  "))
		if v.limit {
			err = fmt.Errorf("%w (%w)", err, ErrLimit)
		}
		return err
	}
	return nil
}

// defaultMetrics applies the API server's default to an HPA without
// metrics: CPU at 80 % utilization (autoscaling/v2 SetDefaults).
func defaultMetrics(h *autoscalingv2.HorizontalPodAutoscalerSpec) {
	if len(h.Metrics) > 0 {
		return
	}
	u := int32(80)
	h.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}}}}
}

// milli and bytesOf read quantities Validate has checked.
func milli(v Quantity) int64 {
	q, err := resource.ParseQuantity(string(v))
	if err != nil {
		return 0
	}
	return q.MilliValue()
}

func bytesOf(v Quantity) int64 {
	q, err := resource.ParseQuantity(string(v))
	if err != nil {
		return 0
	}
	return q.Value()
}

// compile turns the shorthand into a schedule and its policy.
func (sc *Schedule) compile() (*schedule.Schedule, schedule.Policy, error) {
	spec := schedule.Spec{TimeZone: sc.TimeZone}
	for _, r := range sc.Rules {
		spec.Rules = append(spec.Rules, schedule.RuleSpec{Name: r.Name, Cron: r.Cron, Start: r.Start, End: r.End,
			Duration: r.Duration.Duration, LeadTime: r.LeadTime.Duration, Priority: r.Priority,
			Bounds: schedule.Bounds{Min: r.Min, Max: r.Max}})
	}
	p := schedule.Policy(sc.Policy)
	switch p {
	case "":
		p = schedule.PolicyFloor
	case schedule.PolicyClamp, schedule.PolicyFloor, schedule.PolicyCeiling, schedule.PolicyOverride:
	default:
		return nil, "", fmt.Errorf("unknown policy %q", sc.Policy)
	}
	s, err := schedule.New(spec)
	return s, p, err
}
