package upstream

import (
	"errors"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kscale/kscale/hpa"
)

// Config returns the kscale Config with f's flags and the 1.37 defaults.
func (f Flags) Config() hpa.Config {
	c := hpa.DefaultConfig()
	c.Tolerance = f.Tolerance
	c.DownscaleStabilizationWindow = f.DownscaleStabilizationWindow
	c.CPUInitializationPeriod = f.CPUInitializationPeriod
	c.InitialReadinessDelay = f.InitialReadinessDelay
	return c
}

// The errors the harness's fake metrics APIs answer, as upstream's REST
// metrics client reports them: a kscale caller hands its metrics client's
// error to Evaluate as MetricInput.Err.
func resourceAPIErr() error {
	return errors.New("unable to fetch metrics from resource metrics API: the server is currently unable to handle the request")
}

func customAPIErr(name string) error {
	return fmt.Errorf("unable to fetch metrics from custom metrics API: no such metric %q", name)
}

func externalAPIErr(name string) error {
	return fmt.Errorf("unable to fetch metrics from external metrics API: no such metric %q", name)
}

// Kscale runs s through kscale's path from the same objects: a Converter
// (Spec, Pods, one metric method per spec metric), Evaluate, ApplyStatus
// and, on a rescale, State.RecordRescale. conv may be reused across calls.
func Kscale(conv *hpa.Converter, s *Scenario) Outcome {
	h := s.HPA.DeepCopy()
	out := Outcome{Status: *h.Status.DeepCopy()}
	spec, err := conv.Spec(h)
	if err != nil {
		out.Err = err
		return out
	}
	in := hpa.Input{Now: s.Base, Namespace: h.Namespace, SpecReplicas: s.SpecReplicas, StatusReplicas: s.StatusReplicas,
		Pods: conv.Pods(s.Pods), ScaledToZero: hpa.ScaledToZeroFromStatus(h.Status)}
	in.Metrics = make([]hpa.MetricInput, len(h.Spec.Metrics))
	for i := range h.Spec.Metrics {
		in.Metrics[i] = metricInput(conv, s, i, &h.Spec.Metrics[i])
	}
	// The caller parses the scale's selector to list the pods, and reports
	// what upstream's validateAndParseSelector reports.
	if s.Selector == "" {
		in.SelectorErr = hpa.ErrSelectorRequired
	} else if sel, err := labels.Parse(s.Selector); err != nil {
		in.SelectorErr = hpa.InvalidSelectorError(err)
	} else if s.Ambiguous {
		// The caller's own check: another HPA's selector matches one of
		// the listed pods.
		other := labels.SelectorFromSet(labels.Set{"app": "web"})
		for _, p := range s.Pods {
			if sel.Matches(labels.Set(p.Labels)) && other.Matches(labels.Set(p.Labels)) {
				in.SelectorErr = hpa.AmbiguousSelectorError(s.Selector, []string{ns + "/web", ns + "/web-b"})
				break
			}
		}
	}
	st := &hpa.State{}
	if s.HasHistory {
		for _, r := range s.Recs {
			st.Recommendations = append(st.Recommendations, hpa.Recommendation{Replicas: r.Replicas, Timestamp: s.Base.Add(-r.Ago)})
		}
		for _, e := range s.Up {
			st.ScaleUpEvents = append(st.ScaleUpEvents, hpa.ScaleEvent{Change: e.Change, Timestamp: s.Base.Add(-e.Ago), Outdated: e.Outdated})
		}
		for _, e := range s.Down {
			st.ScaleDownEvents = append(st.ScaleDownEvents, hpa.ScaleEvent{Change: e.Change, Timestamp: s.Base.Add(-e.Ago), Outdated: e.Outdated})
		}
	}
	r, err := hpa.Evaluate(s.Flags.Config(), spec, in, st)
	if err != nil {
		out.Err = err
		return out
	}
	out.Err = r.Err
	if r.Rescale {
		out.Rescale, out.Scale = true, r.DesiredReplicas
		st.RecordRescale(spec.Behavior, s.Base, r.CurrentReplicas, r.DesiredReplicas)
	}
	hpa.ApplyStatus(h, r, s.Base)
	out.Status = h.Status
	for _, x := range st.Recommendations {
		out.Recs = append(out.Recs, Rec{Replicas: x.Replicas, Ago: ago(s.Base, x.Timestamp)})
	}
	for _, x := range st.ScaleUpEvents {
		out.Up = append(out.Up, Event{Change: x.Change, Ago: ago(s.Base, x.Timestamp), Outdated: x.Outdated})
	}
	for _, x := range st.ScaleDownEvents {
		out.Down = append(out.Down, Event{Change: x.Change, Ago: ago(s.Base, x.Timestamp), Outdated: x.Outdated})
	}
	return out
}

func metricInput(conv *hpa.Converter, s *Scenario, i int, m *autoscalingv2.MetricSpec) hpa.MetricInput {
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		if s.PodMetricsErr {
			return hpa.MetricInput{Err: resourceAPIErr()}
		}
		var res corev1.ResourceName
		container := ""
		if m.Resource != nil {
			res = m.Resource.Name
		} else {
			res, container = m.ContainerResource.Name, m.ContainerResource.Container
		}
		return conv.ResourceMetric(i, s.PodMetrics, hpa.ResourceName(res), container)
	case autoscalingv2.PodsMetricSourceType:
		list, ok := s.Custom[m.Pods.Metric.Name]
		if !ok {
			return hpa.MetricInput{Err: customAPIErr(m.Pods.Metric.Name)}
		}
		return conv.PodsMetric(i, list)
	case autoscalingv2.ObjectMetricSourceType:
		v, ok := s.Object[m.Object.Metric.Name]
		if !ok {
			return hpa.MetricInput{Err: customAPIErr(m.Object.Metric.Name)}
		}
		return conv.ObjectMetric(&v)
	case autoscalingv2.ExternalMetricSourceType:
		list, ok := s.External[m.External.Metric.Name]
		if !ok {
			return hpa.MetricInput{Err: externalAPIErr(m.External.Metric.Name)}
		}
		return conv.ExternalMetric(i, list)
	}
	return hpa.MetricInput{}
}
