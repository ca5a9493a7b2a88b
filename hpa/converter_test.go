package hpa_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	externalmetricsv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kscale/kscale/hpa"
)

// sameOutcome evaluates both inputs with fresh States and compares what
// Evaluate decides and reports.
func sameOutcome(t *testing.T, spec hpa.Spec, a, b hpa.Input) {
	t.Helper()
	ra, erra := hpa.Evaluate(hpa.DefaultConfig(), spec, a, &hpa.State{})
	rb, errb := hpa.Evaluate(hpa.DefaultConfig(), spec, b, &hpa.State{})
	if (erra == nil) != (errb == nil) {
		t.Fatalf("errors differ: %v / %v", erra, errb)
	}
	if d := cmp.Diff(ra, rb, cmpopts.IgnoreFields(hpa.Result{}, "Err"), cmpopts.IgnoreFields(hpa.Proposal{}, "Err")); d != "" {
		t.Errorf("Converter and functions disagree (-functions +converter):\n%s", d)
	}
	if (ra.Err == nil) != (rb.Err == nil) || (ra.Err != nil && ra.Err.Error() != rb.Err.Error()) {
		t.Errorf("result errors differ: %v / %v", ra.Err, rb.Err)
	}
}

// shuffled returns the pods in a new random order, as a lister does.
func shuffled(r *rand.Rand, pods []*corev1.Pod) []*corev1.Pod {
	out := append([]*corev1.Pod(nil), pods...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestConverterMatchesFunctions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := newV1World(evT0, 40, 3)
	var conv hpa.Converter
	buf := make([]hpa.MetricInput, 0, 3)
	for sync := range 12 {
		now := evT0.Add(time.Duration(sync) * 15 * time.Second)
		// Between syncs the world changes as a cluster does: a pod's status
		// changes (new resourceVersion), a pod is replaced under the same
		// name (new UID), a pod goes away and comes back, usage moves, and
		// the lister returns the pods in another order.
		switch sync % 4 {
		case 1:
			p := w.pods[sync]
			p.Status.Phase = corev1.PodPending
			p.ResourceVersion += "1"
		case 2:
			p := w.pods[sync+1]
			p.UID += "x"
			p.Status.Conditions[1].Status = corev1.ConditionFalse
		case 3:
			w.pods[sync].Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("250m")
			w.pods[sync].ResourceVersion += "2"
		}
		for j := range w.usage {
			w.usage[j].Containers[0].Usage[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(200+r.IntN(300)), resource.DecimalSI)
		}
		pods := shuffled(r, w.pods)
		if sync == 5 {
			pods = pods[3:] // three pods gone this sync; their metrics are superfluous
		}
		saved := w.pods
		w.pods = pods
		spec, in, err := w.inputWithConverter(&conv, now, buf)
		if err != nil {
			t.Fatal(err)
		}
		// The functions take pod values; w.pods points into w.podVal, so
		// they get a copy of their own.
		vals := make([]corev1.Pod, 0, len(pods))
		for _, p := range pods {
			vals = append(vals, *p)
		}
		keep := w.podVal
		w.podVal = vals
		fspec, fin, err := w.inputWithFunctions(now)
		w.pods, w.podVal = saved, keep
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(fspec, spec); d != "" {
			t.Fatalf("sync %d: specs differ:\n%s", sync, d)
		}
		sameOutcome(t, spec, fin, in)
		if t.Failed() {
			t.Fatalf("sync %d", sync)
		}
	}
}

func TestConverterCachesExactly(t *testing.T) {
	w := newV1World(evT0, 3, 1)
	var conv hpa.Converter
	got := conv.Pods(w.pods)
	if got[0].Phase != hpa.PodRunning {
		t.Fatal(got[0])
	}
	// The same resourceVersion: the cached conversion is reused even if
	// the object were (wrongly) modified in place.
	w.pods[0].Status.Phase = corev1.PodFailed
	if got := conv.Pods(w.pods); got[0].Phase != hpa.PodRunning {
		t.Errorf("same UID and resourceVersion: reconverted (%s)", got[0].Phase)
	}
	// A new resourceVersion is converted again.
	w.pods[0].ResourceVersion = "new"
	if got := conv.Pods(w.pods); got[0].Phase != hpa.PodFailed {
		t.Errorf("new resourceVersion: phase %s, want Failed", got[0].Phase)
	}
	// Without a resourceVersion nothing is cached.
	w.pods[1].ResourceVersion = ""
	conv.Pods(w.pods)
	w.pods[1].Status.Phase = corev1.PodSucceeded
	if got := conv.Pods(w.pods); got[1].Phase != hpa.PodSucceeded {
		t.Errorf("no resourceVersion: phase %s, want Succeeded", got[1].Phase)
	}
	// A pod that leaves is forgotten; coming back with the same name and
	// resourceVersion but another UID it is converted again.
	conv.Pods(w.pods[1:])
	w.pods[0].UID = "other"
	w.pods[0].Status.Phase = corev1.PodRunning
	got = conv.Pods(w.pods)
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
		if p.Name == w.pods[0].Name && p.Phase != hpa.PodRunning {
			t.Errorf("returning pod: phase %s", p.Phase)
		}
	}
	if len(got) != 3 {
		t.Errorf("pods %v", names)
	}
	// nil entries are skipped.
	if got := conv.Pods([]*corev1.Pod{nil, w.pods[2]}); len(got) != 1 || got[0].Name != w.pods[2].Name {
		t.Errorf("nil entries: %+v", got)
	}
}

