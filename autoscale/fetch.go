package autoscale

import (
	"context"
	"errors"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/kscale/kscale/hpa"
)

// Errors for a metrics API the PodAutoscaler has no client for.
var (
	errNoResourceClient = errors.New("no resource metrics client (metrics.k8s.io) configured")
	errNoCustomClient   = errors.New("no custom metrics client (custom.metrics.k8s.io) configured")
	errNoExternalClient = errors.New("no external metrics client (external.metrics.k8s.io) configured")
)

// fetchMetrics reads every metric of the spec from its API, as upstream's
// metrics clients do, into o.in.Observation.Metrics. A failure is kept in
// the metric's input; hpa.Evaluate turns it into upstream's condition.
func (pa *PodAutoscaler) fetchMetrics(ctx context.Context, o *observation, sel labels.Selector) {
	obs := &o.in.Observation
	ns := o.w.namespace
	var podMetrics []metricsv1beta1.PodMetrics
	var podMetricsErr error
	listed := false
	for i := range o.w.spec.Metrics {
		m := &o.w.spec.Metrics[i]
		in := &obs.Metrics[i]
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			if !listed {
				podMetrics, podMetricsErr = pa.listPodMetrics(ctx, ns, sel)
				listed = true
			}
			res, container := resourceOf(m)
			if podMetricsErr != nil {
				in.Err = fmt.Errorf("unable to get metrics for resource %s: %w", res, podMetricsErr)
				continue
			}
			in.Samples = hpa.PodSamplesFromMetrics(obs.Pods, podMetrics, hpa.ResourceName(res), container)
		case autoscalingv2.PodsMetricSourceType:
			*in = pa.podsMetric(ns, m.Pods, sel)
		case autoscalingv2.ObjectMetricSourceType:
			*in = pa.objectMetric(ns, m.Object)
		case autoscalingv2.ExternalMetricSourceType:
			*in = pa.externalMetric(ns, m.External)
		}
	}
}

func resourceOf(m *autoscalingv2.MetricSpec) (string, string) {
	if m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil {
		return string(m.ContainerResource.Name), m.ContainerResource.Container
	}
	if m.Resource != nil {
		return string(m.Resource.Name), ""
	}
	return "", ""
}

func (pa *PodAutoscaler) listPodMetrics(ctx context.Context, ns string, sel labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	c := pa.cfg.Clients.Resource
	if c == nil {
		return nil, errNoResourceClient
	}
	list, err := c.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	return list.Items, nil
}

func metricSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

func (pa *PodAutoscaler) podsMetric(ns string, src *autoscalingv2.PodsMetricSource, sel labels.Selector) hpa.MetricInput {
	if src == nil {
		return hpa.MetricInput{Err: errors.New("missing pods metric source")}
	}
	if pa.cfg.Clients.Custom == nil {
		return hpa.MetricInput{Err: errNoCustomClient}
	}
	msel, err := metricSelector(src.Metric.Selector)
	if err != nil {
		return hpa.MetricInput{Err: err}
	}
	list, err := pa.cfg.Clients.Custom.NamespacedMetrics(ns).GetForObjects(schema.GroupKind{Kind: "Pod"}, sel, src.Metric.Name, msel)
	if err != nil {
		return hpa.MetricInput{Err: fmt.Errorf("unable to fetch metrics from custom metrics API: %w", err)}
	}
	return hpa.MetricInput{Samples: hpa.PodSamplesFromCustomMetrics(list.Items)}
}

func (pa *PodAutoscaler) objectMetric(ns string, src *autoscalingv2.ObjectMetricSource) hpa.MetricInput {
	if src == nil {
		return hpa.MetricInput{Err: errors.New("missing object metric source")}
	}
	if pa.cfg.Clients.Custom == nil {
		return hpa.MetricInput{Err: errNoCustomClient}
	}
	msel, err := metricSelector(src.Metric.Selector)
	if err != nil {
		return hpa.MetricInput{Err: err}
	}
	gv, err := schema.ParseGroupVersion(src.DescribedObject.APIVersion)
	if err != nil {
		return hpa.MetricInput{Err: err}
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: src.DescribedObject.Kind}
	v, err := pa.cfg.Clients.Custom.NamespacedMetrics(ns).GetForObject(gk, src.DescribedObject.Name, src.Metric.Name, msel)
	if err != nil {
		return hpa.MetricInput{Err: fmt.Errorf("unable to fetch metrics from custom metrics API: %w", err)}
	}
	return hpa.ObjectInputFromCustomMetric(*v)
}

func (pa *PodAutoscaler) externalMetric(ns string, src *autoscalingv2.ExternalMetricSource) hpa.MetricInput {
	if src == nil {
		return hpa.MetricInput{Err: errors.New("missing external metric source")}
	}
	if pa.cfg.Clients.External == nil {
		return hpa.MetricInput{Err: errNoExternalClient}
	}
	msel, err := metricSelector(src.Metric.Selector)
	if err != nil {
		return hpa.MetricInput{Err: err}
	}
	list, err := pa.cfg.Clients.External.NamespacedMetrics(ns).List(src.Metric.Name, msel)
	if err != nil {
		return hpa.MetricInput{Err: fmt.Errorf("unable to fetch metrics from external metrics API: %w", err)}
	}
	return hpa.ExternalInputFromMetrics(list.Items)
}
