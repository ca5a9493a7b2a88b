package hpa_test

import (
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kscale/kscale/hpa"
)

// v1World is what an informer-fed controller holds for one HPA at one
// sync: the HPA, the pods its target selects, and the answers of the
// resource and custom metrics APIs, as real API objects.
type v1World struct {
	hpa    *autoscalingv2.HorizontalPodAutoscaler
	pods   []*corev1.Pod
	podVal []corev1.Pod
	usage  []metricsv1beta1.PodMetrics
	rps    []custommetricsv1beta2.MetricValue
}

// newV1World builds n pods of one Deployment (an app container and a
// sidecar, cpu and memory requests), their metrics, and an HPA on cpu and
// memory utilization and a requests-per-second Pods metric (metrics=3), or
// on cpu only (metrics=1).
func newV1World(now time.Time, n, metrics int) *v1World {
	w := &v1World{}
	always := corev1.ContainerRestartPolicyAlways
	start := metav1.NewTime(now.Add(-time.Hour))
	for i := range n {
		name := fmt.Sprintf("web-7d9f8c6b5-%05d", i)
		p := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(fmt.Sprintf("0b6f3c2e-4d1a-4f7e-9c3b-%012d", i)),
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
		w.podVal = append(w.podVal, p)
		w.usage = append(w.usage, metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Timestamp: metav1.NewTime(now.Add(-10 * time.Second)), Window: metav1.Duration{Duration: 30 * time.Second},
			Containers: []metricsv1beta1.ContainerMetrics{
				{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(int64(290+i%40), resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(int64(360+i%30)<<20, resource.BinarySI)}},
				{Name: "proxy", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("40Mi")}},
			}})
		w.rps = append(w.rps, custommetricsv1beta2.MetricValue{DescribedObject: corev1.ObjectReference{Kind: "Pod", Name: name, Namespace: "shop"},
			Metric: custommetricsv1beta2.MetricIdentifier{Name: "http_requests_per_second"}, Timestamp: metav1.NewTime(now.Add(-10 * time.Second)),
			Value: *resource.NewMilliQuantity(int64(48000+i%3000), resource.DecimalSI)})
	}
	for i := range w.podVal {
		w.pods = append(w.pods, &w.podVal[i])
	}
	util := func(v int32) *int32 { return &v }
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		MinReplicas:    util(1), MaxReplicas: int32(4 * n),
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: util(52)}}}},
	}
	if metrics == 3 {
		spec.Metrics = append(spec.Metrics,
			autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: util(70)}}},
			autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "http_requests_per_second"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(50, resource.DecimalSI)}}})
	}
	w.hpa = &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "9a1b", ResourceVersion: "42", Generation: 3}, Spec: spec}
	return w
}

// inputWithConverter is the whole path with a Converter: what a controller
// does at every sync.
func (w *v1World) inputWithConverter(c *hpa.Converter, now time.Time, buf []hpa.MetricInput) (hpa.Spec, hpa.Input, error) {
	spec, err := c.Spec(w.hpa)
	if err != nil {
		return hpa.Spec{}, hpa.Input{}, err
	}
	pods := c.Pods(w.pods)
	buf = buf[:0]
	for i, m := range spec.Metrics {
		switch m.Type {
		case hpa.ResourceMetric:
			buf = append(buf, c.ResourceMetric(i, w.usage, hpa.ResourceName(m.Name), ""))
		case hpa.PodsMetric:
			buf = append(buf, c.PodsMetric(i, w.rps))
		}
	}
	n := int32(len(w.pods))
	return spec, hpa.Input{Now: now, Namespace: "shop", SpecReplicas: n, StatusReplicas: n, Pods: pods, Metrics: buf}, nil
}

// inputWithFunctions is the whole path with the one-shot converters.
func (w *v1World) inputWithFunctions(now time.Time) (hpa.Spec, hpa.Input, error) {
	spec, err := hpa.SpecFromV2(w.hpa.Spec)
	if err != nil {
		return hpa.Spec{}, hpa.Input{}, err
	}
	pods := hpa.PodsFromV1(w.podVal)
	var ms []hpa.MetricInput
	for _, m := range spec.Metrics {
		switch m.Type {
		case hpa.ResourceMetric:
			ms = append(ms, hpa.ResourceInputFromMetrics(pods, w.usage, hpa.ResourceName(m.Name), ""))
		case hpa.PodsMetric:
			ms = append(ms, hpa.MetricInput{Samples: hpa.PodSamplesFromCustomMetrics(w.rps)})
		}
	}
	n := int32(len(w.pods))
	return spec, hpa.Input{Now: now, Namespace: "shop", SpecReplicas: n, StatusReplicas: n, Pods: pods, Metrics: ms}, nil
}

// BenchmarkFromV1 is the whole path of one sync from Kubernetes objects:
// HPA spec, pods from an informer and metrics API answers → Input →
// Evaluate. "converter" is the steady state of a controller holding a
// Converter (the pods unchanged since the last sync, as between most
// 15 s syncs); "functions" converts everything afresh with SpecFromV2,
// PodsFromV1 and the metric converters.
func BenchmarkFromV1(b *testing.B) {
	for _, size := range []struct{ pods, metrics int }{{100, 3}, {10000, 3}, {10000, 1}} {
		for _, mode := range []string{"converter", "functions"} {
			b.Run(fmt.Sprintf("pods=%d/metrics=%d/%s", size.pods, size.metrics, mode), func(b *testing.B) {
				w := newV1World(evT0, size.pods, size.metrics)
				cfg := hpa.DefaultConfig()
				var st hpa.State
				var conv hpa.Converter
				buf := make([]hpa.MetricInput, 0, 3)
				now := evT0
				if mode == "converter" {
					// The steady state: the Converter has seen these pods
					// at the previous sync.
					if _, _, err := w.inputWithConverter(&conv, now, buf); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					now = now.Add(15 * time.Second)
					var spec hpa.Spec
					var in hpa.Input
					var err error
					if mode == "converter" {
						spec, in, err = w.inputWithConverter(&conv, now, buf)
					} else {
						spec, in, err = w.inputWithFunctions(now)
					}
					if err != nil {
						b.Fatal(err)
					}
					res, err := hpa.Evaluate(cfg, spec, in, &st)
					if err != nil || res.DesiredReplicas != int32(size.pods) {
						b.Fatalf("desired %d, err %v, want %d", res.DesiredReplicas, err, size.pods)
					}
				}
			})
		}
	}
}
