package upstream

import (
	"context"
	_ "unsafe" // go:linkname

	"k8s.io/kubernetes/pkg/controller/podautoscaler"
)

// reconcileKey is (*HorizontalController).reconcileKey: one reconcile of
// the HPA with that namespace/name key, as a worker runs it.
//
//go:linkname reconcileKey k8s.io/kubernetes/pkg/controller/podautoscaler.(*HorizontalController).reconcileKey
func reconcileKey(a *podautoscaler.HorizontalController, ctx context.Context, key string) (bool, error)

// enqueueHPA is (*HorizontalController).enqueueHPA, the informer's add
// handler: it registers the HPA in the controller's selector tracker.
//
//go:linkname enqueueHPA k8s.io/kubernetes/pkg/controller/podautoscaler.(*HorizontalController).enqueueHPA
func enqueueHPA(a *podautoscaler.HorizontalController, obj any)
