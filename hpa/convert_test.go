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

func cvQ(s string) *resource.Quantity { q := resource.MustParse(s); return &q }

func cvSpec() autoscalingv2.HorizontalPodAutoscalerSpec {
	util := int32(60)
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "orders"}}
	window := int32(120)
	maxSel := autoscalingv2.MaxChangePolicySelect
	return autoscalingv2.HorizontalPodAutoscalerSpec{
		MinReplicas: evInt32(2), MaxReplicas: 20,
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
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: sel},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: cvQ("500m")}}},
		},
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &maxSel, Tolerance: cvQ("50m"),
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}}},
		},
	}
}

func TestSpecFromV2(t *testing.T) {
	got, err := hpa.SpecFromV2(cvSpec())
	if err != nil {
		t.Fatal(err)
	}
	maxSel := hpa.MaxChangePolicySelect
	tol := 0.05
	want := hpa.Spec{MinReplicas: evInt32(2), MaxReplicas: 20, Metrics: []hpa.MetricSpec{
		{Type: hpa.ResourceMetric, Name: "cpu", Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 60}},
		{Type: hpa.ContainerResourceMetric, Name: "memory", Container: "app", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 512 << 20 * 1000}},
		{Type: hpa.PodsMetric, Name: "rps", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 100_000}},
		{Type: hpa.ObjectMetric, Name: "hits", Object: hpa.ObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "web"},
			Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: 2_000_000}},
		{Type: hpa.ExternalMetric, Name: "depth", Selector: "&LabelSelector{MatchLabels:map[string]string{queue: orders,},MatchExpressions:[]LabelSelectorRequirement{},}",
			Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: 500}},
	}, Behavior: &hpa.Behavior{ScaleDown: &hpa.ScalingRules{StabilizationWindowSeconds: evInt32(120), SelectPolicy: &maxSel, Tolerance: &tol,
		Policies: []hpa.Policy{{Type: hpa.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}}}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("SpecFromV2 (-want +got):\n%s", d)
	}
	if err := hpa.Validate(got, hpa.DefaultConfig()); err != nil {
		t.Errorf("converted spec does not validate: %v", err)
	}
	bad := cvSpec()
	bad.Metrics[0].Resource = nil
	if _, err := hpa.SpecFromV2(bad); !errors.Is(err, hpa.ErrInvalidSpec) {
		t.Errorf("metric without source: %v", err)
	}
}

func TestPodFromV1(t *testing.T) {
	start := metav1.NewTime(evT0.Add(-time.Hour))
	ready := metav1.NewTime(evT0.Add(-50 * time.Minute))
	always := corev1.ContainerRestartPolicyAlways
	reqs := func(cpu string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
	}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", DeletionTimestamp: &start},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "migrate", Resources: reqs("2")}, {Name: "proxy", RestartPolicy: &always, Resources: reqs("100m")}},
			Containers:     []corev1.Container{{Name: "app", Resources: reqs("500m")}},
			Resources:      &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: ready}}},
	}
	want := hpa.Pod{Name: "web-1", Phase: hpa.PodRunning, Deleting: true, Ready: hpa.ConditionTrue, ReadyTransition: ready.Time, StartTime: start.Time,
		Containers: []hpa.Container{
			{Name: "app", Requests: hpa.Resources{{Name: "cpu", Milli: 500}}},
			{Name: "proxy", Sidecar: true, Requests: hpa.Resources{{Name: "cpu", Milli: 100}}},
		}, PodRequests: hpa.Resources{{Name: "cpu", Milli: 1000}}}
	if d := cmp.Diff(want, hpa.PodFromV1(&p)); d != "" {
		t.Errorf("PodFromV1 (-want +got):\n%s", d)
	}
	if got := hpa.PodsFromV1([]corev1.Pod{p, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}); len(got) != 2 || got[1].Name != "b" || got[1].Ready != hpa.ConditionAbsent {
		t.Errorf("PodsFromV1 = %+v", got)
	}
}

