package hpa

import (
	"fmt"
)

// Upstream's rescale reasons for events.
const (
	reasonAboveMax = "Current number of replicas above Spec.MaxReplicas"
	reasonBelowMin = "Current number of replicas below Spec.MinReplicas"
	reasonAllBelow = "All metrics below target"
)

// Evaluate runs one reconcile of an HPA the way kube-controller-manager does:
// it classifies pods, computes each metric's proposal, takes the maximum,
// applies the invalid-metrics rule, normalizes (legacy or behavior path),
// clamps to [min, max] and sets the conditions.
//
// st is the HPA's memory; Evaluate records the new recommendation in it. It
// does not record a scale event: after the target was successfully resized to
// Result.DesiredReplicas, call st.RecordRescale (or RescaleFailed on the
// Result when the update failed). Evaluate reads no clock: in.Now is the instant.
//
// A spec without metrics is evaluated with the API server's default,
// DefaultMetrics (cpu utilization at 80 %), whose samples are then
// in.Metrics[0]. A Config that fails its checks (ErrInvalidConfig), a spec
// whose replica range or metrics Validate rejects (ErrInvalidSpec), a nil st
// or an Input whose Metrics do not match the spec's (ErrInvalidInput) return
// an error and leave st untouched; Evaluate never panics. The behavior is not
// validated: it is applied as upstream's controller applies it (an empty
// policy list blocks that direction); call Validate to check it. Metric
// failures are not errors of Evaluate: they are reported in Result.Err, the
// proposals and the conditions, as upstream.
func Evaluate(cfg Config, spec Spec, in Input, st *State) (Result, error) {
	if len(spec.Metrics) == 0 {
		// The API server defaults an empty metric list to cpu at 80 %.
		spec.Metrics = DefaultMetrics()
		if len(in.Metrics) == 0 {
			return Result{}, fmt.Errorf("%w: the spec has no metrics, so the API server's default (cpu utilization 80%%) applies: pass its samples as Input.Metrics[0]", ErrInvalidInput)
		}
	}
	if err := checkEvaluate(&cfg, &spec, &in, st); err != nil {
		return Result{}, err
	}
	e := evaluation{cfg: &cfg, spec: &spec, in: &in, st: st}
	e.run()
	return e.res, nil
}

func checkEvaluate(cfg *Config, spec *Spec, in *Input, st *State) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("%w: nil State", ErrInvalidInput)
	}
	if len(in.Metrics) != len(spec.Metrics) {
		return fmt.Errorf("%w: %d metric inputs for %d metrics", ErrInvalidInput, len(in.Metrics), len(spec.Metrics))
	}
	if in.SpecReplicas < 0 || in.StatusReplicas < 0 {
		return fmt.Errorf("%w: negative replica count (spec %d, status %d)", ErrInvalidInput, in.SpecReplicas, in.StatusReplicas)
	}
	return validate(*spec, *cfg, false)
}

// evaluation holds one Evaluate call's working values.
type evaluation struct {
	cfg  *Config
	spec *Spec
	in   *Input
	st   *State
	res  Result
}

func (e *evaluation) run() {
	in, spec := e.in, e.spec
	current := in.SpecReplicas
	e.res.CurrentReplicas = current
	e.setCondition(AbleToScale, ConditionTrue, ReasonSucceededGetScale, "the HPA controller was able to get the target's current scale")
	e.st.observe(in.Now, current)

	minReplicas := int32(1)
	if spec.MinReplicas != nil {
		minReplicas = *spec.MinReplicas
	}
	hasObjExt := hasObjectOrExternal(spec.Metrics)
	scaledToZero := e.cfg.ScaleToZero && in.ScaledToZero

	var desired int32
	reason := ""
	compute := true
	switch {
	case current == 0:
		if !((minReplicas != 0 && scaledToZero) || (scaledToZero && hasObjExt)) {
			// A target scaled to zero by hand pauses the HPA.
			compute = false
			e.setCondition(ScalingActive, ConditionFalse, ReasonScalingDisabled, "scaling is disabled since the replica count of the target is zero")
			if !e.cfg.ScaleToZero {
				e.res.RemoveScaledToZero = true
			}
			e.finish(current, 0, false, "")
			return
		}
	case current > spec.MaxReplicas:
		reason, desired, compute = reasonAboveMax, spec.MaxReplicas, false
	case current < minReplicas:
		reason, desired, compute = reasonBelowMin, minReplicas, false
	}

	if compute {
		metricDesired, metricName, ok := e.computeMetrics(current)
		if !ok {
			e.res.Stopped = true
			e.res.DesiredReplicas = current
			return
		}
		rescaleMetric := ""
		if metricDesired > desired {
			desired, rescaleMetric = metricDesired, metricName
		}
		if desired > current {
			reason = rescaleMetric + " above target"
		}
		if desired < current {
			reason = reasonAllBelow
		}
		var n normalized
		if spec.Behavior == nil {
			n = normalizeLegacy(e.cfg, e.st, in.Now, current, desired, minReplicas, spec.MaxReplicas)
		} else {
			n = normalizeWithBehavior(e.cfg, DefaultBehavior(spec.Behavior), e.st, in.Now, current, desired, minReplicas, spec.MaxReplicas)
		}
		e.putCondition(n.AbleToScale)
		e.putCondition(n.ScalingLimited)
		desired = n.Replicas
		if current == 0 && minReplicas != 0 && scaledToZero && desired < minReplicas {
			desired = minReplicas
			if reason == "" {
				reason = reasonBelowMin
			}
		}
	}
	e.finish(current, desired, desired != current, reason)
	if e.res.Rescale {
		e.setScaledToZero(current, desired, minReplicas, hasObjExt)
	}
}

