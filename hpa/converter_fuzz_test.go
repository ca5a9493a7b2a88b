package hpa_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kscale/kscale/hpa"
)

// FuzzConverter checks that a Converter used over several syncs, with pods
// appearing, leaving, changing, being replaced under the same name or
// listed twice, and metrics listings with superfluous, duplicate and
// unusable items, leads Evaluate to the same outcome as the one-shot
// converters on the same objects.
func FuzzConverter(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1})
	f.Add([]byte{7, 255, 128, 3, 9, 27, 81, 243, 1, 2, 4, 8, 16, 32, 64, 128, 7, 7, 7, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := fuzzBytes(data)
		specs := []hpa.MetricSpec{evCPU(int32(b.pick(150)) + 1),
			{Type: hpa.ResourceMetric, Name: "memory", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: int64(b.pick(200)+1) << 20 * 1000}},
			{Type: hpa.PodsMetric, Name: "rps", Target: hpa.MetricTarget{Type: hpa.AverageValueTarget, AverageValue: int64(b.pick(100)+1) * 1000}},
			{Type: hpa.ContainerResourceMetric, Name: "cpu", Container: "app", Target: hpa.MetricTarget{Type: hpa.UtilizationTarget, AverageUtilization: 60}}}
		spec := hpa.Spec{MaxReplicas: 50, Metrics: specs}
		objs := map[string]*corev1.Pod{}
		var conv hpa.Converter
		for sync := range 3 {
			now := evT0.Add(time.Duration(sync) * 15 * time.Second)
			var list []*corev1.Pod
			for range b.pick(7) {
				name := fmt.Sprintf("p%d", b.pick(5))
				p := objs[name]
				if p == nil || b.pick(4) == 0 {
					p = fuzzV1Pod(&b, name, now)
					objs[name] = p
				}
				list = append(list, p)
			}
			if b.pick(6) == 0 {
				list = append(list, nil)
			}
			var usage []metricsv1beta1.PodMetrics
			var rps []custommetricsv1beta2.MetricValue
			for range b.pick(8) {
				name := fmt.Sprintf("p%d", b.pick(6)) // p5 is never a pod
				m := metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: name}, Timestamp: metav1.NewTime(now.Add(-time.Duration(b.pick(60)) * time.Second)),
					Window: metav1.Duration{Duration: 30 * time.Second}}
				for _, c := range []string{"app", "proxy"}[:b.pick(3)] {
					u := corev1.ResourceList{}
					if b.pick(5) != 0 {
						u[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(b.u8())*7, resource.DecimalSI)
					}
					if b.pick(5) != 0 {
						u[corev1.ResourceMemory] = *resource.NewQuantity(int64(b.u8())<<20, resource.BinarySI)
					}
					m.Containers = append(m.Containers, metricsv1beta1.ContainerMetrics{Name: c, Usage: u})
				}
				usage = append(usage, m)
				rps = append(rps, custommetricsv1beta2.MetricValue{DescribedObject: corev1.ObjectReference{Name: name},
					Timestamp: metav1.NewTime(now), Value: *resource.NewMilliQuantity(int64(b.u8())*300, resource.DecimalSI)})
			}
			current := int32(b.pick(8))

			in := hpa.Input{Now: now, Namespace: "ns", SpecReplicas: current, StatusReplicas: current, Pods: conv.Pods(list)}
			in.Metrics = []hpa.MetricInput{conv.ResourceMetric(0, usage, "cpu", ""), conv.ResourceMetric(1, usage, "memory", ""),
				conv.PodsMetric(2, rps), conv.ResourceMetric(3, usage, "cpu", "app")}

			var vals []corev1.Pod
			for _, p := range list {
				if p != nil {
					vals = append(vals, *p)
				}
			}
			pods := hpa.PodsFromV1(vals)
			fin := hpa.Input{Now: now, Namespace: "ns", SpecReplicas: current, StatusReplicas: current, Pods: pods,
				Metrics: []hpa.MetricInput{hpa.ResourceInputFromMetrics(pods, usage, "cpu", ""), hpa.ResourceInputFromMetrics(pods, usage, "memory", ""),
					{Samples: hpa.PodSamplesFromCustomMetrics(rps)}, hpa.ResourceInputFromMetrics(pods, usage, "cpu", "app")}}

			a, erra := hpa.Evaluate(hpa.DefaultConfig(), spec, fin, &hpa.State{})
			c, errc := hpa.Evaluate(hpa.DefaultConfig(), spec, in, &hpa.State{})
			if (erra == nil) != (errc == nil) {
				t.Fatalf("sync %d: errors %v / %v", sync, erra, errc)
			}
			if a.DesiredReplicas != c.DesiredReplicas || a.Rescale != c.Rescale || a.Stopped != c.Stopped {
				for i := range a.Proposals {
					t.Logf("metric %d: functions %d %q | converter %d %q", i, a.Proposals[i].Replicas, a.Proposals[i].Message, c.Proposals[i].Replicas, c.Proposals[i].Message)
				}
				t.Fatalf("sync %d: functions %d/%v/%v, converter %d/%v/%v", sync, a.DesiredReplicas, a.Rescale, a.Stopped, c.DesiredReplicas, c.Rescale, c.Stopped)
			}
			if d := cmp.Diff(a.CurrentMetrics, c.CurrentMetrics); d != "" {
				t.Fatalf("sync %d: current metrics:\n%s", sync, d)
			}
			for i := range a.Proposals {
				pa, pc := a.Proposals[i], c.Proposals[i]
				if pa.Replicas != pc.Replicas || pa.Reason != pc.Reason {
					t.Fatalf("sync %d metric %d: %+v / %+v", sync, i, pa, pc)
				}
				// Only which pod a request error names may differ (pod order).
				if pa.Message != pc.Message && !strings.Contains(pa.Message, " of Pod ") && !strings.Contains(pa.Message, " in Pod ") {
					t.Fatalf("sync %d metric %d: %q / %q", sync, i, pa.Message, pc.Message)
				}
			}
		}
	})
}

// fuzzSerial numbers the objects a fuzz run builds: the API server never
// gives two different objects the same UID and resourceVersion.
var fuzzSerial int

func fuzzV1Pod(b *fuzzBytes, name string, now time.Time) *corev1.Pod {
	fuzzSerial++
	start := metav1.NewTime(now.Add(-time.Duration(b.pick(600)) * time.Second))
	req := func() corev1.ResourceList {
		rl := corev1.ResourceList{}
		if b.pick(6) != 0 {
			rl[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(b.pick(9)+1)*100, resource.DecimalSI)
		}
		rl[corev1.ResourceMemory] = resource.MustParse("128Mi")
		return rl
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(fmt.Sprintf("uid-%s-%d", name, b.pick(2))), ResourceVersion: fmt.Sprint(fuzzSerial)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: req()}}}},
		Status: corev1.PodStatus{Phase: []corev1.PodPhase{corev1.PodRunning, corev1.PodRunning, corev1.PodPending, corev1.PodFailed, corev1.PodSucceeded}[b.pick(5)],
			StartTime: &start, Conditions: []corev1.PodCondition{{Type: corev1.PodReady,
				Status:             []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown}[b.pick(3)],
				LastTransitionTime: metav1.NewTime(start.Add(time.Duration(b.pick(60)) * time.Second))}}}}
	if b.pick(3) == 0 {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "proxy", Resources: corev1.ResourceRequirements{Requests: req()}})
	}
	if b.pick(8) == 0 {
		p.ResourceVersion = ""
	}
	return p
}
