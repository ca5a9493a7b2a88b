package autoscale_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
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
	"k8s.io/client-go/tools/record"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	cmfake "k8s.io/metrics/pkg/client/custom_metrics/fake"
	emfake "k8s.io/metrics/pkg/client/external_metrics/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kscale/kscale/autoscale"
)

const ns = "shop"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is a fake cluster: one Deployment "web" with a /scale subresource,
// its pods, and fake metrics APIs. Its fields script the fakes.
type env struct {
	kube     *kubefake.Clientset
	scale    *scalefake.FakeScaleClient
	res      *metricsfake.Clientset
	custom   *cmfake.FakeCustomMetricsClient
	external *emfake.FakeExternalMetricsClient
	mapper   meta.RESTMapper
	clock    *testingclock.FakeClock
	events   *record.FakeRecorder

	mu       sync.Mutex
	replicas int32
	selector string
	cpu      int64 // milli-CPU each pod uses
	updates  []int32
	// Errors to return, consumed in order (nil entries succeed).
	getScaleErrs, updateScaleErrs []error
	podMetricsErr                 error
	onUpdate                      func() // runs inside an update, before it is applied
}

func newEnv(t testing.TB, replicas int32, objs ...runtime.Object) *env {
	t.Helper()
	e := &env{replicas: replicas, selector: "app=web", cpu: 500, clock: testingclock.NewFakeClock(t0),
		events: record.NewFakeRecorder(1000)}
	for i := range replicas {
		objs = append(objs, pod(fmt.Sprintf("web-%d", i)))
	}
	e.kube = kubefake.NewClientset(objs...)
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{appsv1.SchemeGroupVersion})
	m.Add(appsv1.SchemeGroupVersion.WithKind("Deployment"), meta.RESTScopeNamespace)
	e.mapper = m
	e.scale = &scalefake.FakeScaleClient{}
	e.scale.AddReactor("get", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if err := pop(&e.getScaleErrs); err != nil {
			return true, nil, err
		}
		return true, e.scaleObj(), nil
	})
	e.scale.AddReactor("update", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if e.onUpdate != nil {
			e.onUpdate()
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if err := pop(&e.updateScaleErrs); err != nil {
			return true, nil, err
		}
		sc := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		e.replicas = sc.Spec.Replicas
		e.updates = append(e.updates, sc.Spec.Replicas)
		return true, e.scaleObj(), nil
	})
	e.res = metricsfake.NewSimpleClientset()
	e.res.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.podMetricsErr != nil {
			return true, nil, e.podMetricsErr
		}
		list := &metricsv1beta1.PodMetricsList{}
		for i := range e.replicas {
			list.Items = append(list.Items, metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: ns, Labels: map[string]string{"app": "web"}},
				Timestamp: metav1.NewTime(e.clock.Now().Add(-20 * time.Second)), Window: metav1.Duration{Duration: 30 * time.Second},
				Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(e.cpu, resource.DecimalSI)}}}})
		}
		return true, list, nil
	})
	e.custom = &cmfake.FakeCustomMetricsClient{}
	e.external = &emfake.FakeExternalMetricsClient{}
	return e
}

func pop(errs *[]error) error {
	if len(*errs) == 0 {
		return nil
	}
	err := (*errs)[0]
	*errs = (*errs)[1:]
	return err
}

func (e *env) scaleObj() *autoscalingv1.Scale {
	return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, ResourceVersion: "1"},
		Spec: autoscalingv1.ScaleSpec{Replicas: e.replicas}, Status: autoscalingv1.ScaleStatus{Replicas: e.replicas, Selector: e.selector}}
}

func (e *env) clients() autoscale.Clients {
	return autoscale.Clients{Kube: e.kube, Scale: e.scale, Mapper: e.mapper, Resource: e.res, Custom: e.custom, External: e.external}
}

func (e *env) config() autoscale.PodAutoscalerConfig {
	return autoscale.PodAutoscalerConfig{Clients: e.clients(), Clock: e.clock, Recorder: e.events, Namespace: ns}
}

func (e *env) current() int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.replicas
}

// pod is a running, ready pod of web requesting 1 CPU, started an hour before t0.
func pod(name string) *corev1.Pod {
	start := metav1.NewTime(t0.Add(-time.Hour))
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}}}
}

func i32(v int32) *int32 { return &v }

// cpuHPA targets web at 50 % CPU utilization, 1 to 10 replicas.
func cpuHPA(name string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    i32(1), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(50)}}}}}}
}

func (e *env) hpa(t testing.TB, name string) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	h, err := e.kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func condition(h *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.HorizontalPodAutoscalerConditionType) (corev1.ConditionStatus, string) {
	for _, c := range h.Status.Conditions {
		if c.Type == typ {
			return c.Status, c.Reason
		}
	}
	return "", ""
}

// drain returns the Events recorded so far.
func (e *env) drain() []string {
	var out []string
	for {
		select {
		case ev := <-e.events.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func hasEvent(events []string, prefix string) bool {
	for _, ev := range events {
		if len(ev) >= len(prefix) && ev[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

// writes lists the write verbs the kube clientset saw.
func (e *env) writes() []string {
	var out []string
	for _, a := range e.kube.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+"/"+a.GetSubresource())
		}
	}
	return out
}

type resourceQuantity = resource.Quantity

func mustParse(s string) resource.Quantity { return resource.MustParse(s) }
