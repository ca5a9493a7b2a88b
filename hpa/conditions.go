package hpa

// ConditionType names an HPA status condition, spelled as in autoscaling/v2.
type ConditionType string

// HPA condition types.
const (
	AbleToScale    ConditionType = "AbleToScale"
	ScalingActive  ConditionType = "ScalingActive"
	ScalingLimited ConditionType = "ScalingLimited"
	ScaledToZero   ConditionType = "ScaledToZero"
)

// Reason is a machine-readable condition reason, spelled exactly as upstream.
type Reason string

// AbleToScale reasons.
const (
	ReasonSucceededGetScale   Reason = "SucceededGetScale"
	ReasonFailedGetScale      Reason = "FailedGetScale"
	ReasonSucceededRescale    Reason = "SucceededRescale"
	ReasonFailedUpdateScale   Reason = "FailedUpdateScale"
	ReasonReadyForNewScale    Reason = "ReadyForNewScale"
	ReasonScaleDownStabilized Reason = "ScaleDownStabilized"
	ReasonScaleUpStabilized   Reason = "ScaleUpStabilized"
)

// ScalingActive reasons.
const (
	ReasonValidMetricFound                 Reason = "ValidMetricFound"
	ReasonInvalidSelector                  Reason = "InvalidSelector"
	ReasonAmbiguousSelector                Reason = "AmbiguousSelector"
	ReasonFailedGetObjectMetric            Reason = "FailedGetObjectMetric"
	ReasonFailedGetPodsMetric              Reason = "FailedGetPodsMetric"
	ReasonFailedGetResourceMetric          Reason = "FailedGetResourceMetric"
	ReasonFailedGetContainerResourceMetric Reason = "FailedGetContainerResourceMetric"
	ReasonFailedGetExternalMetric          Reason = "FailedGetExternalMetric"
	ReasonInvalidMetricSourceType          Reason = "InvalidMetricSourceType"
	ReasonScalingDisabled                  Reason = "ScalingDisabled"
)

// ScalingLimited reasons.
const (
	ReasonDesiredWithinRange Reason = "DesiredWithinRange"
	ReasonTooFewReplicas     Reason = "TooFewReplicas"
	ReasonTooManyReplicas    Reason = "TooManyReplicas"
	ReasonScaleUpLimit       Reason = "ScaleUpLimit"
	ReasonScaleDownLimit     Reason = "ScaleDownLimit"
)

// ScaledToZero reasons.
const (
	ReasonScaledToZero    Reason = "ScaledToZero"
	ReasonNotScaledToZero Reason = "NotScaledToZero"
)

// Condition is one HPA status condition with upstream's reason and message.
type Condition struct {
	Type    ConditionType   `json:"type"`
	Status  ConditionStatus `json:"status"`
	Reason  Reason          `json:"reason"`
	Message string          `json:"message"`
}