func TestPodSamplesFromMetrics(t *testing.T) {
	usage := func(name, cpu string) metricsv1beta1.ContainerMetrics {
		c := metricsv1beta1.ContainerMetrics{Name: name, Usage: corev1.ResourceList{}}
		if cpu != "" {
			c.Usage[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		return c
	}
	ts := metav1.NewTime(evT0)
	pm := func(pod string, cs ...metricsv1beta1.ContainerMetrics) metricsv1beta1.PodMetrics {
		return metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: pod}, Timestamp: ts, Window: metav1.Duration{Duration: 30 * time.Second}, Containers: cs}
	}
	list := []metricsv1beta1.PodMetrics{
		pm("extra", usage("app", "50m")),
		pm("c", usage("app", "300m"), usage("proxy", "")), // a container without cpu: the pod is missing
		pm("b", usage("app", "200m"), usage("proxy", "20m")),
		pm("d"), // no containers: missing
		pm("a", usage("app", "100m")),
	}
	pods := []hpa.Pod{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}
	got := hpa.PodSamplesFromMetrics(pods, list, hpa.ResourceCPU, "")
	names, values := []string{}, []int64{}
	for _, s := range got {
		names, values = append(names, s.Pod), append(values, s.Value)
	}
	if d := cmp.Diff([]string{"a", "b", "extra"}, names); d != "" {
		t.Errorf("order (-want +got): %s", d)
	}
	if d := cmp.Diff([]int64{100, 220, 50}, values); d != "" {
		t.Errorf("values (-want +got): %s", d)
	}
	if got[0].Window != 30*time.Second || !got[0].Timestamp.Equal(evT0) {
		t.Errorf("window/timestamp = %v %v", got[0].Window, got[0].Timestamp)
	}
	byContainer := hpa.PodSamplesFromMetrics(pods, list, hpa.ResourceCPU, "proxy")
	if len(byContainer) != 1 || byContainer[0].Pod != "b" || byContainer[0].Value != 20 {
		t.Errorf("container samples = %+v, want only b at 20m", byContainer)
	}
}

func TestCustomAndExternalInputs(t *testing.T) {
	w := int64(15)
	list := []custommetricsv1beta2.MetricValue{
		{DescribedObject: corev1.ObjectReference{Name: "b"}, Value: resource.MustParse("3"), WindowSeconds: &w},
		{DescribedObject: corev1.ObjectReference{Name: "a"}, Value: resource.MustParse("1500m")},
	}
	got := hpa.PodSamplesFromCustomMetrics([]hpa.Pod{{Name: "a"}, {Name: "b"}}, list)
	if len(got) != 2 || got[0].Pod != "a" || got[0].Value != 1500 || got[0].Window != time.Minute || got[1].Window != 15*time.Second {
		t.Errorf("custom samples = %+v", got)
	}
	obj := hpa.ObjectInputFromCustomMetric(custommetricsv1beta2.MetricValue{Value: resource.MustParse("2k"), Timestamp: metav1.NewTime(evT0)})
	if obj.Value != 2_000_000 || !obj.Timestamp.Equal(evT0) {
		t.Errorf("object input = %+v", obj)
	}
	ext := hpa.ExternalInputFromMetrics([]externalmetricsv1beta1.ExternalMetricValue{
		{Value: resource.MustParse("10"), Timestamp: metav1.NewTime(evT0)}, {Value: resource.MustParse("5")}})
	if d := cmp.Diff([]int64{10_000, 5_000}, ext.Values); d != "" || !ext.Timestamp.Equal(evT0) {
		t.Errorf("external input = %+v %s", ext, d)
	}
}

func TestApplyStatus(t *testing.T) {
	spec := cvSpec()
	spec.Metrics = spec.Metrics[:1]
	spec.Behavior = nil
	earlier := metav1.NewTime(evT0.Add(-time.Hour))
	st := autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 9, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
		{Type: "ScalingLimited", Status: corev1.ConditionFalse, Reason: "DesiredWithinRange", LastTransitionTime: earlier},
		{Type: "AbleToScale", Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", LastTransitionTime: earlier},
		{Type: "ScaledToZero", Status: corev1.ConditionFalse, Reason: "NotScaledToZero", LastTransitionTime: earlier},
	}}
	r := hpa.Result{CurrentReplicas: 3, DesiredReplicas: 5, Rescale: true, RemoveScaledToZero: true,
		CurrentMetrics: []hpa.MetricStatus{{Spec: evCPU(60), Current: hpa.MetricValue{AverageUtilization: 90, AverageValue: 450}}},
		Conditions: []hpa.Condition{
			{Type: hpa.AbleToScale, Status: hpa.ConditionTrue, Reason: hpa.ReasonSucceededRescale, Message: "m1"},
			{Type: hpa.ScalingActive, Status: hpa.ConditionTrue, Reason: hpa.ReasonValidMetricFound, Message: "m2"},
			{Type: hpa.ScalingLimited, Status: hpa.ConditionTrue, Reason: hpa.ReasonScaleUpLimit, Message: "m3"},
		}}
	hpa.ApplyStatus(&st, spec, r, evT0)
	if st.CurrentReplicas != 3 || st.DesiredReplicas != 5 || st.LastScaleTime == nil || !st.LastScaleTime.Time.Equal(evT0) {
		t.Errorf("replicas/scale time: %+v", st)
	}
	types := []string{}
	for _, c := range st.Conditions {
		types = append(types, string(c.Type))
	}
	if d := cmp.Diff([]string{"ScalingLimited", "AbleToScale", "ScalingActive"}, types); d != "" {
		t.Errorf("condition order (-want +got): %s", d)
	}
	if !st.Conditions[1].LastTransitionTime.Equal(&earlier) || st.Conditions[0].LastTransitionTime.Time != evT0 || st.Conditions[1].Reason != "SucceededRescale" {
		t.Errorf("transition times: unchanged status must keep its time, a flip takes now: %+v", st.Conditions)
	}
	m := st.CurrentMetrics[0]
	if m.Resource == nil || *m.Resource.Current.AverageUtilization != 90 || m.Resource.Current.AverageValue.String() != "450m" {
		t.Errorf("current metric = %+v", m)
	}

	stopped := r
	stopped.Stopped, stopped.Rescale, stopped.DesiredReplicas = true, false, 3
	stopped.CurrentMetrics = []hpa.MetricStatus{{}}
	st2 := autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 7}
	hpa.ApplyStatus(&st2, spec, stopped, evT0)
	if st2.DesiredReplicas != 7 || st2.LastScaleTime != nil || st2.CurrentMetrics[0].Type != "" {
		t.Errorf("stopped evaluation: %+v", st2)
	}
}

