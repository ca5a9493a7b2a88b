package autoscale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
	"github.com/kscale/kscale/schedule"
)

// ErrNotFound is returned by Recommend for a key that names no HPA or Target.
var ErrNotFound = errors.New("no such HPA or target")

// observation is everything one sync read.
type observation struct {
	w        *work
	now      time.Time
	scale    *autoscalingv1.Scale
	gr       schema.GroupResource
	in       podscale.Input
	rec      Recommendation
	selErr   error // the selector problem, for its event
	specErr  error // the spec could not be converted
	schedErr error // the HPA's schedule annotations are refused
}

// observe reads the target's scale, its pods, its metrics and the
// schedule. An error means no decision can be made: o.rec.Failure then
// holds the condition to report.
func (pa *PodAutoscaler) observe(ctx context.Context, w *work, e *entry, register bool) (*observation, error) {
	now := pa.cfg.Clock.Now()
	o := &observation{w: w, now: now}
	o.rec = Recommendation{Key: w.key, Target: w.spec.ScaleTargetRef}
	sc, gr, err := getScale(ctx, &pa.cfg.Clients, w.namespace, w.spec.ScaleTargetRef)
	if err != nil {
		o.rec.Failure = &hpa.Condition{Type: hpa.AbleToScale, Status: hpa.ConditionFalse, Reason: hpa.ReasonFailedGetScale,
			Message: fmt.Sprintf("the HPA controller was unable to get the target's current scale: %v", err)}
		return o, fmt.Errorf("failed to query scale subresource for %s: %w", reference(w), err)
	}
	o.scale, o.gr = sc, gr
	o.rec.Selector = sc.Status.Selector
	in := &o.in
	in.Config = pa.cfg.HPA
	in.Observation = hpa.Input{Now: now, Namespace: w.namespace, SpecReplicas: sc.Spec.Replicas, StatusReplicas: sc.Status.Replicas}
	if w.hpaObj != nil {
		in.Observation.ScaledToZero = hpa.ScaledToZeroFromStatus(w.hpaObj.Status)
	}
	if !w.scheduleOnly {
		spec, err := hpa.SpecFromV2(*w.spec)
		if err != nil {
			// hpa.Evaluate refuses this stand-in, so podscale holds the
			// count (bounds still apply); decide reports the real error.
			spec, o.specErr = hpa.Spec{MaxReplicas: -1}, err
		}
		in.Spec = &spec
		pa.observePods(ctx, o, register)
	}
	sched, policy := w.sched, w.policy
	if w.hpaObj != nil {
		sched, policy, o.schedErr = pa.hpaSchedule(w.hpaObj, e)
	}
	if sched != nil {
		st := sched.At(now)
		o.rec.Schedule = &st
		in.Bounds, in.Policy, in.Rule = st.Bounds, policy, st.Rule
	}
	return o, nil
}

// observePods fills the pods and the metric inputs (or the selector error).
func (pa *PodAutoscaler) observePods(ctx context.Context, o *observation, register bool) {
	w, obs := o.w, &o.in.Observation
	spec := o.in.Spec
	obs.Metrics = make([]hpa.MetricInput, len(spec.Metrics))
	if o.scale.Status.Selector == "" {
		obs.SelectorErr, o.selErr = hpa.ErrSelectorRequired, hpa.ErrSelectorRequired
		return
	}
	sel, err := labels.Parse(o.scale.Status.Selector)
	if err != nil {
		obs.SelectorErr = hpa.InvalidSelectorError(err)
		o.selErr = obs.SelectorErr
		return
	}
	pods, err := pa.listPods(ctx, w.namespace, sel)
	if err != nil {
		for i := range obs.Metrics {
			obs.Metrics[i].Err = fmt.Errorf("unable to get pods while calculating replica count: %w", err)
		}
		return
	}
	o.rec.Pods = len(pods)
	if others := pa.ambiguous(w, sel, pods, register); len(others) > 0 {
		obs.SelectorErr = hpa.AmbiguousSelectorError(sel.String(), others)
		o.selErr = obs.SelectorErr
		return
	}
	obs.Pods = make([]hpa.Pod, len(pods))
	for i, p := range pods {
		obs.Pods[i] = hpa.PodFromV1(p)
	}
	if !pa.needMetrics(spec, obs.SpecReplicas) {
		for i := range obs.Metrics {
			obs.Metrics[i].Err = errNotFetched
		}
		return
	}
	pa.fetchMetrics(ctx, o, sel)
}

// errNotFetched stands in for metrics hpa.Evaluate will not read (the
// replica count is outside [min, max], or zero): upstream fetches none then.
var errNotFetched = errors.New("not fetched: the replica count alone decides")

