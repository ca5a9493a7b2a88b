package podscale

import (
	"errors"
	"fmt"
	"time"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/schedule"
)

// ErrInvalidInput wraps every problem Decide finds in its Input.
var ErrInvalidInput = errors.New("invalid pod-scaling input")

// Input is everything one sync decides from.
type Input struct {
	// Config is the controller's --horizontal-pod-autoscaler-* settings,
	// passed to hpa.Evaluate as is; the zero Config stands for
	// hpa.DefaultConfig().
	Config hpa.Config
	// Spec is the HPA spec; nil means no metric-driven scaling (a target
	// driven by its schedule only).
	Spec *hpa.Spec
	// Observation is the target and its metrics now. Without a Spec only Now
	// and SpecReplicas are read.
	Observation hpa.Input
	// Bounds are the schedule's bounds in force now (schedule.State.Bounds);
	// zero when there is no schedule or no rule is in force.
	Bounds schedule.Bounds
	// Policy composes the bounds with the recommendation; "" is
	// schedule.PolicyClamp.
	Policy schedule.Policy
	// Rule names the schedule rule in force, for messages only.
	Rule string
}

// Reason is a machine-readable code for who decided the count.
type Reason string

// Reasons of a Decision. The schedule's codes are schedule's; when the HPA
// stopped, the reason is the condition reason that stopped it (for example
// hpa.ReasonFailedGetResourceMetric), carried as a Reason.
const (
	// ReasonMetrics: the HPA's recommendation stands.
	ReasonMetrics Reason = schedule.ReasonRecommendation
	// ReasonScheduleFloor, ReasonScheduleCeiling, ReasonScheduleOverride: the
	// schedule's bounds changed the recommendation.
	ReasonScheduleFloor    Reason = schedule.ReasonScheduleFloor
	ReasonScheduleCeiling  Reason = schedule.ReasonScheduleCeiling
	ReasonScheduleOverride Reason = schedule.ReasonScheduleOverride
	// ReasonNoSpec: no HPA spec and no bounds in force; the count stands.
	ReasonNoSpec Reason = "NoRecommendation"
	// ReasonFailedCompute: hpa.Evaluate refused the spec or input (EvalErr);
	// the count stands unless bounds move it. Upstream's event reason for
	// a failed replica computation.
	ReasonFailedCompute Reason = "FailedComputeMetricsReplicas"
)

// Decision is the outcome of one sync.
type Decision struct {
	// Current is the target's scale.spec.replicas.
	Current int32 `json:"current"`
	// Recommended is the HPA's count before the schedule: hpa's
	// DesiredReplicas, or Current when there is no spec or the HPA stopped.
	Recommended int32 `json:"recommended"`
	// Desired is the final count; Rescale is Desired != Current.
	Desired int32 `json:"desired"`
	Rescale bool  `json:"rescale"`
	// Reason and Message say who decided Desired and why.
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
	// HPA is the evaluation, adjusted for the schedule, ready for
	// hpa.ApplyStatus; nil without a spec or when Evaluate refused.
	HPA *hpa.Result `json:"hpa,omitempty"`
	// EvalErr is why hpa.Evaluate refused the spec or the input.
	EvalErr error `json:"-"`
	// Schedule is the composition with the bounds; zero when none were in force.
	Schedule schedule.Decision `json:"schedule,omitzero"`

	now      time.Time
	behavior *hpa.Behavior
}

