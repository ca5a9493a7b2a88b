package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// edit applies "old|new" to the minimal scenario.
func edit(t *testing.T, e string) string {
	t.Helper()
	parts := strings.SplitN(e, "|", 2)
	if !strings.Contains(minimal, parts[0]) {
		t.Fatalf("edit %q does not apply", e)
	}
	return strings.Replace(minimal, parts[0], parts[1], 1)
}

// Every bad value is refused at validation with its field path, never
// clamped, ignored or run.
func TestBadValuesAreRefusedWithTheirPath(t *testing.T) {
	const wl = "    load: {type: constant, value: 10}\n"
	const grp = "    max: 3\n"
	cases := []struct{ edit, want string }{
		// Sub-second steps: the simulator steps in whole seconds.
		{"name: t\n|name: t\nhpa: {syncPeriod: 500ms}\n", "hpa.syncPeriod: 500ms is not a whole number of seconds"},
		{"name: t\n|name: t\nclusterAutoscaler: {scanInterval: 500ms}\n", "clusterAutoscaler.scanInterval: 500ms is not a whole number of seconds"},
		{"name: t\n|name: t\nclusterAutoscaler: {scanInterval: 1500ms}\n", "clusterAutoscaler.scanInterval: 1.5s is not a whole number"},
		{"name: t\n|name: t\nsample: 100ms\n", "sample: 100ms is not a whole number"},
		{"name: t\n|name: t\nduration: -1h\n", "duration: -1h0m0s must not be negative"},
		{"name: t\n|name: t\nhpa: {cpuInitializationPeriod: -1s}\n", "hpa.cpuInitializationPeriod: -1s must not be negative"},
		{wl + "|" + wl + "    startupLatency: -5s\n", "workloads[0].startupLatency: -5s must not be negative"},
		// Non-finite and absurd numbers.
		{"{type: constant, value: 10}|{type: csv, csv: \"0s,NaN\"}", "workloads[0].load: csv line 1: rps is not a finite number"},
		{"{type: constant, value: 10}|{type: csv, csv: \"0s,1\\n1m,+Inf\"}", "workloads[0].load: csv line 2: rps is not a finite number"},
		{"{type: constant, value: 10}|{type: csv, csv: \"0s,1e308\"}", "workloads[0].load: csv line 1: rps is over"},
		{"{type: constant, value: 10}|{type: constant, value: 1e308}", "workloads[0].load: value: 1e+308 is over"},
		{"{type: constant, value: 10}|{type: constant, value: .nan}", "(value): .nan is not a finite number"},
		{"    cpu: 250m\n|    cpu: 1e308\n", "workloads[0].cpu: \"1e+308\" is over"},
		{"    memory: 8Gi\n|    memory: 1e308\n", "groups[0].memory: \"1e+308\" is over"},
		{"{cpuPerRequest: 1m}|{cpuPerRequest: 1e308}", "workloads[0].service.cpuPerRequest: \"1e+308\" is over"},
		{grp + "|" + grp + "    pricePerHour: 1e308\n", "groups[0].pricePerHour: 1e+308 is over"},
		{grp + "|" + grp + "    pricePerHour: -0.5\n", "groups[0].pricePerHour: -0.5 must not be below 0"},
		{grp + "|" + grp + "    pricePerHour: .inf\n", "(pricePerHour): .inf is not a finite number"},
		{"name: t\n|name: t\nhpa: {tolerance: .nan}\n", "(tolerance): .nan is not a finite number"},
		{"name: t\n|name: t\nhpa: {tolerance: -0.1}\n", "hpa.tolerance: -0.1 must not be below 0"},
		{"name: t\n|name: t\nhpa: {tolerance: 1e308}\n", "hpa.tolerance: 1e+308 is over 1"},
		{wl + "|" + wl + "    jitter: -.inf\n", "(jitter): -.inf is not a finite number"},
		// Negative counts and thresholds are refused, not clamped.
		{grp + "|" + grp + "    maxPods: -1\n", "groups[0].maxPods: -1 must not be negative"},
		{"name: t\n|name: t\nclusterAutoscaler: {utilizationThreshold: -0.2}\n", "clusterAutoscaler.utilizationThreshold: -0.2 must not be below 0"},
		{"name: t\n|name: t\nclusterAutoscaler: {utilizationThreshold: 1.5}\n", "clusterAutoscaler.utilizationThreshold: 1.5 is over 1"},
		{"name: t\n|name: t\nclusterAutoscaler: {maxScaleDownParallelism: -3}\n", "clusterAutoscaler.maxScaleDownParallelism: -3 must not be negative"},
		{grp + "|" + grp + "    stockOuts: [{from: -1h, to: 1h}]\n", "groups[0].stockOuts[0].from: -1h0m0s must not be negative"},
		// YAML strictness.
		{"    max: 3\n|    max: 3\n    max: 4\n", "YAML: yaml: unmarshal errors:\n  line 14: key \"max\" already set"},
		{"{cpuPerRequest: 1m}|{cpuPerRequst: 1m}", "YAML: workloads[0].service.cpuPerRequst: unknown field"},
		{"    cpu: 250m\n|    CPU: 250m\n", "YAML: workloads[0].CPU: unknown field (did you mean \"cpu\"?)"},
		{"    max: 3\n|    max: three\n", "YAML: groups[0].max: a string cannot be read as an integer"},
		{"    cpu: \"2\"\n|    cpu: \"2\"\n    provisionDelay: soon\n", "YAML: groups[0].provisionDelay: time: invalid duration"},
	}
	for _, tc := range cases {
		_, err := Parse([]byte(edit(t, tc.edit)))
		if err == nil || !errors.Is(err, ErrInvalidScenario) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant it to contain %q", tc.edit, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "json") {
			t.Errorf("%q: the error speaks of json: %v", tc.edit, err)
		}
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	for _, d := range []time.Duration{-time.Hour, 1500 * time.Millisecond} {
		if _, err := Run(context.Background(), small(Trace{Type: "constant", Value: 1}), Options{Duration: d}); !errors.Is(err, ErrInvalidScenario) {
			t.Errorf("Options.Duration %v: %v", d, err)
		}
	}
	// Set in code, bypassing Parse: Run validates too.
	sc := small(Trace{Type: "constant", Value: 1})
	sc.HPA.SyncPeriod = Duration{500 * time.Millisecond}
	if _, err := Run(context.Background(), sc, Options{}); err == nil || !strings.Contains(err.Error(), "hpa.syncPeriod") {
		t.Errorf("sub-second sync period in code: %v", err)
	}
}

