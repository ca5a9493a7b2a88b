package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func shipped(t testing.TB, name string) *Scenario {
	t.Helper()
	s, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRun(t testing.TB, sc *Scenario, o Options) *Result {
	t.Helper()
	o.Check = true
	r, err := Run(context.Background(), sc, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func outputs(t testing.TB, r *Result) (js, svg []byte) {
	t.Helper()
	var a, b bytes.Buffer
	if err := r.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := WriteSVG(&b, r); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), b.Bytes()
}

func TestDeterminism(t *testing.T) {
	j1, s1 := outputs(t, mustRun(t, shipped(t, "default"), Options{}))
	j2, s2 := outputs(t, mustRun(t, shipped(t, "default"), Options{}))
	if !bytes.Equal(j1, j2) || !bytes.Equal(s1, s2) {
		t.Fatal("the same scenario and seed gave different output")
	}
	other := shipped(t, "default")
	other.Seed = 2 // start-up jitter draws differ
	j3, _ := outputs(t, mustRun(t, other, Options{}))
	if bytes.Equal(j1, j3) {
		t.Fatal("a different seed changed nothing: the seed is not used")
	}
}

func TestGoldenSummary(t *testing.T) {
	r := mustRun(t, shipped(t, "default"), Options{})
	got, _ := json.MarshalIndent(r.Summary, "", "  ")
	const path = "testdata/golden/default-summary.json"
	if *update {
		os.MkdirAll("testdata/golden", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Fatalf("summary differs from %s (run with -update if the change is intended):\n%s", path, got)
	}
}

// cpuHPA is a CPU-utilization HPA; up, when positive, allows scaling up
// by that many pods per 15 s.
func cpuHPA(minR, maxR, target int32, up int32) *autoscalingv2.HorizontalPodAutoscalerSpec {
	s := &autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: maxR,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}}}
	if up > 0 {
		s.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
			Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: up, PeriodSeconds: 15}}}}
	}
	return s
}

// small is one workload on one group: pods of 500m, nodes of 4 CPU
// (3 920m allocatable: 7 pods), no start-up jitter.
func small(load Trace) *Scenario {
	sc := &Scenario{Name: "small", Duration: Duration{3 * time.Hour}, Sample: Duration{10 * time.Second},
		Workloads: []Workload{{Name: "api", Replicas: 2, CPU: "500m", Memory: "256Mi", StartupLatency: Duration{30 * time.Second},
			Service: Service{CPUPerRequest: "3m"}, Load: load, HPA: cpuHPA(1, 100, 60, 100)}},
		Groups: []Group{{Name: "pool", CPU: "4", Memory: "16Gi", Min: 0, Max: 20, Initial: 1, ProvisionDelay: Duration{3 * time.Minute}}},
	}
	return sc
}

func last[T any](v []T) T { return v[len(v)-1] }

func TestConstantLoadConverges(t *testing.T) {
	for _, rps := range []float64{100, 1000, 2500} {
		r := mustRun(t, small(Trace{Type: "constant", Value: rps}), Options{})
		// Each pod may use 60 % of 500m = 300m; the load needs rps × 3m.
		want := int32(math.Ceil(rps * 3 / 300))
		want = max(want, 1)
		w := r.Series.Workloads[0]
		if last(w.Desired) != want || last(w.Ready) != want {
			t.Errorf("%v rps: %d desired, %d ready; want %d", rps, last(w.Desired), last(w.Ready), want)
		}
		t.Logf("%v rps: %d replicas on %d nodes", rps, last(w.Ready), last(r.Series.Nodes))
		nodes := int32(math.Ceil(float64(want) / 7))
		if last(r.Series.Nodes) != nodes {
			t.Errorf("%v rps: %d nodes, want %d", rps, last(r.Series.Nodes), nodes)
		}
	}
}