// Decide runs one sync: hpa.Evaluate (recording the recommendation in st,
// as upstream does every sync), then the schedule's bounds. It returns an
// error wrapping ErrInvalidInput, and leaves st untouched, only for an
// input nothing can be decided from: a nil st, a negative replica count,
// an unknown policy or bounds that are negative or crossed. A spec or
// metric problem is not an error of Decide: it is in the Decision.
func Decide(in Input, st *hpa.State) (Decision, error) {
	if err := check(&in, st); err != nil {
		return Decision{}, err
	}
	if in.Config == (hpa.Config{}) {
		in.Config = hpa.DefaultConfig()
	}
	obs := &in.Observation
	d := Decision{Current: obs.SpecReplicas, Recommended: obs.SpecReplicas, Reason: ReasonNoSpec,
		Message: fmt.Sprintf("no HPA spec: the current count of %d stands", obs.SpecReplicas), now: obs.Now}
	if in.Spec != nil {
		d.behavior = in.Spec.Behavior
		r, err := hpa.Evaluate(in.Config, *in.Spec, *obs, st)
		switch {
		case err != nil:
			d.EvalErr = err
			d.Reason, d.Message = ReasonFailedCompute, fmt.Sprintf("the HPA could not be evaluated: %v", err)
		case r.Stopped:
			d.HPA = &r
			d.Reason, d.Message = stopReason(&r)
		default:
			d.HPA = &r
			d.Recommended = r.DesiredReplicas
			d.Reason, d.Message = ReasonMetrics, recommendationMessage(&r)
		}
	}
	d.Desired = d.Recommended
	if !in.Bounds.IsZero() {
		sd, err := schedule.Compose(d.Recommended, in.Bounds, in.Policy)
		if err != nil { // unreachable: check validated policy and bounds, and Recommended is not negative
			return Decision{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
		d.Schedule = sd
		d.Desired = d.Schedule.Replicas
		if d.Schedule.Reason != schedule.ReasonRecommendation {
			d.Reason, d.Message = Reason(d.Schedule.Reason), d.Schedule.Message
			if in.Rule != "" {
				d.Message = fmt.Sprintf("rule %q: %s", in.Rule, d.Message)
			}
		}
	}
	d.Rescale = d.Desired != d.Current
	if d.HPA != nil && d.Desired != d.HPA.DesiredReplicas {
		adjust(d.HPA, &in, &d)
	}
	return d, nil
}

func check(in *Input, st *hpa.State) error {
	if st == nil {
		return fmt.Errorf("%w: nil State", ErrInvalidInput)
	}
	if in.Observation.SpecReplicas < 0 {
		return fmt.Errorf("%w: observation.specReplicas: %d is negative", ErrInvalidInput, in.Observation.SpecReplicas)
	}
	if err := in.Policy.Validate(); err != nil {
		return fmt.Errorf("%w: policy: %w", ErrInvalidInput, err)
	}
	if err := in.Bounds.Validate(); err != nil {
		return fmt.Errorf("%w: bounds: %w", ErrInvalidInput, err)
	}
	return nil
}

// stopReason is the condition that stopped the evaluation: the first False
// condition (ScalingActive for metrics and selectors).
func stopReason(r *hpa.Result) (Reason, string) {
	for _, c := range r.Conditions {
		if c.Status == hpa.ConditionFalse {
			return Reason(c.Reason), c.Message
		}
	}
	return ReasonMetrics, "the HPA kept the current count"
}

func recommendationMessage(r *hpa.Result) string {
	if r.Rescale {
		return fmt.Sprintf("New size: %d; reason: %s", r.DesiredReplicas, r.RescaleReason)
	}
	return fmt.Sprintf("the HPA recommends keeping %d replicas", r.DesiredReplicas)
}

// adjust rewrites the HPA result for a count the schedule changed.
func adjust(r *hpa.Result, in *Input, d *Decision) {
	r.DesiredReplicas = d.Desired
	r.Rescale = d.Rescale
	r.Stopped = false
	r.RescaleReason = d.Message
	if d.Rescale {
		put(r, hpa.Condition{Type: hpa.AbleToScale, Status: hpa.ConditionTrue, Reason: hpa.ReasonSucceededRescale,
			Message: fmt.Sprintf("the HPA controller was able to update the target scale to %d", d.Desired)})
	} else {
		put(r, hpa.Condition{Type: hpa.AbleToScale, Status: hpa.ConditionTrue, Reason: hpa.ReasonReadyForNewScale,
			Message: "recommended size matches current size"})
	}
	put(r, hpa.Condition{Type: hpa.ScalingLimited, Status: hpa.ConditionTrue, Reason: hpa.Reason(d.Reason), Message: d.Message})
	setScaledToZero(r, in, d)
}

// setScaledToZero redoes hpa's ScaledToZero rule for the final count.
func setScaledToZero(r *hpa.Result, in *Input, d *Decision) {
	drop := func() {
		kept := r.Conditions[:0]
		for _, c := range r.Conditions {
			if c.Type != hpa.ScaledToZero {
				kept = append(kept, c)
			}
		}
		r.Conditions = kept
	}
	if !d.Rescale {
		drop() // hpa sets it only on a rescale
		return
	}
	if !in.Config.ScaleToZero {
		drop()
		r.RemoveScaledToZero = true
		return
	}
	minReplicas := int32(1)
	if in.Spec.MinReplicas != nil {
		minReplicas = *in.Spec.MinReplicas
	}
	objExt := false
	for _, m := range in.Spec.Metrics {
		objExt = objExt || m.Type == hpa.ObjectMetric || m.Type == hpa.ExternalMetric
	}
	if d.Current > 0 && d.Desired == 0 && minReplicas == 0 && objExt {
		put(r, hpa.Condition{Type: hpa.ScaledToZero, Status: hpa.ConditionTrue, Reason: hpa.ReasonScaledToZero,
			Message: "the HPA controller scaled the workload to zero"})
	} else {
		put(r, hpa.Condition{Type: hpa.ScaledToZero, Status: hpa.ConditionFalse, Reason: hpa.ReasonNotScaledToZero,
			Message: "the HPA controller did not scale the workload to zero"})
	}
}

func put(r *hpa.Result, c hpa.Condition) {
	for i := range r.Conditions {
		if r.Conditions[i].Type == c.Type {
			r.Conditions[i] = c
			return
		}
	}
	r.Conditions = append(r.Conditions, c)
}

// Succeeded records the resize in st (the scale event behavior policies
// rate-limit on, hpa.State.RecordRescale). Call it after the target was
// resized to d.Desired; it does nothing when d is no rescale.
func (d *Decision) Succeeded(st *hpa.State) {
	if d.Rescale && st != nil {
		st.RecordRescale(d.behavior, d.now, d.Current, d.Desired)
	}
}

// Failed turns d into the outcome of a failed resize: no rescale, Desired
// back to Current, and in the HPA status AbleToScale=False
// FailedUpdateScale (hpa.RescaleFailed). Do not call Succeeded then.
func (d *Decision) Failed(err error) {
	if !d.Rescale {
		return
	}
	if d.HPA != nil {
		hpa.RescaleFailed(d.HPA, err)
	}
	d.Rescale = false
	d.Desired = d.Current
	d.Reason = Reason(hpa.ReasonFailedUpdateScale)
	d.Message = fmt.Sprintf("the target scale could not be updated: %v", err)
}
