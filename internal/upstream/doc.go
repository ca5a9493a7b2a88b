// Package upstream runs kscale's hpa package side by side with the real
// HorizontalPodAutoscaler controller of Kubernetes v1.37.2
// (k8s.io/kubernetes/pkg/controller/podautoscaler) on the same Kubernetes
// objects, for a differential test and a speed comparison.
//
// It is a nested module so that the main module does not depend on
// k8s.io/kubernetes. Nothing here is part of kscale's API.
//
// The controller is driven as upstream's own horizontal_test.go drives it:
// built by NewHorizontalController with fake clientsets, a fake scale
// client and the REST metrics client over fake metrics clients, with the
// pods and the HPA placed in its informers' stores. One reconcile is run
// per scenario through the controller's unexported reconcileKey (reached
// with a go:linkname), and its history (recommendations and scale events)
// is seeded and read back through reflection. Nothing of upstream's code
// is copied or changed.
package upstream
