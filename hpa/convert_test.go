package hpa_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetricsv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kscale/kscale/hpa"
)

// cvT0 is the base instant of the converter and status tests.
var cvT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func cvQ(s string) *resource.Quantity { q := resource.MustParse(s); return &q }
func cvInt32(v int32) *int32          { return &v }
func cvFloat(v float64) *float64      { return &v }

var cvQueueSel = &metav1.LabelSelector{
	MatchLabels:      map[string]string{"queue": "orders", "tier": "web"},
	MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "staging"}}},
}

// cvV2Spec is a realistic HPA spec using every metric source.
func cvV2Spec() autoscalingv2.HorizontalPodAutoscalerSpec {
	util := int32(60)
	maxSel, disabled := autoscalingv2.MaxChangePolicySelect, autoscalingv2.DisabledPolicySelect
	return autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
		MinReplicas:    cvInt32(2), MaxReplicas: 20,
		Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}},
			{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: "app",
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: cvQ("512Mi")}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "rps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: cvQ("100")}}},
			{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "web"},
				Metric:          autoscalingv2.MetricIdentifier{Name: "hits"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: cvQ("2k")}}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: cvQueueSel},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: cvQ("500m")}}},
		},
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: &disabled, Tolerance: cvQ("0")},
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: cvInt32(120), SelectPolicy: &maxSel, Tolerance: cvQ("50m"),
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60},
					{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 30}}},
		},
	}
}

// cvCompactSpec is cvV2Spec as SpecFromV2 must convert it.
func cvCompactSpec() hpa.Spec {
	maxSel, disabled := hpa.MaxChangePolicySelect, hpa.DisabledPolicySelect
	return hpa.Spec{MinReplicas: cvInt32(2), MaxReplicas: 20,
		Metrics: []hpa.MetricSpec{
			{Type: hpa.ResourceMetric, Name: "cpu", Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 60}},
			{Type: hpa.ContainerResourceMetric, Name: "memory", Container: "app", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 512 << 20 * 1000}},
			{Type: hpa.PodsMetric, Name: "rps", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 100_000}},
			{Type: hpa.ObjectMetric, Name: "hits", Object: hpa.ObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "web"},
				Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: 2_000_000}},
			{Type: hpa.ExternalMetric, Name: "depth",
				Selector: "&LabelSelector{MatchLabels:map[string]string{queue: orders,tier: web,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[prod staging],},},}",
				Target:   hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 500}},
		},
		Behavior: &hpa.Behavior{
			ScaleUp: &hpa.ScalingRules{SelectPolicy: &disabled, Tolerance: cvFloat(0)},
			ScaleDown: &hpa.ScalingRules{StabilizationWindowSeconds: cvInt32(120), SelectPolicy: &maxSel, Tolerance: cvFloat(0.05),
				Policies: []hpa.Policy{{Type: hpa.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}, {Type: hpa.PodsScalingPolicy, Value: 2, PeriodSeconds: 30}}},
		},
	}
}

