package upstream

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/controller/podautoscaler"
	metricsclient "k8s.io/kubernetes/pkg/controller/podautoscaler/metrics"
	cmapi "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	resourceclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"

	"github.com/kscale/kscale/hpa"
)

// world is what a controller holds for one HPA at one sync, as API objects:
// n pods of one Deployment (an app container and a sidecar with cpu and
// memory requests), their resource metrics, a requests-per-second Pods
// metric, and an HPA on cpu and memory utilization and that Pods metric.
type world struct {
	hpa    *autoscalingv2.HorizontalPodAutoscaler
	lister corelisters.PodLister
	sel    labels.Selector
	usage  []metricsapi.PodMetrics
	rps    []cmapi.MetricValue
}

func newWorld(now time.Time, n int) *world {
	w := &world{sel: labels.SelectorFromSet(labels.Set{"app": "web"})}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	start := metav1.NewTime(now.Add(-time.Hour))
	for i := range n {
		name := fmt.Sprintf("web-7d9f8c6b5-%05d", i)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(fmt.Sprintf("uid-%05d", i)),
				ResourceVersion: fmt.Sprint(100000 + i), Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}}},
				Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")}}}},
			},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(start.Add(20 * time.Second))},
			}},
		}
		must(idx.Add(p))
		w.usage = append(w.usage, metricsapi.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: p.Labels},
			Timestamp: metav1.NewTime(now.Add(-10 * time.Second)), Window: metav1.Duration{Duration: 30 * time.Second},
			Containers: []metricsapi.ContainerMetrics{
				{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(int64(290+i%40), resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(int64(360+i%30)<<20, resource.BinarySI)}},
				{Name: "proxy", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("40Mi")}},
			}})
		w.rps = append(w.rps, cmapi.MetricValue{DescribedObject: corev1.ObjectReference{Kind: "Pod", Name: name, Namespace: ns},
			Metric: cmapi.MetricIdentifier{Name: "http_requests_per_second"}, Timestamp: metav1.NewTime(now.Add(-10 * time.Second)),
			Value: *resource.NewMilliQuantity(int64(48000+i%3000), resource.DecimalSI)})
	}
	w.lister = corelisters.NewPodLister(idx)
	rps := resource.MustParse("50")
	w.hpa = &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, UID: "hpa-uid", ResourceVersion: "7"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    i32(1), MaxReplicas: int32(4 * n),
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(52)}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(70)}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "http_requests_per_second"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &rps}}},
			},
		},
	}
	return w
}

// The metrics APIs answer from memory, with no fake clientset in between,
// so that upstream's cost is its REST metrics client's conversion and its
// ReplicaCalculator, nothing of the harness.
type podMetricses struct {
	resourceclient.PodMetricsInterface
	w *world
}

func (p podMetricses) List(context.Context, metav1.ListOptions) (*metricsapi.PodMetricsList, error) {
	return &metricsapi.PodMetricsList{Items: p.w.usage}, nil
}

type podMetricsesGetter struct{ w *world }

func (g podMetricsesGetter) PodMetricses(string) resourceclient.PodMetricsInterface {
	return podMetricses{w: g.w}
}

type customMetrics struct {
	customclient.MetricsInterface
	w *world
}

func (c customMetrics) GetForObjects(schema.GroupKind, labels.Selector, string, labels.Selector) (*cmapi.MetricValueList, error) {
	return &cmapi.MetricValueList{Items: c.w.rps}, nil
}

type customClient struct{ w *world }

func (c customClient) RootScopedMetrics() customclient.MetricsInterface { return customMetrics{w: c.w} }
func (c customClient) NamespacedMetrics(string) customclient.MetricsInterface {
	return customMetrics{w: c.w}
}

// tolerances builds upstream's Tolerances (unexported fields) of t both ways.
func tolerances(t float64) podautoscaler.Tolerances {
	var x podautoscaler.Tolerances
	v := reflect.ValueOf(&x).Elem()
	set(v, "scaleDown", t)
	set(v, "scaleUp", t)
	return x
}

// upstreamSync is what upstream's controller computes per sync for the
// world's three metrics: GetResourceReplicas for cpu and memory and
// GetMetricReplicas for the Pods metric, each listing the pods and reading
// its metrics API through the REST metrics client.
func upstreamSync(b testing.TB, rc *podautoscaler.ReplicaCalculator, w *world, tol podautoscaler.Tolerances, current int32) int32 {
	ctx := context.Background()
	r1, _, _, _, err := rc.GetResourceReplicas(ctx, current, 52, corev1.ResourceCPU, tol, ns, w.sel, "")
	if err != nil {
		b.Fatal(err)
	}
	r2, _, _, _, err := rc.GetResourceReplicas(ctx, current, 70, corev1.ResourceMemory, tol, ns, w.sel, "")
	if err != nil {
		b.Fatal(err)
	}
	r3, _, _, err := rc.GetMetricReplicas(current, 50000, "http_requests_per_second", tol, ns, w.sel, labels.Everything())
	if err != nil {
		b.Fatal(err)
	}
	return max(r1, r2, r3)
}

