package cluster

import (
	"math"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kscale/kscale/hpa"
)

func avgValue(v string) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resourceQ(v)}
}

// withMetric is small's scenario with its HPA reading only m.
func withMetric(load float64, m autoscalingv2.MetricSpec) *Scenario {
	sc := small(Trace{Type: "constant", Value: load})
	sc.Workloads[0].HPA.Metrics = []autoscalingv2.MetricSpec{m}
	return sc
}

func TestCustomMetricsConverge(t *testing.T) {
	rps := autoscalingv2.MetricIdentifier{Name: MetricRequestsPerSecond}
	ref := autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "web"}
	util := int32(60)
	cases := []struct {
		name string
		m    autoscalingv2.MetricSpec
		load float64
		want int32
	}{
		// 1234 rps at 100 a pod: ceil(12.34) = 13; at 13 pods 94.9 a pod is within the tolerance.
		{"Pods requests_per_second", autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType,
			Pods: &autoscalingv2.PodsMetricSource{Metric: rps, Target: avgValue("100")}}, 1234, 13},
		{"Object requests_per_second", autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType,
			Object: &autoscalingv2.ObjectMetricSource{DescribedObject: ref, Metric: rps, Target: avgValue("100")}}, 1234, 13},
		{"External requests_per_second", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType,
			External: &autoscalingv2.ExternalMetricSource{Metric: rps, Target: avgValue("100")}}, 1234, 13},
		// As the Resource cpu HPA of TestConstantLoadConverges: 1000 rps × 3m at 60 % of 500m.
		{"ContainerResource cpu", autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
			ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: AppContainer,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}, 1000, 10},
	}
	for _, tc := range cases {
		r := mustRun(t, withMetric(tc.load, tc.m), Options{Duration: time.Hour})
		w := r.Series.Workloads[0]
		if last(w.Desired) != tc.want || last(w.Ready) != tc.want {
			t.Errorf("%s: %d desired, %d ready; want %d", tc.name, last(w.Desired), last(w.Ready), tc.want)
		}
		for _, is := range r.Summary.Workloads[0].HPAIssues {
			if is.Last > 120 {
				t.Errorf("%s: HPA issue after start-up: %+v", tc.name, is)
			}
		}
		if tc.m.Pods != nil && math.Abs(last(w.RPSPerPod)-tc.load/float64(tc.want)) > 0.001 {
			t.Errorf("%s: rps per pod %v", tc.name, last(w.RPSPerPod))
		}
	}
}

// Memory: each pod uses 100Mi plus 4Mi per request per second it serves;
// the HPA holds memory at 70 % of the 512Mi request. Where it settles, the
// utilization it reads (truncated to a percent, as upstream) is within the
// tolerance of the target.
func TestMemoryHPA(t *testing.T) {
	util := int32(70)
	sc := withMetric(1000, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}})
	sc.Workloads[0].Memory = "512Mi"
	sc.Workloads[0].Service.BaseMemory = "100Mi"
	sc.Workloads[0].Service.MemoryPerRequest = "4Mi"
	r := mustRun(t, sc, Options{Duration: time.Hour})
	w := r.Series.Workloads[0]
	n := float64(last(w.Ready))
	usage := func(n float64) float64 { return math.Trunc((100+4*1000/n)*100/512) / 70 }
	if ratio := usage(n); ratio < 0.9 || ratio > 1.1 {
		t.Fatalf("%v pods: memory ratio %.3f, outside the tolerance", n, ratio)
	}
	if got, want := last(w.Memory), 100+4*1000/n; math.Abs(got-want) > 0.1 {
		t.Fatalf("memory series %v MiB, want %v", got, want)
	}
	if last(w.Desired) <= 2 {
		t.Fatal("never scaled on memory")
	}
}

// A leak: memory grows with each pod's age, so an HPA on memory adds pods
// although the load is flat.
func TestMemoryLeakScalesUp(t *testing.T) {
	avg := avgValue("400Mi")
	sc := withMetric(100, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: avg}})
	sc.Workloads[0].Service.BaseMemory = "100Mi"
	sc.Workloads[0].Service.MemoryGrowthPerHour = "100Mi"
	r := mustRun(t, sc, Options{Duration: 5 * time.Hour})
	w := r.Series.Workloads[0]
	// 100Mi a pod against 400Mi: down to the minimum, 1; past 3h the
	// pod's 400Mi and more asks for a second.
	at2h := 2 * 3600 / 10
	if w.Desired[at2h] != 1 || last(w.Desired) != 2 {
		t.Fatalf("replicas after 2h %d, at the end %d: the leak did not show", w.Desired[at2h], last(w.Desired))
	}
}