func TestApplyStatusMetricShapes(t *testing.T) {
	spec := cvSpec()
	r := hpa.Result{CurrentMetrics: []hpa.MetricStatus{
		{Spec: hpa.MetricSpec{Type: hpa.ResourceMetric}, Current: hpa.MetricValue{AverageUtilization: 50, AverageValue: 250}},
		{Spec: hpa.MetricSpec{Type: hpa.ContainerResourceMetric}, Current: hpa.MetricValue{AverageValue: 1 << 30 * 1000}},
		{Spec: hpa.MetricSpec{Type: hpa.PodsMetric}, Current: hpa.MetricValue{AverageValue: 90_000}},
		{Spec: hpa.MetricSpec{Type: hpa.ObjectMetric}, Current: hpa.MetricValue{Value: 1500_000}},
		{Spec: hpa.MetricSpec{Type: hpa.ExternalMetric}, Current: hpa.MetricValue{AverageValue: 400}},
	}}
	var st autoscalingv2.HorizontalPodAutoscalerStatus
	hpa.ApplyStatus(&st, spec, r, evT0)
	got := []string{
		st.CurrentMetrics[0].Resource.Current.AverageValue.String(),
		st.CurrentMetrics[1].ContainerResource.Current.AverageValue.String(),
		st.CurrentMetrics[2].Pods.Current.AverageValue.String(),
		st.CurrentMetrics[3].Object.Current.Value.String(),
		st.CurrentMetrics[4].External.Current.AverageValue.String(),
	}
	if d := cmp.Diff([]string{"250m", "1Gi", "90", "1500", "400m"}, got); d != "" {
		t.Errorf("quantities (-want +got): %s", d)
	}
	if st.CurrentMetrics[4].External.Metric.Selector == nil || st.CurrentMetrics[3].Object.DescribedObject.Name != "web" {
		t.Errorf("identities not carried over: %+v", st.CurrentMetrics)
	}
	if st.CurrentMetrics[1].ContainerResource.Current.AverageUtilization != nil {
		t.Error("AverageValue target reports a utilization")
	}
}

func TestScaledToZeroFromStatus(t *testing.T) {
	st := autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: "ScaledToZero", Status: corev1.ConditionTrue}}}
	if !hpa.ScaledToZeroFromStatus(st) || hpa.ScaledToZeroFromStatus(autoscalingv2.HorizontalPodAutoscalerStatus{}) {
		t.Error("ScaledToZeroFromStatus")
	}
}

