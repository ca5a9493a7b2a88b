package cluster

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

const minimal = `
name: t
workloads:
  - name: web
    cpu: 250m
    memory: 128Mi
    service: {cpuPerRequest: 1m}
    load: {type: constant, value: 10}
groups:
  - name: pool
    cpu: "2"
    memory: 8Gi
    max: 3
`

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	w, g, ca := s.Workloads[0], s.Groups[0], s.ClusterAutoscaler
	switch {
	case s.Duration.Duration != 24*time.Hour || s.Sample.Duration != time.Minute || s.Start.Weekday() != time.Monday:
		t.Fatalf("scenario defaults: %+v", s)
	case w.Replicas != 1 || w.StartupLatency.Duration != 20*time.Second:
		t.Fatalf("workload defaults: %+v", w)
	case g.MaxPods != 110 || g.ProvisionDelay.Duration != 3*time.Minute || g.InstanceType != "pool":
		t.Fatalf("group defaults: %+v", g)
	case ca.ScanInterval.Duration != 10*time.Second || ca.UtilizationThreshold != 0.5 || ca.Expander != "least-waste" || ca.MaxScaleDownParallelism != 10:
		t.Fatalf("autoscaler defaults: %+v", ca)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	cases := []struct{ edit, want string }{
		{"    cpu: 250m\n|    cpu: lots\n", "workloads[0].cpu: \"lots\" is not a quantity"},
		{"    memory: 128Mi\n|", "workloads[0].memory: required"},
		{"{type: constant, value: 10}|{type: wave}", "workloads[0].load: unknown type \"wave\""},
		{"    max: 3\n|    max: 3\n    min: 5\n", "groups[0]: bounds min 5, max 3"},
		{"name: t\n|name: t\nclusterAutoscaler: {expander: cheapest}\n", "clusterAutoscaler.expander: unknown expander \"cheapest\""},
		{"name: t\n|name: t\nbogus: 1\n", "YAML: bogus: unknown field"},
		{"    load: {type: constant, value: 10}\n|    load: {type: constant, value: 10}\n    hpa: {maxReplicas: 0}\n", "workloads[0].hpa:"},
		{"    load: {type: constant, value: 10}\n|    load: {type: constant, value: 10}\n    schedule: {rules: [{name: x, cron: \"61 * * * *\", min: 2}]}\n", "workloads[0].schedule:"},
		{"  - name: pool\n|  - name: web2\n    cpu: 1\n    memory: 1Gi\n    max: 1\n  - name: pool\n", ""},
		{"duration: 0s|", ""},
		{"groups:\n|  - name: web\n    cpu: 1\n    memory: 1Gi\n    service: {cpuPerRequest: 1m}\n    load: {type: constant, value: 1}\ngroups:\n", "workloads[1].name: duplicate workload \"web\""},
	}
	for _, tc := range cases {
		parts := strings.SplitN(tc.edit, "|", 2)
		doc := strings.Replace(minimal, parts[0], parts[1], 1)
		_, err := Parse([]byte(doc))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: unexpected %v", tc.edit, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidScenario) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want it to name %q", tc.edit, err, tc.want)
		}
	}
	// Every problem is reported at once.
	_, err := Parse([]byte(strings.Replace(strings.Replace(minimal, "cpu: 250m", "cpu: -1", 1), "max: 3", "max: 0", 1)))
	if err == nil || !strings.Contains(err.Error(), "workloads[0].cpu") || !strings.Contains(err.Error(), "groups[0]") {
		t.Fatalf("joined errors: %v", err)
	}
}

func TestTraces(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	h := func(x float64) time.Duration { return time.Duration(x * float64(time.Hour)) }
	csv := "offset,rps\n0s,5\n1h,50\n2h30m,7\n"
	cases := []struct {
		tr   Trace
		at   time.Duration
		want float64
	}{
		{Trace{Type: "constant", Value: 42}, h(5), 42},
		{Trace{Type: "step", Value: 1, To: 9, At: Duration{h(2)}}, h(2) - time.Second, 1},
		{Trace{Type: "step", Value: 1, To: 9, At: Duration{h(2)}}, h(2), 9},
		{Trace{Type: "ramp", Value: 10, To: 110, From: Duration{h(1)}, Until: Duration{h(3)}}, h(0.5), 10},
		{Trace{Type: "ramp", Value: 10, To: 110, From: Duration{h(1)}, Until: Duration{h(3)}}, h(2), 60},
		{Trace{Type: "ramp", Value: 10, To: 110, From: Duration{h(1)}, Until: Duration{h(3)}}, h(4), 110},
		{Trace{Type: "diurnal", Base: 100, Peak: 900, PeakAt: Duration{h(9)}, Width: Duration{h(1)}}, h(9), 1000},
		{Trace{Type: "diurnal", Base: 100, Peak: 900, PeakAt: Duration{h(9)}, Width: Duration{h(1)}}, h(33), 1000},
		{Trace{Type: "diurnal", Base: 100, Peak: 900, PeakAt: Duration{h(9)}, Width: Duration{h(1)}}, h(10), 100 + 900*math.Exp(-0.5)},
		{Trace{Type: "diurnal", Base: 100, Peak: 900, PeakAt: Duration{h(23.5)}, Width: Duration{h(1)}}, h(24.5), 100 + 900*math.Exp(-0.5)},
		{Trace{Type: "csv", CSV: csv}, h(0.5), 5},
		{Trace{Type: "csv", CSV: csv}, h(1), 50},
		{Trace{Type: "csv", CSV: csv}, h(10), 7},
	}
	for _, tc := range cases {
		if err := tc.tr.validate(1 << 20); err != nil {
			t.Fatal(err)
		}
		if got := tc.tr.Rate(start, tc.at); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s at %v = %v, want %v", tc.tr.Type, tc.at, got, tc.want)
		}
	}
	for _, bad := range []Trace{{Type: "csv", CSV: "1h,5\n0s,3\n"}, {Type: "csv", CSV: "x,1\n"}, {Type: "ramp", Value: 1, To: 2},
		{Type: "diurnal", Base: 1, Peak: 1}, {Type: "constant", Value: -1}, {}} {
		if err := bad.validate(1 << 20); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLoadCSVFile(t *testing.T) {
	s, err := Load("testdata/csv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := &s.Workloads[0].Load
	if l.Type != "csv" || l.Rate(s.Start, 45*time.Minute) != 900 || l.Rate(s.Start, 90*time.Minute) != 300 {
		t.Fatalf("csv trace: %+v", l)
	}
	if _, err := Parse([]byte(strings.Replace(minimal, "{type: constant, value: 10}", "{csvFile: missing.csv}", 1))); err == nil ||
		!strings.Contains(err.Error(), "workloads[0].load.csvFile") {
		t.Fatalf("missing csv file: %v", err)
	}
}
