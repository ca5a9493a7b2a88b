package hpa

import (
	"errors"
	"fmt"
	"math"
)

// metricReplicas computes one metric's replica proposal: upstream's
// computeReplicasForMetric with the ReplicaCalculator behind it. c is
// defaulted; tol is the evaluation's dead band.
func metricReplicas(c *Config, tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input) Proposal {
	switch spec.Type {
	case ResourceMetric, ContainerResourceMetric:
		return resourceProposal(c, tol, spec, m, in)
	case PodsMetric:
		return podsProposal(c, tol, spec, m, in)
	case ObjectMetric:
		return objectProposal(tol, spec, m, in)
	case ExternalMetric:
		return externalProposal(tol, spec, m, in)
	}
	err := fmt.Errorf("unknown metric source type %q", string(spec.Type))
	return failed(ReasonInvalidMetricSourceType, err, err)
}

// failed is a failed proposal: cause goes into the ScalingActive message, err
// (cause wrapped as upstream wraps it) into Proposal.Err. The status stays
// empty, as upstream leaves a failed metric's entry of currentMetrics.
func failed(reason Reason, cause, err error) Proposal {
	return Proposal{Err: err, Reason: reason, Message: "the HPA was unable to compute the replica count: " + cause.Error()}
}

func selectorText(s string) string {
	if s == "" {
		return "nil"
	}
	return s
}

// clampInt32 converts a ceil'ed float to int32, saturating instead of
// wrapping (upstream's bare int32() conversion of an out-of-range float is
// undefined; its Object and External paths clamp like this).
func clampInt32(f float64) int32 {
	switch {
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	case f != f: // NaN
		return 0
	}
	return int32(f)
}

// targetPath is the computation upstream's controller runs for a metric.
type targetPath uint8

const (
	pathNone targetPath = iota
	pathUtilization
	pathAverageValue
	pathValue
)

// path chooses the computation the way upstream's computeStatusFor…Metric
// functions do: by the target fields that are set (see MetricTarget).
func (m *MetricSpec) path() targetPath {
	t := &m.Target
	switch m.Type {
	case ResourceMetric, ContainerResourceMetric:
		if t.AverageValue != 0 {
			return pathAverageValue
		}
		if t.AverageUtilization != 0 {
			return pathUtilization
		}
	case PodsMetric:
		if t.AverageValue != 0 {
			return pathAverageValue
		}
	case ObjectMetric:
		if t.Type == ValueTarget && t.Value != 0 {
			return pathValue
		}
		if t.Type == AverageValueTarget && t.AverageValue != 0 {
			return pathAverageValue
		}
	case ExternalMetric:
		if t.AverageValue != 0 {
			return pathAverageValue
		}
		if t.Value != 0 {
			return pathValue
		}
	}
	return pathNone
}

func resourceProposal(c *Config, tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input) Proposal {
	res := ResourceName(spec.Name)
	fail := func(err error) Proposal {
		if spec.Type == ContainerResourceMetric {
			return failed(ReasonFailedGetContainerResourceMetric, err, fmt.Errorf("failed to get %s container metric value: %w", spec.Container, err))
		}
		return failed(ReasonFailedGetResourceMetric, err, fmt.Errorf("failed to get %s resource metric value: %w", spec.Name, err))
	}
	var r calcResult
	var err error
	var name string
	switch spec.path() {
	case pathAverageValue:
		if r, err = rawResourceReplicas(c, tol, spec, m, in, res); err != nil {
			return fail(fmt.Errorf("failed to get %s usage: %w", res, err))
		}
		name = spec.Name + " resource"
	case pathUtilization:
		if r, err = utilizationReplicas(c, tol, spec, m, in, res); err != nil {
			return fail(fmt.Errorf("failed to get %s utilization: %w", res, err))
		}
		name = spec.Name + " resource utilization (percentage of request)"
		if spec.Type == ContainerResourceMetric {
			name = spec.Name + " container resource utilization (percentage of request)"
		}
	default:
		return fail(errors.New("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set"))
	}
	p := Proposal{Replicas: r.replicas, Metric: name, Status: MetricStatus{Spec: *spec}}
	p.Status.Current.AverageValue = r.raw
	p.Status.Current.AverageUtilization = r.utilization
	if len(m.Samples) > 0 {
		p.Timestamp = m.Samples[0].Timestamp
	}
	return p
}

