package autoscale

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	krt "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	testingclock "k8s.io/utils/clock/testing"
)

// fleet is n HPAs (CPU at 50 %) over n Deployments of 3 pods each, spread
// over namespaces of 100, in fake clientsets fed to the PodAutoscaler's
// informers. Pods use 45 % of their request: within tolerance, so each
// sync decides "no change", the steady state of a large fleet.
func fleet(b *testing.B, n int, dryRun bool) (*PodAutoscaler, []string, *testingclock.FakeClock, context.CancelFunc) {
	b.Helper()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(now)
	var objs []krt.Object
	keys := make([]string, n)
	usage := map[string][]metricsv1beta1.PodMetrics{}
	started := metav1.NewTime(now.Add(-time.Hour))
	one, fifty := int32(1), int32(50)
	for i := range n {
		namespace, app := fmt.Sprintf("ns-%d", i/100), fmt.Sprintf("app-%d", i)
		h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: namespace},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &one, MaxReplicas: 10,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: app},
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &fifty}}}}}}
		objs = append(objs, h)
		keys[i] = namespace + "/" + app
		for k := range 3 {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", app, k), Namespace: namespace, Labels: map[string]string{"app": app}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started,
					Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}}}
			objs = append(objs, p)
			usage[app] = append(usage[app], metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: namespace, Labels: p.Labels},
				Timestamp: metav1.NewTime(now), Window: metav1.Duration{Duration: time.Minute},
				Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("450m")}}}})
		}
	}
	appOf := func(a clienttesting.Action) string {
		if la, ok := a.(clienttesting.ListAction); ok {
			v, _ := la.GetListRestrictions().Labels.RequiresExactMatch("app")
			return v
		}
		return a.(clienttesting.GetAction).GetName()
	}
	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", "deployments", func(a clienttesting.Action) (bool, krt.Object, error) {
		return true, &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 3},
			Status: autoscalingv1.ScaleStatus{Replicas: 3, Selector: "app=" + appOf(a)}}, nil
	})
	res := metricsfake.NewSimpleClientset()
	res.PrependReactor("list", "pods", func(a clienttesting.Action) (bool, krt.Object, error) {
		return true, &metricsv1beta1.PodMetricsList{Items: usage[appOf(a)]}, nil
	})
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{appsv1.SchemeGroupVersion})
	mapper.Add(appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace)
	kube := kubefake.NewSimpleClientset(objs...)
	// The writes are acknowledged, not stored: the fake's watchers would
	// otherwise overflow (they panic when an informer falls 100 events behind).
	ack := func(a clienttesting.Action) (bool, krt.Object, error) {
		if u, ok := a.(clienttesting.UpdateAction); ok {
			return true, u.GetObject(), nil
		}
		return true, &autoscalingv2.HorizontalPodAutoscaler{}, nil
	}
	kube.PrependReactor("update", "horizontalpodautoscalers", ack)
	kube.PrependReactor("patch", "horizontalpodautoscalers", ack)
	pa, err := NewPodAutoscaler(PodAutoscalerConfig{DryRun: dryRun, Clock: clk,
		Clients: Clients{Kube: kube, Scale: scales, Mapper: mapper, Resource: res}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := pa.startInformers(ctx); err != nil { // the informers, without Run's workers
		b.Fatal(err)
	}
	return pa, keys, clk, func() { cancel(); pa.stopInformers() }
}

// BenchmarkPodAutoscalerSync1000 is the cost of one HPA sync in a process
// reconciling 1 000 HPAs: the scale read, the pods from the informer, the
// resource metrics, the decision, and (not in the DryRun variant) the
// status and state writes (acknowledged by the fake API without being
// stored), all through fake clientsets, whose own cost is included. The clock moves one sync period per round of 1 000 syncs.
// Compare runs with benchstat.
func BenchmarkPodAutoscalerSync1000(b *testing.B) {
	for _, dry := range []bool{false, true} {
		name := "writes"
		if dry {
			name = "dryRun"
		}
		b.Run(name, func(b *testing.B) {
			pa, keys, clk, cancel := fleet(b, 1000, dry)
			defer cancel()
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pa.Sync(ctx, keys[i]); err != nil && !strings.Contains(err.Error(), "invalid metrics") {
					b.Fatal(err)
				}
				i++
				if i == len(keys) {
					i = 0
					clk.Step(15 * time.Second)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*1000/1e9, "s/1000HPAs")
		})
	}
}
