package autoscale_test

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/schedule"
)

// Recommend answers what the controller would do now, and why, without
// writing: here an HPA at 50 % CPU over two pods using 90 % each. In a
// program the clients come from a rest.Config (kubernetes.NewForConfig,
// scale.NewForConfig with restmapper.NewDeferredDiscoveryRESTMapper,
// the k8s.io/metrics clients); fakes stand in for them here.
func ExamplePodAutoscaler_Recommend() {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	target := int32(50)
	hpaObj := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 10,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}}}}
	objs := []runtime.Object{hpaObj}
	var usage []metricsv1beta1.PodMetrics
	for _, name := range []string{"web-a", "web-b"} {
		started := metav1.NewTime(now.Add(-time.Hour))
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}}})
		usage = append(usage, metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"}},
			Timestamp: metav1.NewTime(now.Add(-30 * time.Second)), Window: metav1.Duration{Duration: time.Minute},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("900m")}}}})
	}

	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 2},
			Status: autoscalingv1.ScaleStatus{Replicas: 2, Selector: "app=web"}}, nil
	})
	resourceMetrics := metricsfake.NewSimpleClientset()
	resourceMetrics.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &metricsv1beta1.PodMetricsList{Items: usage}, nil
	})
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{appsv1.SchemeGroupVersion})
	mapper.Add(appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace)

	pa, err := autoscale.NewPodAutoscaler(autoscale.PodAutoscalerConfig{
		Clients: autoscale.Clients{Kube: kubefake.NewClientset(objs...), Scale: scales, Mapper: mapper, Resource: resourceMetrics},
		Clock:   testingclock.NewFakeClock(now),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := pa.Recommend(context.Background(), "shop/web")
	if err != nil {
		fmt.Println(err)
		return
	}
	d := r.Decision
	fmt.Printf("%s: %d pods, %d → %d (%s)\n", r.Key, r.Pods, d.Current, d.Desired, d.Reason)
	fmt.Println(d.Message)
	// Output:
	// shop/web: 2 pods, 2 → 4 (MetricRecommendation)
	// New size: 4; reason: cpu resource utilization (percentage of request) above target
}

// A CronScaler sync applies the rule in force and says when the next
// transition is due; Run requeues the target exactly then.
func ExampleCronScaler_Sync() {
	now := time.Date(2026, 3, 2, 7, 30, 0, 0, time.UTC) // 08:30 in Berlin
	office, err := schedule.New(schedule.Spec{TimeZone: "Europe/Berlin", Rules: []schedule.RuleSpec{
		{Name: "office", Start: "0 8 * * 1-5", End: "0 18 * * 1-5", Bounds: schedule.Floor(6)}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	replicas := int32(2)
	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}, nil
	})
	scales.AddReactor("update", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		sc := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		replicas = sc.Spec.Replicas
		return true, sc, nil
	})
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{appsv1.SchemeGroupVersion})
	mapper.Add(appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace)

	cs, err := autoscale.NewCronScaler(autoscale.CronScalerConfig{
		Clients: autoscale.Clients{Kube: kubefake.NewClientset(), Scale: scales, Mapper: mapper},
		Targets: []autoscale.CronTarget{{Name: "web", Namespace: "shop", Schedule: office,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}},
		Resync: 24 * time.Hour,
		Clock:  testingclock.NewFakeClock(now),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := cs.Sync(context.Background(), "shop/web")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Reason, replicas)
	fmt.Println(d.Message)
	fmt.Println("next sync in", d.RequeueAfter)
	// Output:
	// ScheduleApplied 6
	// rule "office" requires at least 6: 2 → 6
	// next sync in 9h30m0s
}