func podsProposal(c *Config, tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input) Proposal {
	fail := func(err error) Proposal {
		return failed(ReasonFailedGetPodsMetric, err, fmt.Errorf("failed to get pods metric value: %w", err))
	}
	if spec.path() != pathAverageValue {
		return fail(errors.New("invalid pods metric source: the target must be an average value"))
	}
	switch {
	case m.Err != nil:
		return fail(fmt.Errorf("unable to get metric %s: %w", spec.Name, m.Err))
	case len(m.Samples) == 0:
		return fail(fmt.Errorf("unable to get metric %s: %w", spec.Name, errNoCustomMetrics))
	}
	r, err := plainReplicas(c, tol, m, in, "", spec.Target.AverageValue)
	if err != nil {
		return fail(err)
	}
	p := Proposal{Replicas: r.replicas, Metric: "pods metric " + spec.Name, Status: MetricStatus{Spec: *spec}}
	p.Status.Current.AverageValue = r.raw
	if len(m.Samples) > 0 {
		p.Timestamp = m.Samples[0].Timestamp
	}
	return p
}

func objectProposal(tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input) Proposal {
	fail := func(cause, err error) Proposal {
		return failed(ReasonFailedGetObjectMetric, cause, fmt.Errorf("failed to get object metric value: %w", err))
	}
	var fetchErr error
	if m.Err != nil {
		fetchErr = fmt.Errorf("unable to get metric %s on %s %s/%s: %w", spec.Name, spec.Object.Kind, in.Namespace, spec.Object.Name, m.Err)
	}
	p := Proposal{Timestamp: m.Timestamp, Status: MetricStatus{Spec: *spec}}
	switch spec.path() {
	case pathValue:
		if fetchErr != nil {
			return fail(fetchErr, fetchErr)
		}
		n, err := valueReplicas(tol, in, float64(m.Value)/float64(spec.Target.Value))
		if err != nil {
			return fail(err, err)
		}
		p.Replicas, p.Status.Current.Value = n, m.Value
		p.Metric = fmt.Sprintf("%s metric %s", spec.Object.Kind, spec.Name)
	case pathAverageValue:
		if fetchErr != nil {
			return fail(fetchErr, fmt.Errorf("failed to get %s object metric: %w", spec.Name, fetchErr))
		}
		p.Replicas, p.Status.Current.AverageValue = perPodReplicas(tol, in.StatusReplicas, m.Value, spec.Target.AverageValue)
		// Upstream names this proposal like an external metric; kept for exactness.
		p.Metric = fmt.Sprintf("external metric %s(%s)", spec.Name, selectorText(spec.Selector))
	default:
		err := errors.New("invalid object metric source: neither a value target nor an average value target was set")
		return fail(err, err)
	}
	return p
}