func TestValidate(t *testing.T) {
	good := func() hpa.Spec {
		return hpa.Spec{MinReplicas: evInt32(1), MaxReplicas: 5, Metrics: []hpa.MetricSpec{evCPU(50)},
			Behavior: &hpa.Behavior{ScaleUp: &hpa.ScalingRules{Policies: []hpa.Policy{{Type: hpa.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}}}
	}
	if err := hpa.Validate(good(), hpa.DefaultConfig()); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	neg := -0.1
	bogus := hpa.SelectPolicy("Sometimes")
	cases := []struct {
		name  string
		edit  func(*hpa.Spec)
		field string
	}{
		{"min 0", func(s *hpa.Spec) { s.MinReplicas = evInt32(0) }, "spec.minReplicas: Invalid value: 0"},
		{"max 0", func(s *hpa.Spec) { s.MaxReplicas = 0 }, "spec.maxReplicas: Invalid value: 0: must be greater than 0"},
		{"min > max", func(s *hpa.Spec) { s.MinReplicas = evInt32(6) }, "spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"},
		{"unknown source", func(s *hpa.Spec) { s.Metrics[0].Type = "Bogus" }, "spec.metrics[0].type"},
		{"no name", func(s *hpa.Spec) { s.Metrics[0].Name = "" }, "spec.metrics[0].name: Required value"},
		{"zero utilization", func(s *hpa.Spec) { s.Metrics[0].Target.AverageUtilization = 0 }, "spec.metrics[0].target.averageUtilization: Invalid value: 0"},
		{"value target on a resource", func(s *hpa.Spec) { s.Metrics[0].Target.Type = hpa.ValueTarget }, "spec.metrics[0].target.type"},
		{"negative value", func(s *hpa.Spec) {
			s.Metrics[0] = hpa.MetricSpec{Type: hpa.ExternalMetric, Name: "q", Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: -1}}
		}, "spec.metrics[0].target.value"},
		{"zero average", func(s *hpa.Spec) {
			s.Metrics[0] = hpa.MetricSpec{Type: hpa.PodsMetric, Name: "q", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget}}
		}, "spec.metrics[0].target.averageValue"},
		{"container missing", func(s *hpa.Spec) { s.Metrics[0].Type = hpa.ContainerResourceMetric }, "spec.metrics[0].container: Required value"},
		{"object without target object", func(s *hpa.Spec) {
			s.Metrics[0] = hpa.MetricSpec{Type: hpa.ObjectMetric, Name: "q", Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: 1}}
		}, "spec.metrics[0].describedObject"},
		{"window too long", func(s *hpa.Spec) { s.Behavior.ScaleUp.StabilizationWindowSeconds = evInt32(3601) }, "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601"},
		{"empty policies", func(s *hpa.Spec) { s.Behavior.ScaleUp.Policies = []hpa.Policy{} }, "spec.behavior.scaleUp.policies: Required value"},
		{"bad policy type", func(s *hpa.Spec) { s.Behavior.ScaleUp.Policies[0].Type = "Nodes" }, "spec.behavior.scaleUp.policies[0].type"},
		{"zero policy value", func(s *hpa.Spec) { s.Behavior.ScaleUp.Policies[0].Value = 0 }, "spec.behavior.scaleUp.policies[0].value"},
		{"period too long", func(s *hpa.Spec) { s.Behavior.ScaleUp.Policies[0].PeriodSeconds = 1801 }, "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801"},
		{"period zero", func(s *hpa.Spec) { s.Behavior.ScaleUp.Policies[0].PeriodSeconds = 0 }, "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 0"},
		{"bad select policy", func(s *hpa.Spec) { s.Behavior.ScaleUp.SelectPolicy = &bogus }, "spec.behavior.scaleUp.selectPolicy"},
		{"negative tolerance", func(s *hpa.Spec) { s.Behavior.ScaleDown = &hpa.ScalingRules{Tolerance: &neg} }, "spec.behavior.scaleDown.tolerance"},
	}
	for _, tc := range cases {
		s := good()
		tc.edit(&s)
		err := hpa.Validate(s, hpa.DefaultConfig())
		if !errors.Is(err, hpa.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want an ErrInvalidSpec naming %q", tc.name, err, tc.field)
		}
	}
	// Two problems are both reported.
	s := good()
	s.MaxReplicas, s.Metrics[0].Name = 0, ""
	if err := hpa.Validate(s, hpa.DefaultConfig()); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Errorf("two problems: %v", err)
	}
	// minReplicas 0 is allowed with the scale-to-zero gate and an External metric.
	cfg := hpa.DefaultConfig()
	cfg.ScaleToZero = true
	z := hpa.Spec{MinReplicas: evInt32(0), MaxReplicas: 3, Metrics: []hpa.MetricSpec{{Type: hpa.ExternalMetric, Name: "q", Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: 1}}}}
	if err := hpa.Validate(z, cfg); err != nil {
		t.Errorf("scale to zero: %v", err)
	}
	if err := hpa.Validate(z, hpa.DefaultConfig()); err == nil {
		t.Error("minReplicas 0 accepted with the gate off")
	}
}
