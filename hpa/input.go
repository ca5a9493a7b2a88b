package hpa

import (
	"time"
)

// ResourceName names a compute resource, spelled as in Kubernetes ("cpu", "memory", ...).
type ResourceName string

// The resources whose readiness rules differ (see [Pod]).
const (
	ResourceCPU    ResourceName = "cpu"
	ResourceMemory ResourceName = "memory"
)

// Quantity is one resource amount in milli-units (1 CPU = 1000, 1 byte of memory = 1000).
type Quantity struct {
	Name  ResourceName `json:"name"`
	Milli int64        `json:"milli"`
}

// Resources is a small list of resource amounts. It is a slice, not a map, so that
// looking a resource up allocates nothing; a resource absent from the list is
// "not requested".
type Resources []Quantity

// Get returns the amount of name and whether it is present.
func (r Resources) Get(name ResourceName) (int64, bool) {
	for i := range r {
		if r[i].Name == name {
			return r[i].Milli, true
		}
	}
	return 0, false
}

// PodPhase is a pod's lifecycle phase, spelled as in core/v1.
type PodPhase string

// Pod phases.
const (
	PodPending   PodPhase = "Pending"
	PodRunning   PodPhase = "Running"
	PodSucceeded PodPhase = "Succeeded"
	PodFailed    PodPhase = "Failed"
	PodUnknown   PodPhase = "Unknown"
)

// ConditionStatus is the status of a condition: True, False or Unknown.
type ConditionStatus string