func TestSpecFromV2(t *testing.T) {
	minimal := autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3}
	unknown := autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{{Type: "Bogus"}}}
	emptyPolicies := autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3, Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}}}
	cases := []struct {
		name string
		in   autoscalingv2.HorizontalPodAutoscalerSpec
		want hpa.Spec
	}{
		{"every source and behavior", cvV2Spec(), cvCompactSpec()},
		{"no min, no metrics (the API server's cpu 80 %), no behavior", minimal, hpa.Spec{MaxReplicas: 3, Metrics: hpa.DefaultMetrics()}},
		{"unknown source type kept for Validate", unknown, hpa.Spec{MaxReplicas: 3, Metrics: []hpa.MetricSpec{{Type: "Bogus"}}}},
		{"explicit empty policies stay empty", emptyPolicies, hpa.Spec{MaxReplicas: 3, Metrics: hpa.DefaultMetrics(), Behavior: &hpa.Behavior{ScaleUp: &hpa.ScalingRules{Policies: []hpa.Policy{}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hpa.SpecFromV2(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("SpecFromV2 (-want +got):\n%s", d)
			}
		})
	}
}

func TestSpecFromV2CopiesPointers(t *testing.T) {
	in := cvV2Spec()
	got, _ := hpa.SpecFromV2(in)
	*in.MinReplicas = 9
	if *got.MinReplicas != 2 {
		t.Error("Spec shares MinReplicas with the API object")
	}
	if err := hpa.Validate(got, hpa.DefaultConfig()); err != nil {
		t.Errorf("a converted valid HPA fails Validate: %v", err)
	}
}

func TestSpecFromV2MissingSource(t *testing.T) {
	for _, typ := range []autoscalingv2.MetricSourceType{"Resource", "ContainerResource", "Pods", "Object", "External"} {
		in := cvV2Spec()
		in.Metrics = append(in.Metrics, autoscalingv2.MetricSpec{Type: typ})
		_, err := hpa.SpecFromV2(in)
		field := "spec.metrics[5]." + strings.ToLower(string(typ[:1])) + string(typ[1:]) + ": Required value"
		if !errors.Is(err, hpa.ErrInvalidSpec) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s without source: %v, want ErrInvalidSpec naming %q", typ, err, field)
		}
	}
}

func cvRequests(kv ...string) corev1.ResourceRequirements {
	rl := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		rl[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return corev1.ResourceRequirements{Requests: rl}
}

func TestPodFromV1(t *testing.T) {
	start := metav1.NewTime(cvT0.Add(-time.Hour))
	flip := metav1.NewTime(cvT0.Add(-50 * time.Minute))
	always := corev1.ContainerRestartPolicyAlways
	base := func() corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: cvRequests("cpu", "500m", "memory", "1Gi")}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: flip}}}}
	}
	app := hpa.Container{Name: "app", Requests: hpa.Resources{{Name: "cpu", Milli: 500}, {Name: "memory", Milli: 1 << 30 * 1000}}}
	want := func(edit func(*hpa.Pod)) hpa.Pod {
		p := hpa.Pod{Name: "web-1", Phase: hpa.PodRunning, Ready: hpa.ConditionTrue, ReadyTransition: flip.Time, StartTime: start.Time, Containers: []hpa.Container{app}}
		if edit != nil {
			edit(&p)
		}
		return p
	}
	cases := []struct {
		name string
		edit func(*corev1.Pod)
		want hpa.Pod
	}{
		{"ready running pod", nil, want(nil)},
		{"sidecar after containers, ordinary init container left out", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Resources: cvRequests("cpu", "2")},
				{Name: "proxy", RestartPolicy: &always, Resources: cvRequests("cpu", "100m")}}
		}, want(func(p *hpa.Pod) {
			p.Containers = append(p.Containers, hpa.Container{Name: "proxy", Sidecar: true, Requests: hpa.Resources{{Name: "cpu", Milli: 100}}})
		})},
		// Upstream reads component-helpers' PodRequests: the containers'
		// aggregate, the pod-level values over it, plus the overhead.
		{"pod-level requests", func(p *corev1.Pod) { r := cvRequests("cpu", "1"); p.Spec.Resources = &r },
			want(func(p *hpa.Pod) {
				p.PodRequests = hpa.Resources{{Name: "cpu", Milli: 1000}, {Name: "memory", Milli: 1 << 30 * 1000}}
			})},
		{"pod-level requests with init containers and overhead", func(p *corev1.Pod) {
			r := cvRequests("memory", "3Gi")
			p.Spec.Resources = &r
			p.Spec.InitContainers = []corev1.Container{
				{Name: "proxy", RestartPolicy: &always, Resources: cvRequests("cpu", "100m")},
				{Name: "migrate", Resources: cvRequests("cpu", "2")}, // runs beside the sidecar: 2.1 cores
			}
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
		}, want(func(p *hpa.Pod) {
			p.Containers = append(p.Containers, hpa.Container{Name: "proxy", Sidecar: true, Requests: hpa.Resources{{Name: "cpu", Milli: 100}}})
			p.PodRequests = hpa.Resources{{Name: "cpu", Milli: 2350}, {Name: "memory", Milli: 3 << 30 * 1000}}
		})},
		{"only an unsupported pod-level resource: not set", func(p *corev1.Pod) {
			r := cvRequests("example.com/gpu", "1")
			p.Spec.Resources = &r
		}, want(nil)},
		{"container without requests", func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "log"}) },
			want(func(p *hpa.Pod) { p.Containers = append(p.Containers, hpa.Container{Name: "log"}) })},
		{"deleting", func(p *corev1.Pod) { p.DeletionTimestamp = &flip }, want(func(p *hpa.Pod) { p.Deleting = true })},
		{"not ready", func(p *corev1.Pod) { p.Status.Conditions[1].Status = corev1.ConditionFalse },
			want(func(p *hpa.Pod) { p.Ready = hpa.ConditionFalse })},
		{"pending, no Ready condition, no start time", func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodPending}
		}, want(func(p *hpa.Pod) {
			p.Phase, p.Ready, p.ReadyTransition, p.StartTime = hpa.PodPending, hpa.ConditionAbsent, time.Time{}, time.Time{}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			if tc.edit != nil {
				tc.edit(&p)
			}
			if d := cmp.Diff(tc.want, hpa.PodFromV1(&p)); d != "" {
				t.Errorf("PodFromV1 (-want +got):\n%s", d)
			}
		})
	}
	if d := cmp.Diff(hpa.Pod{}, hpa.PodFromV1(nil)); d != "" {
		t.Errorf("PodFromV1(nil): %s", d)
	}
	list := []corev1.Pod{base(), {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}
	if got := hpa.PodsFromV1(list); len(got) != 2 || got[0].Name != "web-1" || got[1].Name != "b" || len(got[1].Containers) != 0 {
		t.Errorf("PodsFromV1 = %+v", got)
	}
}

