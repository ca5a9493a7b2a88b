package autoscale

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/kscale/kscale/hpa"
)

// Limits on a saved state read back from the API: it is user-editable.
const (
	maxStateBytes   = 128 << 10
	maxStateEntries = 4096
	stateKey        = "state" // the ConfigMap key of a Target's state
)

// load reads the key's saved state once, before its first sync.
func (pa *PodAutoscaler) load(ctx context.Context, w *work, e *entry) error {
	if e.loaded {
		return nil
	}
	var text string
	if w.hpaObj != nil {
		text = w.hpaObj.Annotations[AnnotationState]
	} else {
		cm, err := pa.cfg.Clients.Kube.CoreV1().ConfigMaps(w.namespace).Get(ctx, StateConfigMapPrefix+w.target.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err // not loaded: retried at the next sync
		default:
			text = cm.Data[stateKey]
		}
	}
	e.loaded, e.saved = true, text
	if text == "" {
		return nil
	}
	st, err := decodeState(text)
	if err != nil {
		return err
	}
	e.state = st
	return nil
}

// decodeState parses and checks a saved hpa.State.
func decodeState(text string) (hpa.State, error) {
	var st hpa.State
	if len(text) > maxStateBytes {
		return st, fmt.Errorf("saved state: %d bytes is over the limit of %d", len(text), maxStateBytes)
	}
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return hpa.State{}, fmt.Errorf("saved state: %w", err)
	}
	if n := len(st.Recommendations) + len(st.ScaleUpEvents) + len(st.ScaleDownEvents); n > maxStateEntries {
		return hpa.State{}, fmt.Errorf("saved state: %d entries is over the limit of %d", n, maxStateEntries)
	}
	for i, r := range st.Recommendations {
		if r.Replicas < 0 || r.Timestamp.IsZero() {
			return hpa.State{}, fmt.Errorf("saved state: recommendations[%d]: replicas %d at %v", i, r.Replicas, r.Timestamp)
		}
	}
	for _, evs := range [][]hpa.ScaleEvent{st.ScaleUpEvents, st.ScaleDownEvents} {
		for i, ev := range evs {
			if ev.Change < 0 || ev.Timestamp.IsZero() {
				return hpa.State{}, fmt.Errorf("saved state: events[%d]: change %d at %v", i, ev.Change, ev.Timestamp)
			}
		}
	}
	return st, nil
}

// save persists the key's state when it changed since the last save: as
// an annotation on the HPA (a merge patch of that one key), or in the
// Target's ConfigMap.
func (pa *PodAutoscaler) save(ctx context.Context, w *work, e *entry) error {
	if !e.loaded {
		return nil // the saved state could not be read: do not write over it
	}
	b, err := json.Marshal(e.state)
	if err != nil {
		return err
	}
	text := string(b)
	if text == e.saved {
		return nil
	}
	if w.hpaObj != nil {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationState: text}}})
		if err != nil {
			return err
		}
		if _, err := pa.cfg.Clients.Kube.AutoscalingV2().HorizontalPodAutoscalers(w.namespace).Patch(ctx, w.hpaObj.Name,
			types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return err
		}
	} else if err := pa.saveConfigMap(ctx, w, text); err != nil {
		return err
	}
	e.saved = text
	return nil
}

func (pa *PodAutoscaler) saveConfigMap(ctx context.Context, w *work, text string) error {
	cms := pa.cfg.Clients.Kube.CoreV1().ConfigMaps(w.namespace)
	name := StateConfigMapPrefix + w.target.Name
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.namespace,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "kscale"}}, Data: map[string]string{stateKey: text}}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[stateKey] = text
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
}

// writeStatus applies mutate to the HPA's status and writes it through the
// status subresource when it changed (as upstream's updateStatusIfNeeded),
// re-reading the HPA on a conflict.
func (pa *PodAutoscaler) writeStatus(ctx context.Context, w *work, mutate func(*autoscalingv2.HorizontalPodAutoscaler)) error {
	if w.hpaObj == nil || pa.cfg.DryRun {
		return nil
	}
	hpas := pa.cfg.Clients.Kube.AutoscalingV2().HorizontalPodAutoscalers(w.namespace)
	obj := w.hpaObj
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		next := obj.DeepCopy()
		mutate(next)
		if equality.Semantic.DeepEqual(next.Status, obj.Status) {
			return nil
		}
		_, err := hpas.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			fresh, gerr := hpas.Get(ctx, obj.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			obj = fresh
		}
		return err
	})
}

// setCondition sets c in an HPA status like upstream's setCondition: in
// place, keeping lastTransitionTime while the status is unchanged.
func setCondition(st *autoscalingv2.HorizontalPodAutoscalerStatus, c hpa.Condition, now time.Time) {
	typ := autoscalingv2.HorizontalPodAutoscalerConditionType(c.Type)
	i := slices.IndexFunc(st.Conditions, func(x autoscalingv2.HorizontalPodAutoscalerCondition) bool { return x.Type == typ })
	if i < 0 {
		st.Conditions = append(st.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{Type: typ})
		i = len(st.Conditions) - 1
	}
	cur := &st.Conditions[i]
	if cur.Status != corev1.ConditionStatus(c.Status) {
		cur.LastTransitionTime = metav1.NewTime(now)
	}
	cur.Status, cur.Reason, cur.Message = corev1.ConditionStatus(c.Status), string(c.Reason), c.Message
}

func cloneState(st hpa.State) hpa.State {
	return hpa.State{Recommendations: slices.Clone(st.Recommendations),
		ScaleUpEvents: slices.Clone(st.ScaleUpEvents), ScaleDownEvents: slices.Clone(st.ScaleDownEvents)}
}