func TestStepDelayIsTheSumOfLatencies(t *testing.T) {
	sc := small(Trace{Type: "step", Value: 200, To: 6000, At: Duration{time.Hour}}) // 2 → 60 pods: 9 nodes
	sc.ClusterAutoscaler.ScanInterval = Duration{time.Second}
	r := mustRun(t, sc, Options{})
	w := r.Series.Workloads[0]
	step := int64(3600)
	var readyAt int64 = -1
	for i, tt := range r.Series.T {
		if tt >= step && w.Ready[i] == 60 {
			readyAt = tt
			break
		}
	}
	if readyAt < 0 {
		t.Fatalf("never reached 60 ready pods: %v", last(w.Ready))
	}
	// HPA sync wait (< 15 s) + CA scan (≤ 1 s) + provisioning 180 s + start-up 30 s,
	// sampled every 10 s.
	delay := time.Duration(readyAt-step) * time.Second
	lo, hi := 210*time.Second, 210*time.Second+sc.HPA.SyncPeriod.Duration+sc.ClusterAutoscaler.ScanInterval.Duration+sc.Sample.Duration
	if delay < lo || delay > hi {
		t.Fatalf("scale-up took %v, want within [%v, %v]", delay, lo, hi)
	}
	t.Logf("scale-up took %v (latencies %v)", delay, lo)
}

func TestCronPreScaleRemovesPendingUnderLoad(t *testing.T) {
	cron := mustRun(t, shipped(t, "default"), Options{})
	only := mustRun(t, shipped(t, "hpa-only"), Options{})
	if only.Summary.PendingUnderLoadSeconds == 0 || only.Summary.AboveTargetSeconds == 0 {
		t.Fatalf("the HPA-only run shows no lag: %+v", only.Summary)
	}
	if cron.Summary.PendingUnderLoadSeconds != 0 {
		t.Fatalf("with the pre-scale %v pod-seconds still pending under load", cron.Summary.PendingUnderLoadSeconds)
	}
	if cron.Summary.AboveTargetSeconds >= only.Summary.AboveTargetSeconds/4 {
		t.Fatalf("above target %v s with the pre-scale vs %v s without", cron.Summary.AboveTargetSeconds, only.Summary.AboveTargetSeconds)
	}
}

func TestStockOutFallsBackAndConserves(t *testing.T) {
	sc := shipped(t, "hpa-only")
	sc.Groups[1].StockOuts = []Period{{From: Duration{7 * time.Hour}, To: Duration{12 * time.Hour}}}
	r := mustRun(t, sc, Options{}) // Check verifies conservation every sample
	g := r.Summary.Groups
	t.Logf("groups %+v", g)
	if g[1].FailedLaunches == 0 || g[0].ScaleUps == 0 {
		t.Fatalf("no failed spot launch or no on-demand fallback: %+v", g)
	}
}

