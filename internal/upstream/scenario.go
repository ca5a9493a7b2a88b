package upstream

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	cmapi "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emapi "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Flags are the kube-controller-manager --horizontal-pod-autoscaler-* flags
// that the arithmetic reads.
type Flags struct {
	Tolerance                    float64
	DownscaleStabilizationWindow time.Duration
	CPUInitializationPeriod      time.Duration
	InitialReadinessDelay        time.Duration
}

// Rec is one stored recommendation; Event one stored scale event. Ago is
// how long before Scenario.Base it was stored.
type Rec struct {
	Replicas int32
	Ago      time.Duration
}

// Event is one stored scale event.
type Event struct {
	Change   int32
	Ago      time.Duration
	Outdated bool
}

// Scenario is everything one reconcile reads, as Kubernetes objects.
type Scenario struct {
	Seed  int64
	Flags Flags
	// Base is the instant the scenario's times are relative to; kscale
	// evaluates at Base, upstream at its own time.Now() a little later.
	Base time.Time
	HPA  *autoscalingv2.HorizontalPodAutoscaler
	// SpecReplicas and StatusReplicas are the target's scale subresource.
	SpecReplicas, StatusReplicas int32
	Selector                     string
	// Ambiguous puts a second HPA ("web-b") over the same pods into the
	// controller's selector tracker.
	Ambiguous bool
	Pods      []*corev1.Pod
	// PodMetrics is the resource metrics API's answer; PodMetricsErr makes
	// it fail.
	PodMetrics    []metricsapi.PodMetrics
	PodMetricsErr bool
	// Custom holds the Pods metrics by name (an absent name fails), Object
	// the Object metrics by name (absent fails), External the External
	// metrics by name (absent fails).
	Custom   map[string][]cmapi.MetricValue
	Object   map[string]cmapi.MetricValue
	External map[string][]emapi.ExternalMetricValue
	// History is the controller's memory of this HPA before the reconcile;
	// HasHistory false means a fresh controller.
	HasHistory bool
	// Absurd marks a scenario with a usage sample so large (9e15 cores)
	// that upstream's int64 sums and int32 conversions wrap.
	Absurd   bool
	Recs     []Rec
	Up, Down []Event
}

// Outcome is what one reconcile produced.
type Outcome struct {
	Status  autoscalingv2.HorizontalPodAutoscalerStatus
	Rescale bool  // the target's scale was updated
	Scale   int32 // the replicas written to the scale, when Rescale
	Recs    []Rec
	Up      []Event
	Down    []Event
	// Err is the reconcile's error (upstream) or Evaluate's (kscale).
	Err error
}
