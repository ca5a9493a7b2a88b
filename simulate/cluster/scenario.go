package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

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

// Service is the documented service model: every ready pod uses BaseCPU,
// plus an equal share of Load × CPUPerRequest; a pod not yet ready uses
// BaseCPU. CPUPerRequest is CPU seconds per request as a quantity ("5m":
// 5 millicores per request per second).
type Service struct {
	CPUPerRequest Quantity `json:"cpuPerRequest"`
	BaseCPU       Quantity `json:"baseCPU,omitempty"`
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
	// MaxNodeProvisionTime: a launch not ready by then is given up (15m).
	MaxNodeProvisionTime Duration `json:"maxNodeProvisionTime,omitzero"`
	// MaxScaleDownParallelism caps the nodes removed per scan (10).
	MaxScaleDownParallelism int  `json:"maxScaleDownParallelism,omitempty"`
	Disabled                bool `json:"disabled,omitempty"`
}

// Parse reads a scenario from YAML (or JSON), refusing unknown fields, then
// applies defaults and validates it; errors name the field. A trace's
// csvFile is read relative to the working directory.
func Parse(data []byte) (*Scenario, error) { return parseIn(data, ".") }

func parseIn(data []byte, dir string) (*Scenario, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	for i := range s.Workloads {
		t := &s.Workloads[i].Load
		if t.CSVFile == "" {
			continue
		}
		path := t.CSVFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: workloads[%d].load.csvFile: %w", ErrInvalidScenario, i, err)
		}
		t.Type, t.CSV = "csv", string(b)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Load reads and parses a scenario file; a trace's csvFile is read
// relative to the scenario's directory.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := parseIn(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func defDur(d *Duration, v time.Duration) {
	if d.Duration == 0 {
		d.Duration = v
	}
}

// Validate applies defaults and checks every field, joining all problems.
func (s *Scenario) Validate() error {
	var errs []string
	bad := func(path, format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	if s.Start.IsZero() {
		s.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	defDur(&s.Duration, 24*time.Hour)
	defDur(&s.Sample, time.Minute)
	defDur(&s.HPA.SyncPeriod, hpa.DefaultSyncPeriod)
	ca := &s.ClusterAutoscaler
	defDur(&ca.ScanInterval, 10*time.Second)
	defDur(&ca.ScaleDownUnneededTime, 10*time.Minute)
	defDur(&ca.ScaleDownDelayAfterAdd, 10*time.Minute)
	defDur(&ca.MaxNodeProvisionTime, 15*time.Minute)
	if ca.UtilizationThreshold == 0 {
		ca.UtilizationThreshold = 0.5
	}
	if ca.MaxScaleDownParallelism == 0 {
		ca.MaxScaleDownParallelism = 10
	}
	switch ca.Expander {
	case "":
		ca.Expander = "least-waste"
	case "least-waste", "most-pods", "least-nodes", "price", "random":
	default:
		bad("clusterAutoscaler.expander", "unknown expander %q", ca.Expander)
	}
	if s.Duration.Duration < 0 || s.Sample.Duration <= 0 || s.HPA.SyncPeriod.Duration <= 0 || ca.ScanInterval.Duration <= 0 {
		bad("duration", "durations, sample, hpa.syncPeriod and clusterAutoscaler.scanInterval must be positive")
	}
	if len(s.Workloads) == 0 {
		bad("workloads", "at least one workload is required")
	}
	if len(s.Groups) == 0 {
		bad("groups", "at least one node group is required")
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
		checkQty(bad, p+".cpu", w.CPU, true)
		checkQty(bad, p+".memory", w.Memory, true)
		checkQty(bad, p+".service.cpuPerRequest", w.Service.CPUPerRequest, true)
		if w.Service.BaseCPU != "" {
			checkQty(bad, p+".service.baseCPU", w.Service.BaseCPU, false)
		}
		defDur(&w.StartupLatency, 20*time.Second)
		if w.Jitter < 0 || w.Jitter >= 1 {
			bad(p+".jitter", "must be in [0, 1)")
		}
		if err := w.Load.validate(); err != nil {
			bad(p+".load", "%v", err)
		}
		if w.HPA != nil {
			if _, err := hpa.SpecFromV2(*w.HPA); err != nil {
				bad(p+".hpa", "%v", err)
			} else if err := hpa.Validate(mustSpec(*w.HPA), hpa.Config{}); err != nil { // the run's gates: HPAScaleToZero off
				bad(p+".hpa", "%v", err)
			}
		}
		if w.Schedule != nil {
			if _, _, err := w.Schedule.compile(); err != nil {
				bad(p+".schedule", "%v", err)
			}
		}
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		p := fmt.Sprintf("groups[%d]", i)
		named(p, "group", g.Name)
		checkQty(bad, p+".cpu", g.CPU, true)
		checkQty(bad, p+".memory", g.Memory, true)
		if g.MaxPods == 0 {
			g.MaxPods = 110
		}
		if g.Initial == 0 {
			g.Initial = g.Min
		}
		if g.Min < 0 || g.Max < g.Min || g.Max == 0 {
			bad(p, "bounds min %d, max %d: need 0 <= min <= max, max > 0", g.Min, g.Max)
		}
		if g.Initial < g.Min || g.Initial > g.Max {
			bad(p+".initial", "%d is outside [%d, %d]", g.Initial, g.Min, g.Max)
		}
		defDur(&g.ProvisionDelay, 3*time.Minute)
		if g.InstanceType == "" {
			g.InstanceType = g.Name
		}
		for j, so := range g.StockOuts {
			if so.To.Duration <= so.From.Duration {
				bad(fmt.Sprintf("%s.stockOuts[%d]", p, j), "to must be after from")
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrInvalidScenario, strings.Join(errs, "\n  "))
	}
	return nil
}

func mustSpec(v2 autoscalingv2.HorizontalPodAutoscalerSpec) hpa.Spec {
	s, _ := hpa.SpecFromV2(v2)
	return s
}

func checkQty(bad func(string, string, ...any), path string, qv Quantity, positive bool) {
	v := string(qv)
	if v == "" {
		bad(path, "required")
		return
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		bad(path, "%q is not a quantity", v)
		return
	}
	if q.Sign() < 0 || (positive && q.Sign() == 0) {
		bad(path, "%q must be positive", v)
	}
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