// A queue drained by ready pods: the External metric queue_length drives
// the HPA up until the pods drain it.
func TestQueueLength(t *testing.T) {
	sc := withMetric(500, autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: MetricQueueLength}, Target: avgValue("30")}})
	sc.Workloads[0].Service.QueueServiceRate = 60 // 9 pods drain 500/s
	r := mustRun(t, sc, Options{Duration: time.Hour})
	w := r.Series.Workloads[0]
	peakQ, peakR := 0.0, int32(0)
	for i := range w.Queue {
		peakQ = math.Max(peakQ, w.Queue[i])
		peakR = max(peakR, w.Ready[i])
	}
	if peakQ == 0 || peakR < 9 {
		t.Fatalf("queue peak %v, ready peak %d", peakQ, peakR)
	}
	drained := false
	for i := range w.Queue {
		if w.Ready[i] >= 9 && w.Queue[i] == 0 {
			drained = true
		}
	}
	if !drained {
		t.Fatal("the queue was never drained with 9 ready pods")
	}
}

// The inputs hpa.Evaluate gets are what the metrics APIs would return:
// no sample for a pending pod, 0 requests for a pod starting, the share
// for a ready pod; memory in milli-bytes.
func TestMetricInputsAsTheAPIsGiveThem(t *testing.T) {
	sc := withMetric(300, autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: MetricRequestsPerSecond}, Target: avgValue("100")}})
	sc.Workloads[0].HPA.Metrics = append(sc.Workloads[0].HPA.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: avgValue("1Gi")}})
	sc.Workloads[0].Service.BaseMemory = "64Mi"
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := newSim(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := s.wls[0]
	s.newPod(w) // 3 pods
	s.schedule()
	s.unbind(w.pods[2]) // back to pending
	w.pods[2].bound, w.pods[2].readyAt = -1, -1
	w.hpods[2].Phase = hpa.PodPending
	w.npend++
	s.pending++
	w.hpods[0].Ready, w.nready = hpa.ConditionTrue, 1 // pod 0 ready, pod 1 starting
	in := s.fillMetrics(w, s.at(0), 300, 0)
	pods, mem := in[0].Samples, in[1].Samples
	if len(pods) != 2 || pods[0].Pod != w.pods[0].name || pods[0].Value != 300000 || pods[1].Value != 0 || pods[0].Window != time.Minute {
		t.Fatalf("Pods samples %+v", pods)
	}
	if len(mem) != 2 || mem[0].Value != 64<<20*1000 {
		t.Fatalf("memory samples %+v", mem)
	}
}

func TestBuiltinRPS(t *testing.T) {
	r := mustRun(t, shipped(t, "rps"), Options{})
	web, worker := r.Series.Workloads[0], r.Series.Workloads[1]
	if web.RPSPerPod == nil || web.Memory == nil || worker.Queue == nil {
		t.Fatal("the rps scenario's series lack the custom metrics")
	}
	// At the 09:00 peak (2000 rps) the Pods metric at 50 a pod asks for 40
	// replicas, CPU at 60 % of 500m (300m a pod for 5m a request) for 34:
	// the HPA takes the larger.
	if got := web.Desired[9*60]; got != 40 {
		t.Errorf("web at the peak: %d replicas, want 40 (requests per second, not CPU)", got)
	}
	for _, ws := range r.Summary.Workloads {
		for _, is := range ws.HPAIssues {
			if is.Last > 120 {
				t.Errorf("%s: HPA issue after start-up: %+v", ws.Name, is)
			}
		}
	}
	peakQ := 0.0
	for _, q := range worker.Queue {
		peakQ = math.Max(peakQ, q)
	}
	if peakQ == 0 || last(worker.Queue) != 0 {
		t.Errorf("worker queue: peak %v, at the end %v", peakQ, last(worker.Queue))
	}
}