// finish records the decision and, for a rescale, the AbleToScale condition a
// successful update sets.
func (e *evaluation) finish(current, desired int32, rescale bool, reason string) {
	e.res.Rescale = rescale
	e.res.RescaleReason = reason
	if !rescale {
		e.res.DesiredReplicas = current
		return
	}
	e.res.DesiredReplicas = desired
	e.setCondition(AbleToScale, ConditionTrue, ReasonSucceededRescale, fmt.Sprintf("the HPA controller was able to update the target scale to %d", desired))
}

func (e *evaluation) setScaledToZero(current, desired, minReplicas int32, hasObjExt bool) {
	if !e.cfg.ScaleToZero {
		e.res.RemoveScaledToZero = true
		return
	}
	if current > 0 && desired == 0 && minReplicas == 0 && hasObjExt {
		e.setCondition(ScaledToZero, ConditionTrue, ReasonScaledToZero, "the HPA controller scaled the workload to zero")
	} else {
		e.setCondition(ScaledToZero, ConditionFalse, ReasonNotScaledToZero, "the HPA controller did not scale the workload to zero")
	}
}

// computeMetrics is upstream's computeReplicasForMetrics: the maximum of the
// valid proposals, or ok=false when the evaluation must stop (selector
// problem, every metric failed, or a failed metric during a scale-down).
func (e *evaluation) computeMetrics(current int32) (replicas int32, metric string, ok bool) {
	if e.in.SelectorErr != nil {
		e.putCondition(selectorCondition(e.in.SelectorErr))
		e.res.Err = e.in.SelectorErr
		return 0, "", false
	}
	n := len(e.spec.Metrics)
	e.res.Proposals = make([]Proposal, n)
	e.res.CurrentMetrics = make([]MetricStatus, n)
	tol := e.cfg.tolerances(e.spec.Behavior)
	invalid := 0
	var first *Proposal
	for i := range e.spec.Metrics {
		p := &e.res.Proposals[i]
		*p = metricReplicas(e.cfg, tol, &e.spec.Metrics[i], &e.in.Metrics[i], e.in)
		e.res.CurrentMetrics[i] = p.Status
		if p.Err != nil {
			if invalid == 0 {
				first = p
			}
			invalid++
			continue
		}
		if replicas == 0 || p.Replicas > replicas {
			replicas, metric = p.Replicas, p.Metric
		}
	}
	if invalid > 0 {
		e.res.Err = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %w", invalid, n, first.Err)
	}
	if first != nil && (invalid >= n || replicas < e.in.SpecReplicas) {
		e.putCondition(Condition{Type: ScalingActive, Status: ConditionFalse, Reason: first.Reason, Message: first.Message})
		return 0, "", false
	}
	e.setCondition(ScalingActive, ConditionTrue, ReasonValidMetricFound, "the HPA was able to successfully calculate a replica count from "+metric)
	return replicas, metric, true
}

func (e *evaluation) setCondition(t ConditionType, s ConditionStatus, r Reason, msg string) {
	e.putCondition(Condition{Type: t, Status: s, Reason: r, Message: msg})
}

// putCondition sets c like upstream's setConditionInList: in place when the
// type is already present, appended otherwise, so the order is the order in
// which the types were first set.
func (e *evaluation) putCondition(c Condition) {
	for i := range e.res.Conditions {
		if e.res.Conditions[i].Type == c.Type {
			e.res.Conditions[i] = c
			return
		}
	}
	if e.res.Conditions == nil {
		e.res.Conditions = make([]Condition, 0, 4)
	}
	e.res.Conditions = append(e.res.Conditions, c)
}

func hasObjectOrExternal(ms []MetricSpec) bool {
	for i := range ms {
		if ms[i].Type == ObjectMetric || ms[i].Type == ExternalMetric {
			return true
		}
	}
	return false
}

// RescaleFailed turns r into the outcome upstream records when the scale
// update fails: AbleToScale=False FailedUpdateScale, no rescale, and
// status.desiredReplicas left as it was. Do not call State.RecordRescale then.
func RescaleFailed(r *Result, err error) {
	if !r.Rescale {
		return
	}
	r.Rescale = false
	r.Stopped = true
	kept := r.Conditions[:0]
	for _, c := range r.Conditions {
		if c.Type == ScaledToZero {
			continue // upstream sets it only after a successful update
		}
		if c.Type == AbleToScale {
			c = Condition{Type: AbleToScale, Status: ConditionFalse, Reason: ReasonFailedUpdateScale,
				Message: fmt.Sprintf("the HPA controller was unable to update the target scale: %v", err)}
		}
		kept = append(kept, c)
	}
	r.Conditions = kept
	r.RemoveScaledToZero = false
	r.DesiredReplicas = r.CurrentReplicas
	r.Err = fmt.Errorf("failed to rescale: %w", err)
}
