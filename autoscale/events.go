package autoscale

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// recorder holds a controller's EventRecorder: the caller's, or one that
// Run starts on the API server and stops when it returns. Without one
// (a Sync before Run, with no recorder configured) Events are dropped.
type recorder struct {
	mu  sync.RWMutex
	rec record.EventRecorder
}

func (r *recorder) get() record.EventRecorder {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.rec
}

// start installs a recorder writing to the API server as component, unless
// one is set; the returned function stops it.
func (r *recorder) start(kube kubernetes.Interface, component string) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec != nil {
		return func() {}
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	r.rec = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
	return func() {
		b.Shutdown()
		r.mu.Lock()
		r.rec = nil
		r.mu.Unlock()
	}
}

func (pa *PodAutoscaler) event(w *work, typ, reason, msg string) {
	if rec := pa.rec.get(); rec != nil {
		rec.Event(w.regarding, typ, reason, msg)
	}
}