func (pa *PodAutoscaler) needMetrics(spec *hpa.Spec, current int32) bool {
	minR := int32(1)
	if spec.MinReplicas != nil {
		minR = *spec.MinReplicas
	}
	if current == 0 {
		return pa.cfg.HPA.ScaleToZero
	}
	return current >= minR && current <= spec.MaxReplicas
}

// getScale resolves ref's kind through the REST mapper and reads its
// /scale subresource, trying each mapping as upstream does.
func getScale(ctx context.Context, c *Clients, ns string, ref autoscalingv2.CrossVersionObjectReference) (*autoscalingv1.Scale, schema.GroupResource, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, schema.GroupResource{}, fmt.Errorf("invalid API version in scale target reference: %w", err)
	}
	mappings, err := c.Mapper.RESTMappings(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
	if err != nil {
		return nil, schema.GroupResource{}, fmt.Errorf("unable to determine resource for scale target reference: %w", err)
	}
	var first error
	for _, m := range mappings {
		gr := m.Resource.GroupResource()
		sc, err := c.Scale.Scales(ns).Get(ctx, gr, ref.Name, metav1.GetOptions{})
		if err == nil {
			return sc, gr, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("unrecognized resource")
	}
	return nil, schema.GroupResource{}, first
}

func (pa *PodAutoscaler) listPods(ctx context.Context, ns string, sel labels.Selector) ([]*corev1.Pod, error) {
	if pa.running.Load() {
		return pa.pods.Pods(ns).List(sel)
	}
	list, err := pa.cfg.Clients.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// ambiguous returns the sorted keys of every autoscaler whose selector
// matches one of pods, w's own included, when there is more than w's
// (upstream's AmbiguousSelector check); register records w's selector.
func (pa *PodAutoscaler) ambiguous(w *work, sel labels.Selector, pods []*corev1.Pod, register bool) []string {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	byKey := pa.selectors[w.namespace]
	if register {
		if byKey == nil {
			byKey = map[string]labels.Selector{}
			pa.selectors[w.namespace] = byKey
		}
		byKey[w.key] = sel
	}
	var hit []string
	for key, other := range byKey {
		if key == w.key {
			continue
		}
		for _, p := range pods {
			if other.Matches(labels.Set(p.Labels)) {
				hit = append(hit, key)
				break
			}
		}
	}
	if len(hit) == 0 {
		return nil
	}
	hit = append(hit, w.key)
	slices.Sort(hit)
	return hit
}

// hpaSchedule compiles the HPA's schedule annotation, cached by its text.
// A schedule or policy that does not check is refused whole (the HPA then
// runs without a schedule) and reported.
func (pa *PodAutoscaler) hpaSchedule(obj *autoscalingv2.HorizontalPodAutoscaler, e *entry) (*schedule.Schedule, schedule.Policy, error) {
	text := obj.Annotations[AnnotationSchedule]
	if text != e.schedText || (text != "" && e.sched == nil && e.schedErr == nil) {
		e.schedText, e.sched, e.schedErr = text, nil, nil
		if text != "" {
			var spec schedule.Spec
			if err := json.Unmarshal([]byte(text), &spec); err != nil {
				e.schedErr = fmt.Errorf("annotation %s: %w", AnnotationSchedule, err)
			} else if e.sched, err = schedule.New(spec); err != nil {
				e.schedErr = fmt.Errorf("annotation %s: %w", AnnotationSchedule, err)
			}
		}
	}
	if e.schedErr != nil || e.sched == nil {
		return nil, "", e.schedErr
	}
	policy := schedule.Policy(obj.Annotations[AnnotationSchedulePolicy])
	if err := checkPolicy(policy); err != nil {
		return nil, "", fmt.Errorf("annotation %s: %w", AnnotationSchedulePolicy, err)
	}
	return e.sched, policy, nil
}

func checkPolicy(p schedule.Policy) error {
	switch p {
	case "", schedule.PolicyClamp, schedule.PolicyFloor, schedule.PolicyCeiling, schedule.PolicyOverride:
		return nil
	}
	return fmt.Errorf("unknown policy %q (want Clamp, Floor, Ceiling or Override)", p)
}

func reference(w *work) string {
	return fmt.Sprintf("%s/%s/%s", w.spec.ScaleTargetRef.Kind, w.namespace, w.spec.ScaleTargetRef.Name)
}

// decide runs podscale on the observation with st (updated in place).
func (pa *PodAutoscaler) decide(o *observation, st *hpa.State) (Recommendation, error) {
	d, err := podscale.Decide(o.in, st)
	if err != nil {
		return o.rec, err
	}
	if o.specErr != nil {
		d.EvalErr = o.specErr
		if d.Reason == podscale.ReasonFailedCompute {
			d.Message = fmt.Sprintf("the HPA could not be evaluated: %v", o.specErr)
		}
	}
	o.rec.Decision = d
	return o.rec, nil
}