func cvUsage(name string, kv ...string) metricsv1beta1.ContainerMetrics {
	return metricsv1beta1.ContainerMetrics{Name: name, Usage: cvRequests(kv...).Requests}
}

func cvPodMetrics(pod string, at time.Time, cs ...metricsv1beta1.ContainerMetrics) metricsv1beta1.PodMetrics {
	return metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: pod}, Timestamp: metav1.NewTime(at),
		Window: metav1.Duration{Duration: 30 * time.Second}, Containers: cs}
}

func TestPodSamplesFromMetrics(t *testing.T) {
	list := []metricsv1beta1.PodMetrics{
		cvPodMetrics("extra", cvT0, cvUsage("app", "cpu", "50m")),
		cvPodMetrics("c", cvT0, cvUsage("app", "cpu", "300m", "memory", "5Mi"), cvUsage("proxy", "memory", "10Mi")), // proxy lacks cpu
		cvPodMetrics("b", cvT0, cvUsage("app", "cpu", "200m", "memory", "1Mi"), cvUsage("proxy", "cpu", "20m")),
		cvPodMetrics("d", cvT0), // no containers
		cvPodMetrics("a", cvT0.Add(-time.Second), cvUsage("app", "cpu", "100m")),
		cvPodMetrics("late", cvT0, cvUsage("proxy", "cpu", "1")),
	}
	pods := []hpa.Pod{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "zz"}}
	s := func(pod string, v int64) hpa.PodSample {
		return hpa.PodSample{Pod: pod, Value: v, Timestamp: cvT0, Window: 30 * time.Second}
	}
	a := s("a", 100)
	a.Timestamp = cvT0.Add(-time.Second)
	cases := []struct {
		name      string
		resource  hpa.ResourceName
		container string
		want      []hpa.PodSample
	}{
		{"cpu summed; pods' order, then unlisted pods", hpa.ResourceCPU, "", []hpa.PodSample{a, s("b", 220), s("extra", 50), s("late", 1000)}},
		{"memory: a pod is dropped when any container lacks it", hpa.ResourceMemory, "", []hpa.PodSample{s("c", 15<<20*1000)}},
		{"named container only; pods without it dropped", hpa.ResourceCPU, "proxy", []hpa.PodSample{s("b", 20), s("late", 1000)}},
		{"named container lacking the resource dropped", hpa.ResourceMemory, "app", []hpa.PodSample{s("b", 1<<20*1000), s("c", 5<<20*1000)}},
		{"unknown resource", "gpu", "", []hpa.PodSample{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := hpa.PodSamplesFromMetrics(pods, list, tc.resource, tc.container)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("samples (-want +got):\n%s", d)
			}
		})
	}
}

