package hpa

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// The vectors below are upstream's replica_calculator_test.go scenarios
// (expected replicas, utilization and raw value), with one container per pod
// instead of upstream's two, so raw values are per pod.

var mtNow = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// mtPod is a test pod: ready and started long ago unless said otherwise.
type mtPod struct {
	phase    PodPhase
	ready    ConditionStatus
	deleting bool
	hot      bool  // started 1 minute ago, ready 20 s ago (inside the CPU initialization period)
	never    bool  // not ready and never was (readiness flipped at start)
	request  int64 // cpu request in milli; -1 for none
	noSample bool
}

type mtCase struct {
	name      string
	current   int32
	status    int32
	pods      []mtPod
	levels    []int64 // samples, in pod order; extra levels are for pods not listed
	spec      MetricSpec
	value     int64
	values    []int64
	want      int32
	wantUtil  int32
	wantRaw   int64
	wantValue int64
	wantErr   string
}

func mtCPU(target int32) MetricSpec {
	return MetricSpec{Type: ResourceMetric, Name: "cpu", Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: target}}
}

func mtReady(n int) []mtPod {
	p := make([]mtPod, n)
	for i := range p {
		p[i] = mtPod{request: 1000}
	}
	return p
}

func (tc mtCase) input() (*Input, *MetricInput) {
	in := &Input{Now: mtNow, Namespace: "ns", SpecReplicas: tc.current, StatusReplicas: tc.status}
	if in.StatusReplicas == 0 {
		in.StatusReplicas = tc.current
	}
	m := &MetricInput{Value: tc.value, Values: tc.values, Timestamp: mtNow}
	li := 0
	for i, o := range tc.pods {
		p := Pod{Name: fmt.Sprintf("pod-%d", i), Phase: PodRunning, Ready: ConditionTrue,
			StartTime: mtNow.Add(-time.Hour), Deleting: o.deleting}
		p.ReadyTransition = p.StartTime.Add(time.Minute)
		if o.phase != "" {
			p.Phase = o.phase
		}
		if o.ready != "" {
			p.Ready = o.ready
		}
		if o.hot {
			p.StartTime, p.ReadyTransition = mtNow.Add(-time.Minute), mtNow.Add(-20*time.Second)
		}
		if o.never {
			p.Ready, p.ReadyTransition = ConditionFalse, p.StartTime
		}
		c := Container{Name: "app"}
		if o.request >= 0 {
			c.Requests = Resources{{Name: ResourceCPU, Milli: o.request}, {Name: ResourceMemory, Milli: o.request}}
		}
		p.Containers = []Container{c}
		in.Pods = append(in.Pods, p)
		if !o.noSample && li < len(tc.levels) {
			m.Samples = append(m.Samples, PodSample{Pod: p.Name, Value: tc.levels[li], Timestamp: mtNow.Add(-5 * time.Second), Window: 30 * time.Second})
			li++
		}
	}
	for ; li < len(tc.levels); li++ {
		m.Samples = append(m.Samples, PodSample{Pod: fmt.Sprintf("other-%d", li), Value: tc.levels[li], Timestamp: mtNow, Window: 30 * time.Second})
	}
	in.Metrics = []MetricInput{*m}
	return in, &in.Metrics[0]
}

func (tc mtCase) run(t *testing.T) Proposal {
	t.Helper()
	cfg := DefaultConfig()
	cfg.CPUInitializationPeriod, cfg.InitialReadinessDelay = 2*time.Minute, 10*time.Second // upstream's test values
	in, m := tc.input()
	return metricReplicas(&cfg, cfg.tolerances(nil), &tc.spec, m, in)
}

