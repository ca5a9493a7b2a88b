package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
)

// Sync runs one sync of key now, as a worker does: observe, decide,
// resize, write the HPA status and persist the state (only the decision
// and its Events, metrics and logs in dry-run mode). gone is true when the
// key names nothing any more. Run calls it once per sync period per key;
// it is exported for callers that drive their own loop.
func (pa *PodAutoscaler) Sync(ctx context.Context, key string) (gone bool, err error) {
	start := pa.cfg.Clock.Now()
	defer func() { pa.m.observe(start, pa.cfg.Clock.Now()) }()
	log := logr.FromContextOrDiscard(ctx).WithValues("key", key)
	w, gone, err := pa.lookup(ctx, key)
	if err != nil || gone {
		if gone {
			pa.forget(key)
		} else {
			pa.m.failed("target")
		}
		return gone, err
	}
	e := pa.entry(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := pa.load(ctx, w, e); err != nil {
		log.Error(err, "Could not load the saved state; starting from an empty one")
		pa.m.failed("state")
	}
	o, err := pa.observe(ctx, w, e, true)
	if err != nil {
		pa.m.failed("scale")
		pa.event(w, corev1.EventTypeWarning, string(hpa.ReasonFailedGetScale), errors.Unwrap(err).Error())
		if serr := pa.writeStatus(ctx, w, func(h *autoscalingv2.HorizontalPodAutoscaler) {
			setCondition(&h.Status, *o.rec.Failure, start)
		}); serr != nil {
			pa.m.failed("status")
		}
		return false, err
	}
	rec, err := pa.decide(o, &e.state)
	if err != nil {
		pa.m.failed("decide")
		return false, err
	}
	d := &rec.Decision
	pa.report(w, o, d)
	var syncErr error
	if d.Rescale && !pa.cfg.DryRun {
		if err := pa.updateScale(ctx, w, o, d.Desired); err != nil {
			want, why := d.Desired, rescaleReason(d)
			d.Failed(err)
			pa.m.failed("scale")
			pa.event(w, corev1.EventTypeWarning, "FailedRescale", fmt.Sprintf("New size: %d; reason: %s; error: %v", want, why, err))
			syncErr = fmt.Errorf("failed to rescale %s: %w", reference(w), err)
		} else {
			d.Succeeded(&e.state)
			pa.event(w, corev1.EventTypeNormal, "SuccessfulRescale", fmt.Sprintf("New size: %d; reason: %s", d.Desired, rescaleReason(d)))
		}
	}
	pa.m.decided(key, string(d.Reason), d.Rescale, d.Current, d.Desired)
	log.V(2).Info("Synced", "current", d.Current, "recommended", d.Recommended, "desired", d.Desired, "rescale", d.Rescale,
		"reason", d.Reason, "message", d.Message, "dryRun", pa.cfg.DryRun)
	if pa.cfg.DryRun {
		if d.Rescale {
			log.Info("Dry run: would rescale", "from", d.Current, "to", d.Desired, "reason", d.Reason, "message", d.Message)
			pa.event(w, corev1.EventTypeNormal, ReasonDryRunRescale, fmt.Sprintf("New size: %d; reason: %s (dry run: not applied)", d.Desired, rescaleReason(d)))
		}
		return false, syncErr
	}
	if d.HPA != nil {
		if err := pa.writeStatus(ctx, w, func(h *autoscalingv2.HorizontalPodAutoscaler) {
			hpa.ApplyStatus(h, *d.HPA, o.now)
		}); err != nil {
			pa.m.failed("status")
			syncErr = errors.Join(syncErr, fmt.Errorf("failed to update status of %s: %w", key, err))
		}
	}
	if err := pa.save(ctx, w, e); err != nil {
		pa.m.failed("state")
		syncErr = errors.Join(syncErr, fmt.Errorf("failed to persist the state of %s: %w", key, err))
	}
	if syncErr == nil && d.HPA != nil && d.HPA.Err != nil { // upstream's reconcile returns the metric error too
		syncErr = fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference(w), d.HPA.Err)
	}
	return false, syncErr
}

// unableToCompute prefixes upstream's ScalingActive=False metric messages.
const unableToCompute = "the HPA was unable to compute the replica count: "

// ReasonFailedSchedule is the Event reason of an HPA schedule annotation
// that was refused (the HPA then runs without it).
const ReasonFailedSchedule = "FailedSchedule"

// ReasonDryRunRescale is the Event reason of a rescale a dry run did not apply.
const ReasonDryRunRescale = "DryRunRescale"

// report emits the Events of a decision that do not depend on the write:
// the selector problem, each failed metric, and a failed computation.
func (pa *PodAutoscaler) report(w *work, o *observation, d *podscale.Decision) {
	if o.schedErr != nil {
		pa.event(w, corev1.EventTypeWarning, ReasonFailedSchedule, o.schedErr.Error())
	}
	if o.selErr != nil {
		reason := string(hpa.ReasonInvalidSelector)
		switch {
		case o.selErr == hpa.ErrSelectorRequired:
			reason = "SelectorRequired"
		case errors.Is(o.selErr, hpa.ErrAmbiguousSelector):
			reason = string(hpa.ReasonAmbiguousSelector)
		}
		pa.event(w, corev1.EventTypeWarning, reason, o.selErr.Error())
	}
	if d.EvalErr != nil {
		pa.event(w, corev1.EventTypeWarning, string(podscale.ReasonFailedCompute), d.EvalErr.Error())
		return
	}
	if d.HPA == nil {
		return
	}
	for _, p := range d.HPA.Proposals {
		if p.Err != nil && !errors.Is(p.Err, errNotFetched) {
			// Upstream's event carries the error its condition message wraps.
			pa.event(w, corev1.EventTypeWarning, string(p.Reason), strings.TrimPrefix(p.Message, unableToCompute))
		}
	}
	if d.HPA.Stopped && d.HPA.Err != nil && o.selErr == nil {
		pa.event(w, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", d.HPA.Err.Error())
	}
}

func rescaleReason(d *podscale.Decision) string {
	if d.HPA != nil && d.HPA.RescaleReason != "" {
		return d.HPA.RescaleReason
	}
	return d.Message
}

// updateScale writes desired to the target's scale, retrying on conflict
// as long as the target still has the count the decision started from.
func (pa *PodAutoscaler) updateScale(ctx context.Context, w *work, o *observation, desired int32) error {
	sc := o.scale
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		next := sc.DeepCopy()
		next.Spec.Replicas = desired
		_, err := pa.cfg.Clients.Scale.Scales(w.namespace).Update(ctx, o.gr, next, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, gerr := pa.cfg.Clients.Scale.Scales(w.namespace).Get(ctx, o.gr, w.spec.ScaleTargetRef.Name, metav1.GetOptions{})
		switch {
		case gerr != nil:
			return errors.Join(err, gerr)
		case fresh.Spec.Replicas != o.in.Observation.SpecReplicas:
			// Someone else resized the target: the next sync decides anew.
			return fmt.Errorf("the target was resized from %d to %d meanwhile: %w", o.in.Observation.SpecReplicas, fresh.Spec.Replicas, errResized)
		}
		sc = fresh
		return err
	})
}

var errResized = errors.New("concurrent resize")