// An HPA without metrics gets the API server's default, CPU at 80 %, and
// runs.
func TestHPAWithoutMetricsDefaultsToCPU(t *testing.T) {
	sc := small(Trace{Type: "constant", Value: 1200})
	sc.Workloads[0].HPA.Metrics = nil
	r := mustRun(t, sc, Options{Duration: time.Hour})
	m := sc.Workloads[0].HPA.Metrics
	if len(m) != 1 || m[0].Resource == nil || *m[0].Resource.Target.AverageUtilization != 80 {
		t.Fatalf("metrics not defaulted: %+v", m)
	}
	// 1200 rps × 3m = 3600m; at 80 % of 500m (400m) a pod: 9 pods.
	if got := last(r.Series.Workloads[0].Desired); got != 9 {
		t.Fatalf("%d replicas, want 9", got)
	}
}

func TestUnsimulatedMetricsAreRefused(t *testing.T) {
	target := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resourceQ("10")}
	cases := []struct {
		m    autoscalingv2.MetricSpec
		want string
	}{
		{autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "http_errors"}, Target: target}}, `Pods metric "http_errors" is not simulated`},
		{autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: "ephemeral-storage", Target: target}}, `Resource metric on "ephemeral-storage" is not simulated`},
		{autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: "cpu", Container: "sidecar", Target: target}}, `container "sidecar": the simulated pods have one container`},
		{autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "queue_length"}, Target: target}}, `External metric "queue_length" needs service.queueServiceRate`},
	}
	for _, tc := range cases {
		sc := small(Trace{Type: "constant", Value: 1})
		sc.Workloads[0].HPA.Metrics = append(sc.Workloads[0].HPA.Metrics, tc.m)
		_, err := Run(context.Background(), sc, Options{Duration: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "workloads[0].hpa.metrics[1]: "+tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func resourceQ(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// A workload whose pods fit no group: the report says why, counts the
// pods still waiting in the max wait, and says its HPA could not act.
func TestUnschedulableIsReported(t *testing.T) {
	sc := small(Trace{Type: "constant", Value: 100})
	sc.Workloads = append(sc.Workloads, Workload{Name: "huge", Replicas: 2, CPU: "8", Memory: "1Gi", NodeSelector: map[string]string{"disk": "ssd"},
		Service: Service{CPUPerRequest: "1m"}, Load: Trace{Type: "constant", Value: 1}, HPA: cpuHPA(1, 10, 50, 0)})
	r := mustRun(t, sc, Options{Duration: time.Hour})
	ok, huge := r.Summary.Workloads[0], r.Summary.Workloads[1]
	if ok.Unschedulable != "" || len(ok.HPAIssues) != 1 || ok.HPAIssues[0].Last > 120 {
		t.Errorf("the schedulable workload: %+v", ok)
	}
	want := "fits no node group: pool: nodeSelector disk=ssd does not match, requests 8000m CPU, a node has 3920m allocatable"
	if huge.Unschedulable != want {
		t.Errorf("unschedulable: %q\nwant %q", huge.Unschedulable, want)
	}
	if huge.PendingAtEnd != 2 || huge.MaxPodWait != 3600 || r.Summary.MaxPodWait != 3600 {
		t.Errorf("pending at end %d, max wait %d (run %d), want 2 and 3600", huge.PendingAtEnd, huge.MaxPodWait, r.Summary.MaxPodWait)
	}
	if len(huge.HPAIssues) != 1 || huge.HPAIssues[0].Reason != "FailedGetResourceMetric" || !huge.HPAIssues[0].Blocked ||
		huge.HPAIssues[0].Syncs != 240 || huge.HPAIssues[0].First != 7 {
		t.Errorf("HPA issues: %+v", huge.HPAIssues)
	}
}

func TestCSVFileIsConfined(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "scenarios")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("outside.csv", "0s,5\n")
	write("scenarios/ok.csv", "0s,5\n1h,7\n")
	write("scenarios/secret.csv", "0s,hunter2\n")
	write("scenarios/big.csv", "0s,5\n"+strings.Repeat("#", 200)+"\n")
	if err := os.Symlink(filepath.Join(dir, "outside.csv"), filepath.Join(sub, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(sub, "fifo.csv"), 0o644); err != nil {
		t.Fatal(err)
	}
	scenario := func(csv string) string {
		p := filepath.Join(sub, "s.yaml")
		if err := os.WriteFile(p, []byte(edit(t, "{type: constant, value: 10}|{csvFile: "+csv+"}")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if s, err := Load(scenario("ok.csv")); err != nil || s.Workloads[0].Load.Rate(s.Start, 2*time.Hour) != 7 {
		t.Fatalf("a file beside the scenario: %v", err)
	}
	cases := []struct{ csv, want string }{
		{"../outside.csv", "leaves the scenario's directory"},
		{filepath.Join(dir, "outside.csv"), "leaves the scenario's directory"},
		{"link.csv", "link.csv"},
		{"fifo.csv", "is not a regular file"},
		{"secret.csv", "csv line 1: rps is not a finite number"},
		{".", "is not a regular file"},
	}
	for _, tc := range cases {
		_, err := Load(scenario(tc.csv))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "workloads[0].load") {
			t.Errorf("%s: got %v, want %q", tc.csv, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error echoes the file: %v", tc.csv, err)
		}
	}
	// Allowed explicitly, the outside file is read.
	if _, err := LoadWith(scenario("../outside.csv"), ParseOptions{AllowOutsideDir: true}); err != nil {
		t.Errorf("allowed outside: %v", err)
	}
	// The size limit.
	_, err := LoadWith(scenario("big.csv"), ParseOptions{Limits: Limits{MaxCSVBytes: 100}})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "over the limit of 100") {
		t.Errorf("size limit: %v", err)
	}
	// A scenario file that is a FIFO is refused, not waited on.
	if _, err := Load(filepath.Join(sub, "fifo.csv")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("fifo scenario: %v", err)
	}
}

func TestLimits(t *testing.T) {
	long := edit(t, "name: t\n|name: t\nduration: 87600h\n") // ten years
	_, err := Parse([]byte(long))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "duration: 87600h0m0s is over the limit of 744h0m0s (MaxDuration)") {
		t.Fatalf("ten years: %v", err)
	}
	s, err := ParseWith([]byte(long), ParseOptions{Limits: Limits{MaxDuration: 100000 * time.Hour}})
	if err != nil {
		t.Fatalf("raised limit: %v", err)
	}
	// Even allowed, the series at one sample a minute would be too big.
	if _, err := Run(context.Background(), s, Options{Limits: Limits{MaxDuration: 100000 * time.Hour}}); !errors.Is(err, ErrLimit) ||
		!strings.Contains(err.Error(), "MaxSeriesValues") {
		t.Fatalf("series limit: %v", err)
	}
	if _, err := Run(context.Background(), small(Trace{Type: "constant", Value: 1}), Options{Duration: 1000 * time.Hour}); !errors.Is(err, ErrLimit) {
		t.Fatalf("Options.Duration over the limit: %v", err)
	}
	many := edit(t, "    load: {type: constant, value: 10}\n|    load: {type: constant, value: 10}\n    hpa: {maxReplicas: 20000, metrics: []}\n")
	if _, err := Parse([]byte(many)); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "workloads[0].hpa.maxReplicas: 20000 is over the limit of 10000 (MaxReplicas)") {
		t.Fatalf("replicas: %v", err)
	}
	if _, err := ParseWith([]byte(many), ParseOptions{Limits: Limits{MaxReplicas: 20000, MaxTotalPods: 15000}}); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "MaxTotalPods") {
		t.Fatalf("total pods: %v", err)
	}
	nodes := edit(t, "    max: 3\n|    max: 6000\n")
	if _, err := Parse([]byte(nodes)); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "groups[0].max: 6000 is over the limit of 5000 (MaxNodesPerGroup)") {
		t.Fatalf("nodes: %v", err)
	}
	if _, err := ParseWith([]byte(minimal), ParseOptions{Limits: Limits{MaxScenarioBytes: 10}}); !errors.Is(err, ErrLimit) {
		t.Fatalf("scenario size: %v", err)
	}
	var b strings.Builder
	b.WriteString("name: t\nworkloads:\n")
	for i := range 201 {
		b.WriteString("  - {name: w" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ", cpu: 1, memory: 1Gi, service: {cpuPerRequest: 1m}, load: {type: constant, value: 1}}\n")
	}
	b.WriteString("groups: [{name: g, cpu: 4, memory: 16Gi, max: 1}]\n")
	if _, err := Parse([]byte(b.String())); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "201 workloads, over the limit of 200") {
		t.Fatalf("workloads: %v", err)
	}
}