func TestMetricReplicasUpstreamVectors(t *testing.T) {
	cases := []mtCase{
		{name: "ScaleUp", current: 3, pods: mtReady(3), levels: []int64{300, 500, 700}, spec: mtCPU(30), want: 5, wantUtil: 50, wantRaw: 500},
		{name: "ScaleDown", current: 5, pods: mtReady(5), levels: []int64{100, 300, 500, 250, 250}, spec: mtCPU(50), want: 3, wantUtil: 28, wantRaw: 280},
		{name: "ScaleDownIgnoresFailedPods", current: 5,
			pods:   append(mtReady(5), mtPod{phase: PodFailed, ready: ConditionFalse, request: 1000}, mtPod{phase: PodFailed, ready: ConditionFalse, request: 1000}),
			levels: []int64{100, 300, 500, 250, 250}, spec: mtCPU(50), want: 3, wantUtil: 28, wantRaw: 280},
		{name: "ScaleDownIgnoresDeletionPods", current: 5,
			pods:   append(mtReady(5), mtPod{deleting: true, request: 1000}, mtPod{deleting: true, request: 1000}),
			levels: []int64{100, 300, 500, 250, 250}, spec: mtCPU(50), want: 3, wantUtil: 28, wantRaw: 280},
		{name: "Tolerance (102% of 100 is within)", current: 3, pods: []mtPod{{request: 900}, {request: 1000}, {request: 1100}},
			levels: []int64{1010, 1030, 1020}, spec: mtCPU(100), want: 3, wantUtil: 102, wantRaw: 1020},
		{name: "SuperfluousMetrics", current: 4, pods: mtReady(4), levels: []int64{4000, 9500, 3000, 7000, 3200, 2000},
			spec: mtCPU(100), want: 24, wantUtil: 587, wantRaw: 5875},
		{name: "MissingMetrics", current: 4, pods: mtReady(4), levels: []int64{400, 95}, spec: mtCPU(100), want: 3, wantUtil: 24, wantRaw: 247},
		{name: "MissingMetricsNoChangeEq", current: 2, pods: mtReady(2), levels: []int64{1000}, spec: mtCPU(100), want: 2, wantUtil: 100, wantRaw: 1000},
		{name: "MissingMetricsNoChangeGt", current: 2, pods: mtReady(2), levels: []int64{1900}, spec: mtCPU(100), want: 2, wantUtil: 190, wantRaw: 1900},
		{name: "MissingMetricsNoChangeLt", current: 2, pods: mtReady(2), levels: []int64{600}, spec: mtCPU(100), want: 2, wantUtil: 60, wantRaw: 600},
		{name: "MissingMetricsUnreadyChange", current: 3, pods: []mtPod{{never: true, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{100, 450}, spec: mtCPU(50), want: 3, wantUtil: 45, wantRaw: 450},
		{name: "MissingMetricsHotCpuNoChange", current: 3, pods: []mtPod{{hot: true, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{100, 450}, spec: mtCPU(50), want: 3, wantUtil: 45, wantRaw: 450},
		{name: "MissingMetricsUnreadyScaleUp", current: 3, pods: []mtPod{{never: true, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{100, 2000}, spec: mtCPU(50), want: 4, wantUtil: 200, wantRaw: 2000},
		{name: "MissingMetricsHotCpuScaleUp", current: 3, pods: []mtPod{{hot: true, ready: ConditionFalse, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{100, 2000}, spec: mtCPU(50), want: 4, wantUtil: 200, wantRaw: 2000},
		{name: "MissingMetricsUnreadyScaleDown", current: 4, pods: []mtPod{{never: true, request: 1000}, {request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{100, 100, 100}, spec: mtCPU(50), want: 3, wantUtil: 10, wantRaw: 100},
		{name: "DuringRollingUpdateWithMaxSurge", current: 2, pods: mtReady(3), levels: []int64{100, 100}, spec: mtCPU(50), want: 2, wantUtil: 10, wantRaw: 100},
		{name: "ScaleUpUnreadyLessScale", current: 3, pods: []mtPod{{never: true, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{100, 500, 700}, spec: mtCPU(30), want: 4, wantUtil: 60, wantRaw: 600},
		{name: "ScaleUpPendingLessScale", current: 3, pods: []mtPod{{phase: PodPending, ready: ConditionFalse, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{300, 500, 700}, spec: mtCPU(30), want: 4, wantUtil: 60, wantRaw: 600},
		{name: "EmptyMetrics", current: 4, pods: mtReady(3), spec: mtCPU(100),
			wantErr: "unable to get metrics for resource cpu: no metrics returned from resource metrics API"},
		{name: "EmptyCPURequest", current: 1, pods: []mtPod{{request: -1}}, levels: []int64{200}, spec: mtCPU(100),
			wantErr: "missing request for cpu in container app of Pod pod-0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mtCheck(t, tc) })
	}
}

func mtCheck(t *testing.T, tc mtCase) {
	t.Helper()
	p := tc.run(t)
	if tc.wantErr != "" {
		if p.Err == nil || !strings.Contains(p.Err.Error(), tc.wantErr) || !strings.Contains(p.Message, tc.wantErr) {
			t.Fatalf("err = %v, message %q; want one containing %q", p.Err, p.Message, tc.wantErr)
		}
		return
	}
	if p.Err != nil {
		t.Fatalf("unexpected error: %v", p.Err)
	}
	cur := p.Status.Current
	if p.Replicas != tc.want || cur.AverageUtilization != tc.wantUtil || cur.AverageValue != tc.wantRaw || cur.Value != tc.wantValue {
		t.Errorf("replicas %d util %d raw %d value %d; want %d, %d, %d, %d",
			p.Replicas, cur.AverageUtilization, cur.AverageValue, cur.Value, tc.want, tc.wantUtil, tc.wantRaw, tc.wantValue)
	}
}

func TestMetricReplicasOtherSources(t *testing.T) {
	pods := func(target int64) MetricSpec {
		return MetricSpec{Type: PodsMetric, Name: "qps", Target: MetricTarget{Type: AverageValueTarget, AverageValue: target}}
	}
	// target sets the field its type names, as most specs do.
	target := func(tt MetricTargetType, v int64) MetricTarget {
		if tt == ValueTarget {
			return MetricTarget{Type: tt, Value: v}
		}
		return MetricTarget{Type: tt, AverageValue: v}
	}
	object := func(tt MetricTargetType, v int64) MetricSpec {
		return MetricSpec{Type: ObjectMetric, Name: "qps", Object: ObjectReference{Kind: "Deployment", Name: "d"}, Target: target(tt, v)}
	}
	external := func(tt MetricTargetType, v int64) MetricSpec {
		return MetricSpec{Type: ExternalMetric, Name: "qps", Selector: "&LabelSelector{MatchLabels:map[string]string{label: value,},MatchExpressions:[]LabelSelectorRequirement{},}",
			Target: target(tt, v)}
	}
	// Upstream picks the path by the field that is set (horizontal.go,
	// computeStatusFor…Metric); the API server accepts these specs.
	crossed := func(m MetricSpec, tt MetricTargetType) MetricSpec { m.Target.Type = tt; return m }
	unreadyLast := append(mtReady(2), mtPod{ready: ConditionFalse, request: 1000})
	cases := []mtCase{
		{name: "Pods ScaleUpCM", current: 3, pods: mtReady(3), levels: []int64{20000, 10000, 30000}, spec: pods(15000), want: 4, wantRaw: 20000},
		{name: "Pods ToleranceCM", current: 3, pods: mtReady(3), levels: []int64{20000, 21000, 21000}, spec: pods(20000), want: 3, wantRaw: 20666},
		{name: "Pods ScaleDownCM", current: 5, pods: mtReady(5), levels: []int64{12000, 12000, 12000, 12000, 12000}, spec: pods(20000), want: 3, wantRaw: 12000},
		{name: "Pods missing on scale-down count as target", current: 4, pods: mtReady(4), levels: []int64{10000, 10000}, spec: pods(20000), want: 3, wantRaw: 10000},
		{name: "Pods unready not ignored (no cpu rules)", current: 3, pods: unreadyLast, levels: []int64{30000, 30000, 30000}, spec: pods(15000), want: 6, wantRaw: 30000},
		{name: "Pods pending on scale-up count as zero", current: 3,
			pods:   []mtPod{{request: 1000}, {request: 1000}, {phase: PodPending, request: 1000, noSample: true}},
			levels: []int64{30000, 30000}, spec: pods(15000), want: 4, wantRaw: 30000},
		{name: "Object ScaleUpCMObject", current: 3, pods: mtReady(3), value: 30000, spec: object(ValueTarget, 10000), want: 9, wantValue: 30000},
		{name: "Object ToleranceCMObject", current: 3, pods: mtReady(3), value: 20666, spec: object(ValueTarget, 20000), want: 3, wantValue: 20666},
		{name: "Object Value counts only Running+Ready pods", current: 3, pods: unreadyLast, value: 30000, spec: object(ValueTarget, 10000), want: 6, wantValue: 30000},
		{name: "Object Value from zero: ceil(ratio), no pods needed", current: 0, value: 25000, spec: object(ValueTarget, 10000), want: 3, wantValue: 25000},
		{name: "Object AverageValue TolerancePerPodCMObject", current: 4, status: 4, value: 20166, spec: object(AverageValueTarget, 5000), want: 4, wantRaw: 5042},
		{name: "Object AverageValue ScaleUpPerPod", current: 1, status: 1, value: 20000, spec: object(AverageValueTarget, 5000), want: 4, wantRaw: 20000},
		{name: "External ToleranceCMExternal", current: 3, pods: mtReady(3), values: []int64{8600}, spec: external(ValueTarget, 8888), want: 3, wantValue: 8600},
		{name: "External ScaleUpCMExternal sums series", current: 1, pods: mtReady(1), values: []int64{4000, 4600}, spec: external(ValueTarget, 4400), want: 2, wantValue: 8600},
		{name: "External TolerancePerPodCMExternal", current: 3, status: 3, values: []int64{8600}, spec: external(AverageValueTarget, 2900), want: 3, wantRaw: 2867},
		{name: "External ScaleDownPerPod", current: 3, status: 3, values: []int64{1000}, spec: external(AverageValueTarget, 1000), want: 1, wantRaw: 334},
		{name: "External AverageValue with zero status replicas", current: 0, status: 0, values: []int64{3000}, spec: external(AverageValueTarget, 1000), want: 3, wantRaw: 0},
		// Upstream writes int64(±Inf or NaN) there, MinInt64 on amd64; kscale
		// writes 0 (a documented departure). The replica count is upstream's.
		{name: "Object AverageValue with zero status replicas", current: 0, status: 0, value: 3000, spec: object(AverageValueTarget, 1000), want: 3, wantRaw: 0},
		{name: "External AverageValue, zero usage over zero status replicas (NaN ratio)", current: 0, status: 0, values: []int64{0}, spec: external(AverageValueTarget, 1000), want: 0, wantRaw: 0},
		// GetExternalMetricReplicas caps a positive overflow and stops adding.
		{name: "External Value: the sum stops at the cap", current: 1, pods: mtReady(1), values: []int64{math.MaxInt64, 1, -10_000}, spec: external(ValueTarget, 1), want: math.MaxInt32, wantValue: math.MaxInt64},
		{name: "External Value: negative series add up", current: 3, pods: mtReady(3), values: []int64{30_000, -12_000}, spec: external(ValueTarget, 6000), want: 9, wantValue: 18_000},
		// GetExternalPerPodMetricReplicas takes any negative running sum for
		// an overflow: the usage becomes MaxInt64.
		{name: "External AverageValue: a negative running sum reads as MaxInt64", current: 3, status: 3, values: []int64{-5000}, spec: external(AverageValueTarget, 1000), want: math.MaxInt32, wantRaw: math.MaxInt64},
		{name: "External AverageValue: negative after positive stays if the sum is not negative", current: 3, status: 3, values: []int64{9000, -3000}, spec: external(AverageValueTarget, 1000), want: 6, wantRaw: 2000},
		{name: "External AverageValue: overflow with zero status replicas reports MaxInt64", current: 0, status: 0, values: []int64{math.MaxInt64, 1}, spec: external(AverageValueTarget, 1000), want: math.MaxInt32, wantRaw: math.MaxInt64},
		{name: "External overflow saturates and clamps", current: 1, pods: mtReady(1), values: []int64{math.MaxInt64, math.MaxInt64}, spec: external(ValueTarget, 1), want: math.MaxInt32, wantValue: math.MaxInt64},
		{name: "External type AverageValue with only value set takes the Value path", current: 3, pods: mtReady(3), values: []int64{30000},
			spec: crossed(external(ValueTarget, 10000), AverageValueTarget), want: 9, wantValue: 30000},
		{name: "External type Value with only averageValue set takes the per-pod path", current: 3, status: 3, values: []int64{8600},
			spec: crossed(external(AverageValueTarget, 2900), ValueTarget), want: 3, wantRaw: 2867},
		{name: "External type Utilization with value set takes the Value path", current: 3, pods: mtReady(3), values: []int64{30000},
			spec: crossed(external(ValueTarget, 10000), UtilizationTarget), want: 9, wantValue: 30000},
		{name: "Object type AverageValue with only value set fails as upstream", current: 3, pods: mtReady(3), value: 30000,
			spec:    crossed(object(ValueTarget, 10000), AverageValueTarget),
			wantErr: "invalid object metric source: neither a value target nor an average value target was set"},
		{name: "Object type Utilization fails as upstream", current: 3, pods: mtReady(3), value: 30000,
			spec:    crossed(object(ValueTarget, 10000), UtilizationTarget),
			wantErr: "invalid object metric source: neither a value target nor an average value target was set"},
		{name: "Object with both fields set follows its type", current: 3, pods: mtReady(3), value: 30000,
			spec: MetricSpec{Type: ObjectMetric, Name: "qps", Object: ObjectReference{Kind: "Deployment", Name: "d"},
				Target: MetricTarget{Type: ValueTarget, Value: 10000, AverageValue: 1}}, want: 9, wantValue: 30000},
		{name: "Resource type Utilization with averageValue set takes the raw path", current: 3, pods: mtReady(3), levels: []int64{1000, 2000, 3000},
			spec: MetricSpec{Type: ResourceMetric, Name: "memory", Target: MetricTarget{Type: UtilizationTarget, AverageValue: 1000}}, want: 6, wantRaw: 2000},
		{name: "Resource type Value with averageUtilization set takes the utilization path", current: 3, pods: mtReady(3), levels: []int64{1000, 1000, 1000},
			spec: MetricSpec{Type: ResourceMetric, Name: "memory", Target: MetricTarget{Type: ValueTarget, AverageUtilization: 50}},
			want: 6, wantUtil: 100, wantRaw: 1000},
		{name: "Pods type Value with averageValue set", current: 3, pods: mtReady(3), levels: []int64{20000, 10000, 30000},
			spec: MetricSpec{Type: PodsMetric, Name: "qps", Target: MetricTarget{Type: ValueTarget, AverageValue: 15000}}, want: 4, wantRaw: 20000},
		{name: "Object Value with no pods listed", current: 2, value: 30000, spec: object(ValueTarget, 10000),
			wantErr: "unable to calculate ready pods: no pods returned by selector while calculating replica count"},
		{name: "Resource AverageValue", current: 3, pods: mtReady(3), levels: []int64{1000, 2000, 3000},
			spec: MetricSpec{Type: ResourceMetric, Name: "memory", Target: MetricTarget{Type: AverageValueTarget, AverageValue: 1000}}, want: 6, wantRaw: 2000},
		{name: "memory ignores cpu readiness", current: 3, pods: []mtPod{{never: true, request: 1000}, {request: 1000}, {request: 1000}},
			levels: []int64{1000, 1000, 1000}, spec: MetricSpec{Type: ResourceMetric, Name: "memory", Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: 50}},
			want: 6, wantUtil: 100, wantRaw: 1000},
		{name: "target above 100% fills missing pods at the target", current: 4, pods: mtReady(4), levels: []int64{1000, 1000},
			spec: mtCPU(300), want: 3, wantUtil: 100, wantRaw: 1000},
		{name: "no pods", current: 3, levels: []int64{100}, spec: mtCPU(50), wantErr: "no pods returned by selector"},
		{name: "every pod unready", current: 2, pods: []mtPod{{phase: PodPending, request: 1000}, {phase: PodPending, request: 1000}},
			levels: []int64{100, 100}, spec: mtCPU(50), wantErr: "did not receive metrics for targeted pods (pods might be unready)"},
		{name: "zero requests", current: 2, pods: []mtPod{{request: 0}, {request: 0}}, levels: []int64{100, 100}, spec: mtCPU(50),
			wantErr: "no metrics returned matched known pods"},
		{name: "only superfluous samples", current: 1, pods: []mtPod{{request: 1000, noSample: true}}, levels: []int64{100}, spec: mtCPU(50),
			wantErr: "no metrics returned matched known pods"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mtCheck(t, tc) })
	}
}

func TestMetricReplicasNamesAndErrors(t *testing.T) {
	fetch := errors.New("boom")
	cases := []struct {
		spec       MetricSpec
		wantReason Reason
		wantErr    string
		wantMsg    string
	}{
		{mtCPU(50), ReasonFailedGetResourceMetric,
			"failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: boom",
			"the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: boom"},
		{MetricSpec{Type: ContainerResourceMetric, Name: "cpu", Container: "app", Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}},
			ReasonFailedGetContainerResourceMetric,
			"failed to get app container metric value: failed to get cpu usage: unable to get metrics for resource cpu: boom", ""},
		{MetricSpec{Type: PodsMetric, Name: "qps", Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}}, ReasonFailedGetPodsMetric,
			"failed to get pods metric value: unable to get metric qps: boom", "the HPA was unable to compute the replica count: unable to get metric qps: boom"},
		{MetricSpec{Type: ObjectMetric, Name: "qps", Object: ObjectReference{Kind: "Ingress", Name: "web"}, Target: MetricTarget{Type: ValueTarget, Value: 5}},
			ReasonFailedGetObjectMetric, "failed to get object metric value: unable to get metric qps on Ingress ns/web: boom", ""},
		{MetricSpec{Type: ObjectMetric, Name: "qps", Object: ObjectReference{Kind: "Ingress", Name: "web"}, Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}},
			ReasonFailedGetObjectMetric, "failed to get object metric value: failed to get qps object metric: unable to get metric qps", ""},
		{MetricSpec{Type: ExternalMetric, Name: "q", Target: MetricTarget{Type: ValueTarget, Value: 5}}, ReasonFailedGetExternalMetric,
			"failed to get q external metric value: failed to get external metric q: unable to get external metric ns/q/nil: boom", ""},
		{MetricSpec{Type: ExternalMetric, Name: "q", Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}}, ReasonFailedGetExternalMetric,
			"failed to get q external metric value: failed to get q external metric: unable to get external metric ns/q/nil: boom", ""},
		{MetricSpec{Type: "Bogus"}, ReasonInvalidMetricSourceType, `unknown metric source type "Bogus"`, ""},
	}
	for _, tc := range cases {
		in, _ := mtCase{current: 2, pods: mtReady(2)}.input()
		cfg := DefaultConfig()
		p := metricReplicas(&cfg, cfg.tolerances(nil), &tc.spec, &MetricInput{Err: fetch}, in)
		if p.Err == nil || !strings.HasPrefix(p.Err.Error(), tc.wantErr) || p.Reason != tc.wantReason {
			t.Errorf("%s: err %v reason %s; want %q, %s", tc.spec.Type, p.Err, p.Reason, tc.wantErr, tc.wantReason)
		}
		if tc.wantMsg != "" && p.Message != tc.wantMsg {
			t.Errorf("%s: message %q, want %q", tc.spec.Type, p.Message, tc.wantMsg)
		}
		if p.Status != (MetricStatus{}) {
			t.Errorf("%s: failed metric has a status %+v", tc.spec.Type, p.Status)
		}
	}
	names := map[string]MetricSpec{
		"cpu resource utilization (percentage of request)": mtCPU(50),
		"memory resource": {Type: ResourceMetric, Name: "memory", Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}},
		"cpu container resource utilization (percentage of request)": {Type: ContainerResourceMetric, Name: "cpu", Container: "app", Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: 50}},
		"pods metric qps":          {Type: PodsMetric, Name: "qps", Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}},
		"Ingress metric qps":       {Type: ObjectMetric, Name: "qps", Object: ObjectReference{Kind: "Ingress", Name: "w"}, Target: MetricTarget{Type: ValueTarget, Value: 5}},
		"external metric qps(nil)": {Type: ObjectMetric, Name: "qps", Object: ObjectReference{Kind: "Ingress", Name: "w"}, Target: MetricTarget{Type: AverageValueTarget, AverageValue: 5}},
		"external metric q(sel)":   {Type: ExternalMetric, Name: "q", Selector: "sel", Target: MetricTarget{Type: ValueTarget, Value: 5}},
	}
	for want, spec := range names {
		tc := mtCase{current: 2, pods: mtReady(2), levels: []int64{10, 10}, value: 10, values: []int64{10}}
		in, m := tc.input()
		cfg := DefaultConfig()
		if p := metricReplicas(&cfg, cfg.tolerances(nil), &spec, m, in); p.Metric != want || p.Err != nil {
			t.Errorf("metric name %q (err %v), want %q", p.Metric, p.Err, want)
		}
	}
}

func TestMetricReplicasInvalidTargets(t *testing.T) {
	for _, spec := range []MetricSpec{
		{Type: ResourceMetric, Name: "cpu", Target: MetricTarget{Type: ValueTarget, Value: 1}},
		{Type: PodsMetric, Name: "x", Target: MetricTarget{Type: ValueTarget, Value: 1}},
		{Type: ObjectMetric, Name: "x", Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: 1}},
		{Type: ExternalMetric, Name: "x", Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: 1}},
	} {
		in, m := mtCase{current: 2, pods: mtReady(2), levels: []int64{1, 1}}.input()
		cfg := DefaultConfig()
		if p := metricReplicas(&cfg, cfg.tolerances(nil), &spec, m, in); p.Err == nil || !strings.Contains(p.Err.Error(), "invalid") {
			t.Errorf("%s with %s target: err %v, want an invalid-source error", spec.Type, spec.Target.Type, p.Err)
		}
	}
}

func TestPodRequests(t *testing.T) {
	cfg := DefaultConfig()
	pod := Pod{Name: "p", Containers: []Container{
		{Name: "app", Requests: Resources{{Name: ResourceCPU, Milli: 300}}},
		{Name: "proxy", Sidecar: true, Requests: Resources{{Name: ResourceCPU, Milli: 100}}},
	}, PodRequests: Resources{{Name: ResourceCPU, Milli: 1000}}}
	cases := []struct {
		container string
		podLevel  bool
		want      int64
		wantErr   string
	}{
		{"", false, 400, ""},      // containers plus sidecars
		{"proxy", false, 100, ""}, // a named sidecar
		{"app", true, 300, ""},    // a named container ignores pod-level requests
		{"", true, 1000, ""},      // pod-level requests win when the gate is on
		{"db", false, 0, "container db not found in Pod p"},
	}
	for _, tc := range cases {
		cfg.PodLevelResources = tc.podLevel
		got, err := podRequest(&cfg, &pod, ResourceCPU, tc.container)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("container %q: err %v, want %q", tc.container, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("container %q pod-level %v: %d, %v; want %d", tc.container, tc.podLevel, got, err, tc.want)
		}
	}
	if _, err := podRequest(&cfg, &pod, ResourceMemory, ""); err == nil {
		t.Error("memory request missing everywhere: no error")
	}
	// With pod-level requests set, a resource they lack fails the metric
	// with upstream's calculatePodLevelRequests error, even if the gate
	// were to fall back to containers elsewhere.
	cfg.PodLevelResources = true
	if _, err := podRequest(&cfg, &pod, ResourceMemory, ""); err == nil || err.Error() != "missing pod-level request for memory in Pod p" {
		t.Errorf("pod-level requests without memory: err %v", err)
	}
}

func TestClassify(t *testing.T) {
	cfg := DefaultConfig() // 5m initialization, 30s readiness delay
	start := mtNow.Add(-10 * time.Minute)
	sample := &PodSample{Timestamp: mtNow.Add(-5 * time.Second), Window: 30 * time.Second}
	cases := []struct {
		name string
		pod  Pod
		smp  *PodSample
		cpu  bool
		want podClass
	}{
		{"deleting", Pod{Phase: PodRunning, Deleting: true}, sample, true, podIgnored},
		{"failed", Pod{Phase: PodFailed}, sample, true, podIgnored},
		{"succeeded counts as ready", Pod{Phase: PodSucceeded}, sample, false, podReady},
		{"pending", Pod{Phase: PodPending}, sample, false, podUnready},
		{"no sample", Pod{Phase: PodRunning}, nil, true, podMissing},
		{"cpu: no ready condition", Pod{Phase: PodRunning, StartTime: start}, sample, true, podUnready},
		{"cpu: no start time", Pod{Phase: PodRunning, Ready: ConditionTrue}, sample, true, podUnready},
		{"cpu: initializing, sample from before a full window of readiness", Pod{Phase: PodRunning, Ready: ConditionTrue,
			StartTime: mtNow.Add(-time.Minute), ReadyTransition: mtNow.Add(-20 * time.Second)}, sample, true, podUnready},
		{"cpu: initializing, sample a full window after readiness", Pod{Phase: PodRunning, Ready: ConditionTrue,
			StartTime: mtNow.Add(-time.Minute), ReadyTransition: mtNow.Add(-35 * time.Second)}, sample, true, podReady},
		{"cpu: initializing, exactly one window is not before", Pod{Phase: PodRunning, Ready: ConditionTrue,
			StartTime: mtNow.Add(-time.Minute), ReadyTransition: mtNow.Add(-35 * time.Second)}, &PodSample{Timestamp: mtNow.Add(-5 * time.Second), Window: 30 * time.Second}, true, podReady},
		{"cpu: initializing, not ready", Pod{Phase: PodRunning, Ready: ConditionFalse,
			StartTime: mtNow.Add(-time.Minute), ReadyTransition: mtNow.Add(-50 * time.Second)}, sample, true, podUnready},
		{"cpu: initializing, Unknown is not False", Pod{Phase: PodRunning, Ready: ConditionUnknown,
			StartTime: mtNow.Add(-time.Minute), ReadyTransition: mtNow.Add(-50 * time.Second)}, sample, true, podReady},
		{"cpu: initialized, unready and never ready", Pod{Phase: PodRunning, Ready: ConditionFalse,
			StartTime: start, ReadyTransition: start.Add(10 * time.Second)}, sample, true, podUnready},
		{"cpu: initialized, unready after having been ready", Pod{Phase: PodRunning, Ready: ConditionFalse,
			StartTime: start, ReadyTransition: start.Add(30 * time.Second)}, sample, true, podReady},
		{"memory: unready is still ready", Pod{Phase: PodRunning, Ready: ConditionFalse, StartTime: start, ReadyTransition: start}, sample, false, podReady},
	}
	for _, tc := range cases {
		if got := classify(&cfg, mtNow, &tc.pod, tc.smp, tc.cpu); got != tc.want {
			t.Errorf("%s: class %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestMetricReplicasUnalignedSamples(t *testing.T) {
	tc := mtCase{current: 4, pods: mtReady(4), levels: []int64{400, 95}, spec: mtCPU(100)}
	in, m := tc.input()
	m.Samples[0], m.Samples[1] = m.Samples[1], m.Samples[0]
	m.Samples[0].Pod, m.Samples[1].Pod = "pod-3", "pod-2" // reversed, pods 0 and 1 missing
	cfg := DefaultConfig()
	p := metricReplicas(&cfg, cfg.tolerances(nil), &tc.spec, m, in)
	if p.Err != nil || p.Replicas != 3 || p.Status.Current.AverageUtilization != 24 {
		t.Fatalf("unaligned samples: %d, util %d, err %v; want the aligned answer 3, 24", p.Replicas, p.Status.Current.AverageUtilization, p.Err)
	}
}

func TestMetricReplicasNoAllocationPerPod(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates per memory access")
	}
	allocs := func(n int) float64 {
		in, m := mtCase{current: int32(n), pods: mtReady(n), levels: make([]int64, n), spec: mtCPU(50)}.input()
		for i := range m.Samples {
			m.Samples[i].Value = 510
		}
		spec := mtCPU(50)
		cfg := DefaultConfig()
		return testing.AllocsPerRun(50, func() { metricReplicas(&cfg, cfg.tolerances(nil), &spec, m, in) })
	}
	if small, large := allocs(10), allocs(1000); large != small {
		t.Fatalf("allocations grow with pods: %v for 10 pods, %v for 1000", small, large)
	}
}