func TestSVGStructure(t *testing.T) {
	a := mustRun(t, shipped(t, "default"), Options{})
	b := mustRun(t, shipped(t, "hpa-only"), Options{})
	var buf bytes.Buffer
	if err := WriteSVG(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	type elem struct {
		XMLName xml.Name
		Attrs   []xml.Attr `xml:",any,attr"`
		Text    string     `xml:",chardata"`
		Kids    []elem     `xml:",any"`
	}
	var root elem
	if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	attr := func(e elem, name string) string {
		for _, a := range e.Attrs {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	if root.XMLName.Local != "svg" {
		t.Fatalf("root %s", root.XMLName.Local)
	}
	var panels []string
	for _, p := range root.Kids {
		if attr(p, "class") != "panel" {
			continue
		}
		panels = append(panels, attr(p, "data-title"))
		axes, ticks := 0, 0
		series := map[string]int{}
		for _, e := range p.Kids {
			switch c := attr(e, "class"); {
			case strings.HasPrefix(c, "axis"):
				axes++
			case strings.HasPrefix(c, "tick x"):
				ticks++
			case c == "series":
				series[attr(e, "data-result")+"/"+attr(e, "data-series")] = len(strings.Fields(attr(e, "points")))
			}
		}
		if axes != 2 || ticks < 5 {
			t.Errorf("panel %s: %d axes, %d x ticks", attr(p, "data-title"), axes, ticks)
		}
		for _, r := range []*Result{a, b} {
			want := map[string][]string{"Replicas": {"desired", "ready"}, "Pending pods": {"pending"}, "Nodes": {"on-demand", "spot", "total"},
				"web: replicas": {"desired", "ready", "pending"}, "web: load (requests/s)": {"load"}, "web: CPU utilization (%)": {"utilization"}}[attr(p, "data-title")]
			for _, s := range want {
				if n := series[r.Scenario+"/"+s]; n != len(r.Series.T) {
					t.Errorf("panel %s: series %s of %s has %d points, want %d", attr(p, "data-title"), s, r.Scenario, n, len(r.Series.T))
				}
			}
		}
	}
	if strings.Join(panels, ",") != "Replicas,Pending pods,Nodes,web: replicas,web: load (requests/s),web: CPU utilization (%)" {
		t.Fatalf("panels %v", panels)
	}
	if bytes.Contains(buf.Bytes(), []byte("<script")) {
		t.Fatal("script in the SVG")
	}
}

func TestWriters(t *testing.T) {
	r := mustRun(t, small(Trace{Type: "constant", Value: 300}), Options{Duration: 10 * time.Minute})
	var csv, table bytes.Buffer
	if err := r.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != len(r.Series.T)+1 || !strings.HasPrefix(lines[0], "t_seconds,desired,ready,pending,nodes,pool_nodes") {
		t.Fatalf("csv: %d lines, header %q", len(lines), lines[0])
	}
	if err := WriteTable(&table, r, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "node-hours") || strings.Count(strings.SplitN(table.String(), "\n", 2)[0], "small") != 2 {
		t.Fatalf("table:\n%s", table.String())
	}
	if r.Duration.Duration != 10*time.Minute || last(r.Series.T) != 600 {
		t.Fatalf("duration override: %v, last sample %d", r.Duration, last(r.Series.T))
	}
}

func TestProgressAndCancel(t *testing.T) {
	var calls []time.Duration
	mustRun(t, small(Trace{Type: "constant", Value: 100}), Options{Progress: func(done, total time.Duration) { calls = append(calls, done) }})
	if len(calls) != 3 || calls[2] != 3*time.Hour {
		t.Fatalf("progress calls %v", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, small(Trace{Type: "constant", Value: 100}), Options{}); err == nil {
		t.Fatal("cancelled run succeeded")
	}
}

func TestSlowLaunchesAreGivenUp(t *testing.T) {
	sc := shipped(t, "hpa-only")
	sc.Groups[1].ProvisionDelay = Duration{20 * time.Minute} // spot: past the 15 min limit
	r := mustRun(t, sc, Options{})
	g := r.Summary.Groups
	t.Logf("groups %+v", g)
	if g[1].FailedLaunches == 0 || g[1].PeakNodes > 0 || g[0].ScaleUps == 0 {
		t.Fatalf("slow spot launches not given up for on-demand: %+v", g)
	}
}

func TestSVGDownsamplesKeepingPeaks(t *testing.T) {
	sc := small(Trace{Type: "csv", CSV: "0s,100\n30h,2500\n30h1m,100\n"}) // a one-minute spike
	sc.Duration = Duration{7 * 24 * time.Hour}
	r := mustRun(t, sc, Options{})
	var buf bytes.Buffer
	if err := WriteSVG(&buf, r); err != nil {
		t.Fatal(err)
	}
	if len(r.Series.T) <= maxChartPoints {
		t.Fatalf("only %d samples: nothing to downsample", len(r.Series.T))
	}
	for _, pl := range strings.Split(buf.String(), "<polyline")[1:] {
		pts := strings.Fields(strings.SplitN(strings.SplitN(pl, `points="`, 2)[1], `"`, 2)[0])
		if len(pts) > maxChartPoints {
			t.Fatalf("%d points in a line", len(pts))
		}
	}
	ts, vs := downsample(r.Series.T, r.Series.Workloads[0].Load, maxChartPoints)
	peak := 0.0
	for i, v := range vs {
		peak = math.Max(peak, v)
		if i > 0 && ts[i] <= ts[i-1] {
			t.Fatal("downsampled times do not increase")
		}
	}
	if peak != 2500 {
		t.Fatalf("the spike was lost: peak %v", peak)
	}
}
