package cluster

import (
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	custommetricsv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetricsv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kscale/kscale/hpa"
)

// The custom and external metrics the service model publishes.
const (
	// MetricRequestsPerSecond is a Pods metric (each ready pod's share of
	// the load), or an Object or External metric (the whole load).
	MetricRequestsPerSecond = "requests_per_second"
	// MetricQueueLength is an External metric: the requests waiting when
	// Service.QueueServiceRate is set.
	MetricQueueLength = "queue_length"
	// AppContainer is the name of the simulated pods' one container, for
	// ContainerResource metrics.
	AppContainer = "app"
)

// metricKind is how one HPA metric is observed.
type metricKind int

const (
	mkCPU           metricKind = iota // Resource cpu: the per-pod CPU samples
	mkResource                        // Resource memory, ContainerResource: metrics.k8s.io PodMetrics
	mkPodsRPS                         // Pods requests_per_second: custom.metrics.k8s.io
	mkObjectRPS                       // Object requests_per_second: custom.metrics.k8s.io
	mkExternalRPS                     // External requests_per_second: external.metrics.k8s.io
	mkExternalQueue                   // External queue_length
)

// unsimulated says why the simulator cannot observe m for w ("" when it
// can).
func unsimulated(m *hpa.MetricSpec, w *Workload) string {
	switch m.Type {
	case hpa.ResourceMetric, hpa.ContainerResourceMetric:
		if m.Name != string(hpa.ResourceCPU) && m.Name != string(hpa.ResourceMemory) {
			return fmt.Sprintf("%s metric on %q is not simulated (cpu and memory are)", m.Type, m.Name)
		}
		if m.Type == hpa.ContainerResourceMetric && m.Container != AppContainer {
			return fmt.Sprintf("container %q: the simulated pods have one container, %q", m.Container, AppContainer)
		}
	case hpa.PodsMetric, hpa.ObjectMetric:
		if m.Name != MetricRequestsPerSecond {
			return fmt.Sprintf("%s metric %q is not simulated (%s is)", m.Type, m.Name, MetricRequestsPerSecond)
		}
	case hpa.ExternalMetric:
		switch m.Name {
		case MetricRequestsPerSecond:
		case MetricQueueLength:
			if w.Service.QueueServiceRate <= 0 {
				return fmt.Sprintf("External metric %q needs service.queueServiceRate", m.Name)
			}
		default:
			return fmt.Sprintf("External metric %q is not simulated (%s and %s are)", m.Name, MetricRequestsPerSecond, MetricQueueLength)
		}
	default:
		return fmt.Sprintf("metric type %q is not simulated", m.Type)
	}
	return ""
}

func kindOf(m *hpa.MetricSpec) metricKind {
	switch {
	case m.Type == hpa.ResourceMetric && m.Name == string(hpa.ResourceCPU):
		return mkCPU
	case m.Type == hpa.ResourceMetric || m.Type == hpa.ContainerResourceMetric:
		return mkResource
	case m.Type == hpa.PodsMetric:
		return mkPodsRPS
	case m.Type == hpa.ObjectMetric:
		return mkObjectRPS
	case m.Name == MetricQueueLength:
		return mkExternalQueue
	}
	return mkExternalRPS
}

// workloadColumns names a workload's series: the five every workload has,
// then memory when its service models memory or its HPA reads it, requests
// per second per pod when its HPA reads that, and the queue when it has
// one.
func workloadColumns(w *Workload) []string {
	cols := []string{"load", "desired", "ready", "pending", "utilization"}
	mem, rps := w.Service.BaseMemory != "" || w.Service.MemoryPerRequest != "" || w.Service.MemoryGrowthPerHour != "", false
	if w.HPA != nil {
		for _, m := range w.HPA.Metrics {
			if m.Resource != nil && m.Resource.Name == corev1.ResourceMemory || m.ContainerResource != nil && m.ContainerResource.Name == corev1.ResourceMemory {
				mem = true
			}
			if m.Pods != nil {
				rps = true
			}
		}
	}
	if mem {
		cols = append(cols, "memory")
	}
	if rps {
		cols = append(cols, "rpsPerPod")
	}
	if w.Service.QueueServiceRate > 0 {
		cols = append(cols, "queue")
	}
	return cols
}

// rpsShare is each ready pod's share of the load.
func rpsShare(load float64, ready int) float64 {
	if ready == 0 {
		return 0
	}
	return load / float64(ready)
}

// memoryOf is a bound pod's memory use in bytes at now: base, in-flight
// requests, growth since it started.
func (w *wl) memoryOf(p *pod, ready bool, share float64, now int64) int64 {
	m := float64(w.memBase)
	if ready {
		m += float64(w.memPerReq) * share
	}
	if p.bound >= 0 && now > p.bound {
		m += float64(w.memLeak) * float64(now-p.bound) / 3600
	}
	return int64(math.Min(m, maxBytes*4))
}