// kscaleSync is kscale's whole path from the same objects: the pods from
// the same lister (listPods) or as the caller already holds them, the
// Converter's Spec, Pods and metric conversions, and Evaluate.
func kscaleSync(b testing.TB, conv *hpa.Converter, cfg hpa.Config, w *world, pods []*corev1.Pod, now time.Time, current int32, st *hpa.State, in *hpa.Input) int32 {
	spec, err := conv.Spec(w.hpa)
	if err != nil {
		b.Fatal(err)
	}
	in.Now, in.Namespace, in.SpecReplicas, in.StatusReplicas = now, ns, current, current
	in.Pods = conv.Pods(pods)
	in.Metrics[0] = conv.ResourceMetric(0, w.usage, hpa.ResourceCPU, "")
	in.Metrics[1] = conv.ResourceMetric(1, w.usage, hpa.ResourceMemory, "")
	in.Metrics[2] = conv.PodsMetric(2, w.rps)
	r, err := hpa.Evaluate(cfg, spec, *in, st)
	if err != nil {
		b.Fatal(err)
	}
	*st = hpa.State{Recommendations: st.Recommendations[:0]}
	return r.DesiredReplicas
}

func benchSizes(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) { f(b, n) })
	}
}

// BenchmarkUpstreamReplicaCalculator is upstream's per-sync cost for three
// metrics: its ReplicaCalculator over its REST metrics client.
func BenchmarkUpstreamReplicaCalculator(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		now := time.Now()
		w := newWorld(now, n)
		rc := podautoscaler.NewReplicaCalculator(metricsclient.NewRESTMetricsClient(podMetricsesGetter{w}, customClient{w}, nil),
			w.lister, 5*time.Minute, 30*time.Second)
		tol := tolerances(0.1)
		upstreamSync(b, rc, w, tol, int32(n))
		b.ReportAllocs()
		for b.Loop() {
			upstreamSync(b, rc, w, tol, int32(n))
		}
	})
}

// BenchmarkKscaleV1Path is kscale's whole path from the same v1 objects,
// the pods listed from the same lister once per sync.
func BenchmarkKscaleV1Path(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) { benchKscale(b, n, true) })
}

// BenchmarkKscaleV1PathListed is the same without the lister call: the
// caller already holds the pod list.
func BenchmarkKscaleV1PathListed(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) { benchKscale(b, n, false) })
}

func benchKscale(b *testing.B, n int, list bool) {
	now := time.Now()
	w := newWorld(now, n)
	cfg := hpa.DefaultConfig()
	var conv hpa.Converter
	st := &hpa.State{}
	in := &hpa.Input{Metrics: make([]hpa.MetricInput, 3)}
	pods, err := w.lister.Pods(ns).List(w.sel)
	if err != nil {
		b.Fatal(err)
	}
	kscaleSync(b, &conv, cfg, w, pods, now, int32(n), st, in) // the steady state: the Converter has seen these pods
	b.ReportAllocs()
	for b.Loop() {
		if list {
			pods, err = w.lister.Pods(ns).List(w.sel)
			if err != nil {
				b.Fatal(err)
			}
		}
		kscaleSync(b, &conv, cfg, w, pods, now, int32(n), st, in)
	}
}

// TestBenchmarkWorldAgrees checks that the benchmarks compare like with
// like: upstream's and kscale's replica counts for the world are equal.
func TestBenchmarkWorldAgrees(t *testing.T) {
	for _, n := range []int{100, 1000} {
		now := time.Now()
		w := newWorld(now, n)
		rc := podautoscaler.NewReplicaCalculator(metricsclient.NewRESTMetricsClient(podMetricsesGetter{w}, customClient{w}, nil),
			w.lister, 5*time.Minute, 30*time.Second)
		up := upstreamSync(t, rc, w, tolerances(0.1), int32(n))
		pods, _ := w.lister.Pods(ns).List(w.sel)
		var conv hpa.Converter
		cfg := hpa.DefaultConfig()
		cfg.ScaleUpLimitFactor, cfg.ScaleUpLimitMinimum = 1e9, 1e9
		st := &hpa.State{}
		in := &hpa.Input{Metrics: make([]hpa.MetricInput, 3)}
		ks := kscaleSync(t, &conv, cfg, w, pods, now, int32(n), st, in)
		t.Logf("pods=%d: upstream %d, kscale %d", n, up, ks)
		if up != ks {
			t.Errorf("pods=%d: upstream %d, kscale %d", n, up, ks)
		}
	}
}