// Condition statuses. The zero value ConditionAbsent means the pod has no such condition.
const (
	ConditionAbsent  ConditionStatus = ""
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Container is one container's requests. Sidecars (init containers with
// restartPolicy Always) are listed here too, after the regular containers,
// because upstream sums them with the regular ones; ordinary init containers are
// not listed.
type Container struct {
	Name     string    `json:"name"`
	Requests Resources `json:"requests,omitempty"`
	// Sidecar marks a restartable init container.
	Sidecar bool `json:"sidecar,omitempty"`
}

// Pod is what the HPA needs to know of one pod matched by the target's selector.
type Pod struct {
	Name  string   `json:"name"`
	Phase PodPhase `json:"phase"`
	// Deleting is true when the pod has a deletion timestamp.
	Deleting bool `json:"deleting,omitempty"`
	// Ready is the status of the pod's Ready condition (ConditionAbsent when it has none).
	Ready ConditionStatus `json:"ready,omitempty"`
	// ReadyTransition is the Ready condition's lastTransitionTime.
	ReadyTransition time.Time `json:"readyTransition,omitzero"`
	// StartTime is status.startTime; the zero time means unset.
	StartTime time.Time `json:"startTime,omitzero"`
	// Containers are the regular containers followed by the sidecars.
	Containers []Container `json:"containers,omitempty"`
	// PodRequests are the pod's requests as upstream's HPA reads them when the
	// pod sets pod-level requests (spec.resources.requests) of a supported
	// resource: PodFromV1 fills it with component-helpers' PodRequests (the
	// containers' aggregate, overridden by the pod-level values, plus the
	// overhead), and leaves it empty when no pod-level request is set. It is
	// used when Config.PodLevelResources is on and no container is named; a
	// resource missing from it then fails the metric ("missing pod-level
	// request for <res> in Pod <pod>").
	PodRequests Resources `json:"podRequests,omitempty"`
}

// PodSample is one pod's value of a per-pod metric, as the resource or custom
// metrics API reports it: for a Resource metric the sum over the pod's containers,
// for a ContainerResource metric the named container's value.
type PodSample struct {
	Pod       string        `json:"pod"`
	Value     int64         `json:"value"` // milli-units
	Timestamp time.Time     `json:"timestamp"`
	Window    time.Duration `json:"window"`
}

// MetricSourceType is the kind of a metric source, spelled as in autoscaling/v2.
type MetricSourceType string

// Metric source types.
const (
	ObjectMetric            MetricSourceType = "Object"
	PodsMetric              MetricSourceType = "Pods"
	ResourceMetric          MetricSourceType = "Resource"
	ContainerResourceMetric MetricSourceType = "ContainerResource"
	ExternalMetric          MetricSourceType = "External"
)

// MetricTargetType is how a target is expressed, spelled as in autoscaling/v2.
type MetricTargetType string

// Metric target types.
const (
	UtilizationTarget  MetricTargetType = "Utilization"
	ValueTarget        MetricTargetType = "Value"
	AverageValueTarget MetricTargetType = "AverageValue"
)

// MetricTarget is the target of one metric. A value field is set when it is
// not zero (the API server refuses a set zero, and SpecFromV2 with it).
//
// Which computation runs is chosen as upstream's controller chooses it, by
// the fields that are set, not by Type alone:
//
//   - Resource, ContainerResource: AverageValue set → the raw average-value
//     path; else AverageUtilization set → the utilization path;
//   - Pods: AverageValue;
//   - Object: Type Value with Value set → Value; Type AverageValue with
//     AverageValue set → AverageValue; anything else fails the metric
//     (FailedGetObjectMetric, "neither a value target nor an average value
//     target was set");
//   - External: AverageValue set → AverageValue; else Value set → Value.
type MetricTarget struct {
	Type MetricTargetType `json:"type"`
	// Value is the total target in milli-units (Value targets).
	Value int64 `json:"value,omitempty"`
	// AverageValue is the per-pod target in milli-units (AverageValue targets).
	AverageValue int64 `json:"averageValue,omitempty"`
	// AverageUtilization is the target percentage of the request (Utilization targets).
	AverageUtilization int32 `json:"averageUtilization,omitempty"`
}

// MetricSpec is one entry of spec.metrics.
type MetricSpec struct {
	Type MetricSourceType `json:"type"`
	// Name is the resource name for Resource and ContainerResource metrics, and
	// the metric name for Pods, Object and External metrics.
	Name string `json:"name"`
	// Container is the container of a ContainerResource metric.
	Container string `json:"container,omitempty"`
	// Selector is the metric's label selector (Pods, Object, External) as
	// upstream renders a *metav1.LabelSelector with %+v (SpecFromV2 fills it);
	// empty means none and renders as "nil". Only messages and the status use it.
	Selector string `json:"selector,omitempty"`
	// Object is the described object of an Object metric, kept to be echoed into the status.
	Object ObjectReference `json:"object,omitzero"`
	Target MetricTarget    `json:"target"`
}

// ObjectReference identifies the object an Object metric describes.
type ObjectReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// MetricInput is what was observed for one metric of the spec, at the same index.
type MetricInput struct {
	// Err is set when the metric could not be fetched; the metric then fails with
	// its FailedGet…Metric reason.
	Err error `json:"-"`
	// Samples are the per-pod values of Resource, ContainerResource and Pods
	// metrics. They are matched to Input.Pods by name. Listed in the order of
	// Input.Pods (pods without a sample skipped, samples of unlisted pods last:
	// the layout the converters produce) they are matched in one pass with no
	// allocation; in any other order a name index is built.
	Samples []PodSample `json:"samples,omitempty"`
	// Listed is how many items the resource metrics API returned for a
	// Resource or ContainerResource metric, usable or not
	// (ResourceInputFromMetrics and Converter fill it). Upstream tells "the
	// API returned nothing" ("no metrics returned from resource metrics
	// API") from "it returned pods, none usable for the targeted pods" ("did
	// not receive metrics for targeted pods (pods might be unready)"); with
	// no Samples, Listed > 0 selects the second. 0 is read as "nothing
	// returned" when Samples is empty too.
	Listed int `json:"listed,omitempty"`
	// Value is an Object metric's value in milli-units.
	Value int64 `json:"value,omitempty"`
	// Values are the series an External metric returned, in milli-units; they are summed.
	Values []int64 `json:"values,omitempty"`
	// Timestamp is the time of an Object or External value.
	Timestamp time.Time `json:"timestamp,omitzero"`
}

// Input is one observation of the target and its metrics at one instant.
type Input struct {
	// Now is the instant of the evaluation.
	Now time.Time
	// Namespace is the HPA's namespace; upstream names it in some metric errors.
	Namespace string
	// SpecReplicas is the target's scale.spec.replicas.
	SpecReplicas int32
	// StatusReplicas is the target's scale.status.replicas.
	StatusReplicas int32
	// Pods are the pods the target's selector matches.
	Pods []Pod
	// Metrics holds one entry per Spec.Metrics entry, in the same order.
	Metrics []MetricInput
	// ScaledToZero is true when the HPA's status carries ScaledToZero=True
	// (only read when Config.ScaleToZero is on).
	ScaledToZero bool
	// SelectorErr reports a problem with the target's selector: an error wrapping
	// ErrInvalidSelector or ErrAmbiguousSelector stops the evaluation with
	// ScalingActive=False and that reason.
	SelectorErr error
}

// Spec is the part of an HPA spec the arithmetic reads.
type Spec struct {
	// MinReplicas defaults to 1 when nil.
	MinReplicas *int32       `json:"minReplicas,omitempty"`
	MaxReplicas int32        `json:"maxReplicas"`
	Metrics     []MetricSpec `json:"metrics,omitempty"`
	// Behavior selects the behavior path when non-nil. Evaluate applies the API
	// server's defaults to unset fields (see DefaultBehavior).
	Behavior *Behavior `json:"behavior,omitempty"`
}

// DefaultCPUUtilization is the cpu utilization target (percent of request)
// the API server gives an HPA created without metrics.
const DefaultCPUUtilization = 80

// DefaultMetrics returns the metric list the API server gives an HPA whose
// spec.metrics is empty: one Resource metric, cpu, Utilization at
// DefaultCPUUtilization. SpecFromV2 and Evaluate apply it.
func DefaultMetrics() []MetricSpec {
	return []MetricSpec{{Type: ResourceMetric, Name: string(ResourceCPU),
		Target: MetricTarget{Type: UtilizationTarget, AverageUtilization: DefaultCPUUtilization}}}
}

// Behavior is spec.behavior.
type Behavior struct {
	ScaleUp   *ScalingRules `json:"scaleUp,omitempty"`
	ScaleDown *ScalingRules `json:"scaleDown,omitempty"`
}

// SelectPolicy chooses among several policies' limits.
type SelectPolicy string

// Select policies, spelled as in autoscaling/v2.
const (
	MaxChangePolicySelect SelectPolicy = "Max"
	MinChangePolicySelect SelectPolicy = "Min"
	DisabledPolicySelect  SelectPolicy = "Disabled"
)

// PolicyType is the unit of a scaling policy.
type PolicyType string

// Policy types, spelled as in autoscaling/v2.
const (
	PodsScalingPolicy    PolicyType = "Pods"
	PercentScalingPolicy PolicyType = "Percent"
)

// Policy allows a change of Value pods (or percent) per PeriodSeconds.
type Policy struct {
	Type          PolicyType `json:"type"`
	Value         int32      `json:"value"`
	PeriodSeconds int32      `json:"periodSeconds"`
}

// ScalingRules is one direction of spec.behavior. Nil fields take the defaults
// of DefaultBehavior.
type ScalingRules struct {
	StabilizationWindowSeconds *int32        `json:"stabilizationWindowSeconds,omitempty"`
	SelectPolicy               *SelectPolicy `json:"selectPolicy,omitempty"`
	Policies                   []Policy      `json:"policies,omitempty"`
	// Tolerance overrides Config.Tolerance for this direction when
	// Config.ConfigurableTolerance is on; nil means the cluster default.
	Tolerance *float64 `json:"tolerance,omitempty"`
}