func milliQty(v float64) resource.Quantity {
	return *resource.NewMilliQuantity(int64(math.Round(math.Min(v, maxMetric)*1000)), resource.DecimalSI)
}

// fillMetrics builds the HPA's metric inputs for this sync the way the
// controller's metrics clients read them: CPU samples per pod; memory and
// container metrics as a metrics.k8s.io PodMetrics listing, Pods metrics
// as custom.metrics.k8s.io values, Object and External metrics as their
// API values, each through hpa's converters. share is a ready pod's CPU
// use in milli-CPU.
func (s *sim) fillMetrics(w *wl, now time.Time, load float64, share int64) []hpa.MetricInput {
	if w.metrics == nil {
		w.metrics = make([]hpa.MetricInput, len(w.hpaSpec.Metrics))
	}
	ready := w.nready
	rps := rpsShare(load, ready)
	var podMetrics []metricsv1beta1.PodMetrics // built once, when some metric needs it
	for i := range w.hpaSpec.Metrics {
		m := &w.hpaSpec.Metrics[i]
		in := &w.metrics[i]
		*in = hpa.MetricInput{}
		switch w.kinds[i] {
		case mkCPU:
			for j, p := range w.pods {
				sm := &w.samples[j]
				sm.Timestamp = now
				switch {
				case p.bound < 0:
					sm.Value = 0 // ignored: the pod is pending
				case w.hpods[j].Ready == hpa.ConditionTrue:
					sm.Value = share
				default:
					sm.Value = w.base
				}
			}
			in.Samples = w.samples
		case mkResource:
			if podMetrics == nil {
				podMetrics = make([]metricsv1beta1.PodMetrics, 0, len(w.pods))
				for j, p := range w.pods {
					if p.bound < 0 {
						continue // metrics-server has nothing for a pod not started
					}
					isReady := w.hpods[j].Ready == hpa.ConditionTrue
					cpu := w.base
					if isReady {
						cpu = share
					}
					podMetrics = append(podMetrics, metricsv1beta1.PodMetrics{
						ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: "default"},
						Timestamp:  metav1.NewTime(now), Window: metav1.Duration{Duration: time.Minute},
						Containers: []metricsv1beta1.ContainerMetrics{{Name: AppContainer, Usage: corev1.ResourceList{
							corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
							corev1.ResourceMemory: *resource.NewQuantity(w.memoryOf(p, isReady, rps, s.now), resource.BinarySI),
						}}},
					})
				}
			}
			in.Samples = hpa.PodSamplesFromMetrics(w.hpods, podMetrics, hpa.ResourceName(m.Name), m.Container)
		case mkPodsRPS:
			list := make([]custommetricsv1beta2.MetricValue, 0, len(w.pods))
			for j, p := range w.pods {
				if p.bound < 0 {
					continue
				}
				v := 0.0
				if w.hpods[j].Ready == hpa.ConditionTrue {
					v = rps
				}
				list = append(list, custommetricsv1beta2.MetricValue{
					DescribedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: p.name},
					Metric:          custommetricsv1beta2.MetricIdentifier{Name: m.Name},
					Timestamp:       metav1.NewTime(now), Value: milliQty(v)})
			}
			in.Samples = hpa.PodSamplesFromCustomMetrics(list)
		case mkObjectRPS:
			*in = hpa.ObjectInputFromCustomMetric(custommetricsv1beta2.MetricValue{
				DescribedObject: corev1.ObjectReference{Kind: m.Object.Kind, Name: m.Object.Name, APIVersion: m.Object.APIVersion},
				Metric:          custommetricsv1beta2.MetricIdentifier{Name: m.Name},
				Timestamp:       metav1.NewTime(now), Value: milliQty(load)})
		case mkExternalRPS, mkExternalQueue:
			v := load
			if w.kinds[i] == mkExternalQueue {
				v = w.queue
			}
			*in = hpa.ExternalInputFromMetrics([]externalmetricsv1beta1.ExternalMetricValue{{
				MetricName: m.Name, Timestamp: metav1.NewTime(now), Value: milliQty(v)}})
		}
	}
	return w.metrics
}

// stepQueue advances w's queue by one second: the load arrives, each ready
// pod serves QueueServiceRate.
func (s *sim) stepQueue(w *wl, load float64) {
	if w.qrate <= 0 {
		return
	}
	w.queue = math.Max(0, w.queue+load-float64(w.nready)*w.qrate)
	w.queue = math.Min(w.queue, maxMetric)
}

// meanMemory is the ready pods' mean memory use, MiB.
func (s *sim) meanMemory(w *wl, load float64) float64 {
	if w.nready == 0 {
		return 0
	}
	rps := rpsShare(load, w.nready)
	var sum float64
	for j, p := range w.pods {
		if w.hpods[j].Ready == hpa.ConditionTrue {
			sum += float64(w.memoryOf(p, true, rps, s.now))
		}
	}
	return sum / float64(w.nready) / (1 << 20)
}