func TestPodSamplesFromMetricsDuplicates(t *testing.T) {
	list := []metricsv1beta1.PodMetrics{
		cvPodMetrics("x", cvT0, cvUsage("app", "cpu", "1")),
		cvPodMetrics("a", cvT0, cvUsage("app", "cpu", "1")),
		cvPodMetrics("x", cvT0, cvUsage("app", "cpu", "2")),
		cvPodMetrics("a", cvT0, cvUsage("app", "cpu", "3")),
	}
	got := hpa.PodSamplesFromMetrics([]hpa.Pod{{Name: "a"}, {Name: "a"}}, list, hpa.ResourceCPU, "")
	var pairs []string
	for _, s := range got {
		pairs = append(pairs, s.Pod+"="+resource.NewMilliQuantity(s.Value, resource.DecimalSI).String())
	}
	// Like upstream's map, the last entry of a pod wins; every pod appears once.
	if d := cmp.Diff([]string{"a=3", "x=2"}, pairs); d != "" {
		t.Errorf("(-want +got): %s", d)
	}
	if got := hpa.PodSamplesFromMetrics(nil, nil, hpa.ResourceCPU, ""); len(got) != 0 {
		t.Errorf("empty listing gave %v", got)
	}
}

func TestPodSamplesFromCustomMetrics(t *testing.T) {
	w := int64(15)
	obj := func(pod string) corev1.ObjectReference { return corev1.ObjectReference{Kind: "Pod", Name: pod} }
	list := []custommetricsv1beta2.MetricValue{
		{DescribedObject: obj("b"), Value: resource.MustParse("3"), Timestamp: metav1.NewTime(cvT0), WindowSeconds: &w},
		{DescribedObject: obj("a"), Value: resource.MustParse("1500m"), Timestamp: metav1.NewTime(cvT0)},
		{DescribedObject: obj("b"), Value: resource.MustParse("4"), Timestamp: metav1.NewTime(cvT0), WindowSeconds: &w},
	}
	want := []hpa.PodSample{
		{Pod: "b", Value: 4000, Timestamp: cvT0, Window: 15 * time.Second},
		{Pod: "a", Value: 1500, Timestamp: cvT0, Window: time.Minute}, // upstream's default window
	}
	if d := cmp.Diff(want, hpa.PodSamplesFromCustomMetrics(list)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestObjectAndExternalInputs(t *testing.T) {
	obj := hpa.ObjectInputFromCustomMetric(custommetricsv1beta2.MetricValue{Value: resource.MustParse("2k"), Timestamp: metav1.NewTime(cvT0)})
	if d := cmp.Diff(hpa.MetricInput{Value: 2_000_000, Timestamp: cvT0}, obj, cmp.Comparer(func(a, b error) bool { return a == b })); d != "" {
		t.Errorf("object (-want +got): %s", d)
	}
	cases := []struct {
		name string
		list []externalmetricsv1beta1.ExternalMetricValue
		want hpa.MetricInput
	}{
		{"series, first timestamp", []externalmetricsv1beta1.ExternalMetricValue{
			{Value: resource.MustParse("10"), Timestamp: metav1.NewTime(cvT0)},
			{Value: resource.MustParse("250m"), Timestamp: metav1.NewTime(cvT0.Add(time.Minute))}},
			hpa.MetricInput{Values: []int64{10_000, 250}, Timestamp: cvT0}},
		{"nothing returned", nil, hpa.MetricInput{}},
	}
	for _, tc := range cases {
		got := hpa.ExternalInputFromMetrics(tc.list)
		if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); d != "" {
			t.Errorf("%s (-want +got): %s", tc.name, d)
		}
	}
}