func TestConverterStableOrder(t *testing.T) {
	w := newV1World(evT0, 20, 1)
	var conv hpa.Converter
	first := conv.Pods(w.pods)
	var want []string
	for _, p := range first {
		want = append(want, p.Name)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		var names []string
		for _, p := range conv.Pods(shuffled(r, w.pods)) {
			names = append(names, p.Name)
		}
		if d := cmp.Diff(want, names); d != "" {
			t.Fatalf("order changed with the lister's order:\n%s", d)
		}
	}
}

// The resource metrics API answering with pods, none usable, is "did not
// receive metrics for targeted pods", not "no metrics returned", as upstream.
func TestConverterUnusableMetrics(t *testing.T) {
	w := newV1World(evT0, 3, 1)
	var conv hpa.Converter
	spec, err := conv.Spec(w.hpa)
	if err != nil {
		t.Fatal(err)
	}
	pods := conv.Pods(w.pods)
	for j := range w.usage {
		w.usage[j].Containers = w.usage[j].Containers[:1]
		w.usage[j].Containers[0].Usage = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Mi")}
	}
	for _, m := range []hpa.MetricInput{conv.ResourceMetric(0, w.usage, "cpu", ""), hpa.ResourceInputFromMetrics(pods, w.usage, "cpu", "")} {
		if len(m.Samples) != 0 || m.Listed != 3 {
			t.Fatalf("samples %d listed %d", len(m.Samples), m.Listed)
		}
		in := hpa.Input{Now: evT0, SpecReplicas: 3, StatusReplicas: 3, Pods: pods, Metrics: []hpa.MetricInput{m}}
		r, err := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &hpa.State{})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := r.Condition(hpa.ScalingActive)
		want := "the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)"
		if c.Message != want {
			t.Errorf("message %q\nwant    %q", c.Message, want)
		}
	}
	in := hpa.Input{Now: evT0, SpecReplicas: 3, StatusReplicas: 3, Pods: pods, Metrics: []hpa.MetricInput{conv.ResourceMetric(0, nil, "cpu", "")}}
	r, _ := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &hpa.State{})
	if c, _ := r.Condition(hpa.ScalingActive); c.Message != "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API" {
		t.Errorf("empty listing: %q", c.Message)
	}
}

func TestConverterSuperfluousAndDuplicates(t *testing.T) {
	mk := func(name string, cpu int64) metricsv1beta1.PodMetrics {
		return metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: name}, Timestamp: metav1.NewTime(evT0),
			Window:     metav1.Duration{Duration: time.Minute},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpu, resource.DecimalSI)}}}}
	}
	w := newV1World(evT0, 3, 1)
	list := []metricsv1beta1.PodMetrics{mk("ghost", 5), mk(w.pods[2].Name, 7), mk("ghost", 6), mk(w.pods[0].Name, 1), mk(w.pods[2].Name, 9)}
	var conv hpa.Converter
	pods := conv.Pods(w.pods)
	for pass := range 2 { // the second pass goes through the position memo
		got := conv.ResourceMetric(0, list, "cpu", "")
		want := hpa.ResourceInputFromMetrics(pods, list, "cpu", "")
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("pass %d (-functions +converter):\n%s", pass, d)
		}
	}
	ext := []externalmetricsv1beta1.ExternalMetricValue{{Value: resource.MustParse("2"), Timestamp: metav1.NewTime(evT0)}, {Value: resource.MustParse("500m")}}
	if d := cmp.Diff(hpa.ExternalInputFromMetrics(ext), conv.ExternalMetric(2, ext)); d != "" {
		t.Errorf("external:\n%s", d)
	}
	if got := conv.ExternalMetric(-1, ext); len(got.Values) != 2 {
		t.Errorf("negative index: %+v", got)
	}
	if got := conv.ResourceMetric(1<<30, list, "cpu", ""); len(got.Samples) != 3 {
		t.Errorf("absurd index: %d samples", len(got.Samples))
	}
	if _, err := conv.Spec(nil); err == nil {
		t.Error("nil HPA accepted")
	}
}

func TestConverterDuplicatePodNames(t *testing.T) {
	w := newV1World(evT0, 2, 1)
	twin := w.pods[0].DeepCopy()
	twin.UID = "twin"
	list := append([]*corev1.Pod{twin}, w.pods...)
	var conv hpa.Converter
	pods := conv.Pods(list)
	if len(pods) != 3 {
		t.Fatalf("%d pods", len(pods))
	}
	got := conv.ResourceMetric(0, w.usage, "cpu", "")
	if len(got.Samples) != 2 {
		t.Errorf("a name listed twice takes its sample once: %d samples", len(got.Samples))
	}
	for range 3 {
		if again := conv.Pods(list); len(again) != 3 {
			t.Errorf("%d pods on a later sync", len(again))
		}
	}
}