func externalProposal(tol Tolerances, spec *MetricSpec, m *MetricInput, in *Input) Proposal {
	outer := fmt.Sprintf("failed to get %s external metric value", spec.Name)
	fail := func(cause, err error) Proposal {
		return failed(ReasonFailedGetExternalMetric, cause, fmt.Errorf("%s: %w", outer, err))
	}
	cause := m.Err
	if cause == nil && len(m.Values) == 0 {
		cause = errNoExternalMetrics
	}
	var fetchErr error
	if cause != nil {
		fetchErr = fmt.Errorf("unable to get external metric %s/%s/%s: %w", in.Namespace, spec.Name, selectorText(spec.Selector), cause)
	}
	p := Proposal{Timestamp: m.Timestamp, Status: MetricStatus{Spec: *spec},
		Metric: fmt.Sprintf("external metric %s(%s)", spec.Name, selectorText(spec.Selector))}
	switch spec.path() {
	case pathAverageValue:
		if fetchErr != nil {
			return fail(fetchErr, fmt.Errorf("failed to get %s external metric: %w", spec.Name, fetchErr))
		}
		usage := perPodSum(m.Values)
		p.Replicas, p.Status.Current.AverageValue = perPodReplicas(tol, in.StatusReplicas, usage, spec.Target.AverageValue)
		if float64(usage) >= float64(math.MaxInt64) {
			// Upstream's GetExternalPerPodMetricReplicas reports the capped
			// sum itself, whatever the replica count.
			p.Status.Current.AverageValue = math.MaxInt64
		}
	case pathValue:
		usage := valueSum(m.Values)
		if fetchErr != nil {
			return fail(fetchErr, fmt.Errorf("failed to get external metric %s: %w", spec.Name, fetchErr))
		}
		n, err := valueReplicas(tol, in, float64(usage)/float64(spec.Target.Value))
		if err != nil {
			return fail(err, fmt.Errorf("failed to get external metric %s: %w", spec.Name, err))
		}
		p.Replicas, p.Status.Current.Value = n, usage
	default:
		err := errors.New("invalid external metric source: neither a value target nor an average value target was set")
		return fail(err, err)
	}
	return p
}

// valueSum adds the series of an External Value metric as upstream's
// GetExternalMetricReplicas does: a positive overflow caps the sum at
// MaxInt64 and stops the addition. A negative overflow, which upstream lets
// wrap, saturates at MinInt64.
func valueSum(vs []int64) int64 {
	var sum int64
	for _, v := range vs {
		if v > 0 && sum > math.MaxInt64-v {
			return math.MaxInt64
		}
		if v < 0 && sum < math.MinInt64-v {
			sum = math.MinInt64
			continue
		}
		sum += v
	}
	return sum
}

// perPodSum adds the series of an External AverageValue metric as
// upstream's GetExternalPerPodMetricReplicas does: a running sum below zero
// is taken as an overflow, so the sum becomes MaxInt64 and the addition
// stops (negative values therefore count as MaxInt64 there).
func perPodSum(vs []int64) int64 {
	var sum int64
	for _, v := range vs {
		sum += v // wraps like upstream's; a wrapped sum is negative and caught
		if sum < 0 {
			return math.MaxInt64
		}
	}
	return sum
}

// valueReplicas is upstream's getUsageRatioReplicaCount (Object and External
// Value targets): from zero, ceil(ratio) with no tolerance; otherwise the
// ratio times the pods that are Running and Ready.
func valueReplicas(tol Tolerances, in *Input, ratio float64) (int32, error) {
	current := in.SpecReplicas
	if current == 0 {
		return clampInt32(math.Ceil(ratio)), nil
	}
	if tol.isWithin(ratio) {
		return current, nil
	}
	if len(in.Pods) == 0 {
		return 0, errors.New("unable to calculate ready pods: no pods returned by selector while calculating replica count")
	}
	ready := 0
	for i := range in.Pods {
		if in.Pods[i].Phase == PodRunning && in.Pods[i].Ready == ConditionTrue {
			ready++
		}
	}
	return clampInt32(math.Ceil(ratio * float64(ready))), nil
}

// perPodReplicas is the AverageValue path of Object and External metrics:
// the usage spread over statusReplicas, and the reported per-pod average.
func perPodReplicas(tol Tolerances, statusReplicas int32, usage, target int64) (int32, int64) {
	replicas := statusReplicas
	ratio := float64(usage) / (float64(target) * float64(statusReplicas))
	if !tol.isWithin(ratio) {
		replicas = clampInt32(math.Ceil(float64(usage) / float64(target)))
	}
	if statusReplicas == 0 {
		return replicas, 0
	}
	avg := math.Ceil(float64(usage) / float64(statusReplicas))
	if avg >= math.MaxInt64 {
		return replicas, math.MaxInt64
	}
	return replicas, int64(avg)
}
