package autoscale

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one controller's Prometheus collectors. The controller label
// ("podautoscaler" or "cronscaler") lets both share a registry.
type metrics struct {
	decisions *prometheus.CounterVec
	latency   prometheus.Observer
	errs      *prometheus.CounterVec
	current   *prometheus.GaugeVec
	desired   *prometheus.GaugeVec
}

// newMetrics creates the collectors and registers them on reg (none when
// reg is nil). Collectors already registered by another controller of the
// same registry are reused.
func newMetrics(reg prometheus.Registerer, controller string) (*metrics, error) {
	cl := prometheus.Labels{"controller": controller}
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "kscale", Subsystem: "autoscale", Name: "decisions_total",
			Help: "Decisions per reason (upstream's condition reasons, or the schedule's)."}, []string{"controller", "reason", "rescale"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "kscale", Subsystem: "autoscale", Name: "errors_total",
			Help: "Failed syncs per stage (scale, metrics, status, state, target)."}, []string{"controller", "stage"}),
		current: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kscale", Subsystem: "autoscale", Name: "current_replicas",
			Help: "The target's replica count (scale.spec.replicas) at the last sync."}, []string{"controller", "key"}),
		desired: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "kscale", Subsystem: "autoscale", Name: "desired_replicas",
			Help: "The replica count decided at the last sync."}, []string{"controller", "key"}),
	}
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "kscale", Subsystem: "autoscale", Name: "reconcile_duration_seconds",
		Help: "Time of one sync, API calls included.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}, []string{"controller"})
	if reg != nil {
		var err error
		if m.decisions, err = register(reg, m.decisions); err != nil {
			return nil, err
		}
		if m.errs, err = register(reg, m.errs); err != nil {
			return nil, err
		}
		if m.current, err = register(reg, m.current); err != nil {
			return nil, err
		}
		if m.desired, err = register(reg, m.desired); err != nil {
			return nil, err
		}
		if lat, err = register(reg, lat); err != nil {
			return nil, err
		}
	}
	m.decisions = m.decisions.MustCurryWith(cl)
	m.errs = m.errs.MustCurryWith(cl)
	m.current = m.current.MustCurryWith(cl)
	m.desired = m.desired.MustCurryWith(cl)
	m.latency = lat.With(cl)
	return m, nil
}

// register registers c, or returns the collector already registered in its place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *metrics) decided(key, reason string, rescale bool, current, desired int32) {
	m.counted(reason, rescale)
	m.current.WithLabelValues(key).Set(float64(current))
	m.desired.WithLabelValues(key).Set(float64(desired))
}

// counted counts a decision without replica gauges (a cron target whose
// HPA is bounded has no count of its own to report).
func (m *metrics) counted(reason string, rescale bool) {
	r := "false"
	if rescale {
		r = "true"
	}
	m.decisions.WithLabelValues(reason, r).Inc()
}

func (m *metrics) failed(stage string) { m.errs.WithLabelValues(stage).Inc() }

func (m *metrics) forget(key string) {
	m.current.DeleteLabelValues(key)
	m.desired.DeleteLabelValues(key)
}

func (m *metrics) observe(start time.Time, now time.Time) {
	m.latency.Observe(now.Sub(start).Seconds())
}
