package hpa

import "time"

// MetricValue is a current metric value as written to status.currentMetrics.
// Which fields are meaningful follows the metric's target type, as upstream:
// Utilization targets report AverageUtilization and AverageValue; AverageValue
// targets report AverageValue; Value targets report Value.
type MetricValue struct {
	Value              int64 `json:"value,omitempty"`
	AverageValue       int64 `json:"averageValue,omitempty"`
	AverageUtilization int32 `json:"averageUtilization,omitempty"`
}

// MetricStatus is one entry of status.currentMetrics.
type MetricStatus struct {
	// Spec is the metric this status belongs to (its source, name and target).
	Spec    MetricSpec  `json:"spec"`
	Current MetricValue `json:"current"`
}

// Proposal is one metric's replica proposal and the reason for it.
type Proposal struct {
	// Replicas is the count this metric asks for; meaningful only when Err is nil.
	Replicas int32 `json:"replicas"`
	// Metric describes the metric as upstream names it in events,
	// e.g. "cpu resource utilization (percentage of request)".
	Metric string `json:"metric"`
	// Timestamp is the metric's sample time.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// Status is the metric's current value, for status.currentMetrics.
	Status MetricStatus `json:"status"`
	// Err is why the metric failed; Reason and Message then hold the
	// ScalingActive=False condition upstream would set for it.
	Err     error  `json:"-"`
	Reason  Reason `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Result is the outcome of one evaluation: the number, the reasons, and what a
// controller writes to the HPA status.
type Result struct {
	// CurrentReplicas is the target's spec.replicas the evaluation started from.
	CurrentReplicas int32 `json:"currentReplicas"`
	// DesiredReplicas is the replica count to set (equal to CurrentReplicas when
	// Rescale is false), as status.desiredReplicas.
	DesiredReplicas int32 `json:"desiredReplicas"`
	// Rescale is true when the target should be resized to DesiredReplicas.
	Rescale bool `json:"rescale"`
	// RescaleReason is upstream's event reason text, e.g. "cpu resource
	// utilization (percentage of request) above target" or "All metrics below target".
	RescaleReason string `json:"rescaleReason,omitempty"`
	// Proposals holds one entry per spec metric when metrics were computed.
	Proposals []Proposal `json:"proposals,omitempty"`
	// CurrentMetrics is status.currentMetrics: the statuses of the metrics that
	// were computed, in spec order (failed metrics report an empty status, as upstream).
	CurrentMetrics []MetricStatus `json:"currentMetrics,omitempty"`
	// Conditions are the status conditions this evaluation sets, in the order
	// upstream first sets them, assuming the scale update (if any) succeeds (see
	// RescaleFailed). Conditions it does not set keep their previous value in
	// the HPA status, as upstream (e.g. ScalingActive when current > max).
	Conditions []Condition `json:"conditions"`
	// Stopped is true when the evaluation ended before a decision: a selector
	// problem, every metric failed, a failed metric during a would-be
	// scale-down, or (after RescaleFailed) a failed update. Upstream then
	// leaves status.desiredReplicas as it was; ApplyStatus does the same.
	Stopped bool `json:"stopped,omitempty"`
	// RemoveScaledToZero is true when upstream would delete the ScaledToZero
	// condition (the HPAScaleToZero gate is off).
	RemoveScaledToZero bool `json:"removeScaledToZero,omitempty"`
	// Err is the metric error upstream's reconcile returns: set when some metric
	// failed, also when scaling went ahead on the others.
	Err error `json:"-"`
}

// Condition returns the condition of type t and whether it is present.
func (r *Result) Condition(t ConditionType) (Condition, bool) {
	for _, c := range r.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}
