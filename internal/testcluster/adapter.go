package testcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/spf13/pflag"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"k8s.io/metrics/pkg/apis/external_metrics"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/dynamicmapper"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// MetricsAdapter is the cluster's custom and external metrics API: an API server built on
// sigs.k8s.io/custom-metrics-apiserver (the library the Prometheus adapter is built on) running
// inside the test process, registered with the aggregation layer for custom.metrics.k8s.io
// (v1beta2 and v1beta1) and external.metrics.k8s.io (v1beta1). Clients reach it only through
// kube-apiserver, with delegated authentication and authorization, exactly as they would reach
// the Prometheus adapter.
//
// It serves the values a test sets and nothing else. Custom metric series carry no labels, so a
// request with a non-empty metric selector finds no value; external series carry labels that
// the request's selector is matched against. A value is served as of the moment it is read
// (Timestamp is the time of the request). MetricsAdapter is safe for concurrent use.
type MetricsAdapter struct {
	mu       sync.RWMutex
	custom   map[objectMetric]resource.Quantity
	external map[externalKey][]externalSeries

	mapper *dynamicmapper.RegeneratingDiscoveryRESTMapper
	dyn    dynamic.Interface
}

type objectMetric struct {
	group, resource string // as normalized by the REST mapper: plural, lower case ("deployments", "apps")
	namespace, name string // namespace is empty for cluster-scoped objects
	metric          string
}

type externalKey struct{ namespace, metric string }

type externalSeries struct {
	labels map[string]string
	value  resource.Quantity
}

var (
	podsResource = schema.GroupResource{Resource: "pods"}

	_ provider.CustomMetricsProvider   = (*MetricsAdapter)(nil)
	_ provider.ExternalMetricsProvider = (*MetricsAdapter)(nil)
)

// SetPodMetric sets the Pods-type custom metric metric of pod namespace/pod (what an HPA's
// `type: Pods` metric averages over its target's pods).
func (a *MetricsAdapter) SetPodMetric(namespace, pod, metric string, value resource.Quantity) {
	a.SetObjectMetric(podsResource, namespace, pod, metric, value)
}

// DeletePodMetric removes the series SetPodMetric set; reading it afterwards is NotFound.
func (a *MetricsAdapter) DeletePodMetric(namespace, pod, metric string) {
	a.DeleteObjectMetric(podsResource, namespace, pod, metric)
}

// SetObjectMetric sets the custom metric metric of one object, named by its group and plural
// resource (schema.GroupResource{Group: "apps", Resource: "deployments"}); namespace is empty
// for a cluster-scoped object. This is what an HPA's `type: Object` metric reads.
func (a *MetricsAdapter) SetObjectMetric(gr schema.GroupResource, namespace, name, metric string, value resource.Quantity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.custom[objectKey(gr, namespace, name, metric)] = value.DeepCopy()
}

// DeleteObjectMetric removes the series SetObjectMetric set; reading it afterwards is NotFound,
// the way a metric that disappeared from Prometheus is.
func (a *MetricsAdapter) DeleteObjectMetric(gr schema.GroupResource, namespace, name, metric string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.custom, objectKey(gr, namespace, name, metric))
}

// SetExternalMetric sets one series of the external metric metric in namespace, identified by
// its labels (nil for none); setting the same labels again replaces the value. An HPA's
// `type: External` metric reads every series whose labels match its selector.
func (a *MetricsAdapter) SetExternalMetric(namespace, metric string, seriesLabels map[string]string, value resource.Quantity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := externalKey{namespace, metric}
	series := slices.DeleteFunc(a.external[k], func(s externalSeries) bool { return maps.Equal(s.labels, seriesLabels) })
	a.external[k] = append(series, externalSeries{labels: maps.Clone(seriesLabels), value: value.DeepCopy()})
}

// DeleteExternalMetric removes the series with exactly these labels; with nil labels, it removes
// every series of the metric.
func (a *MetricsAdapter) DeleteExternalMetric(namespace, metric string, seriesLabels map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := externalKey{namespace, metric}
	if seriesLabels == nil {
		delete(a.external, k)
		return
	}
	a.external[k] = slices.DeleteFunc(a.external[k], func(s externalSeries) bool { return maps.Equal(s.labels, seriesLabels) })
	if len(a.external[k]) == 0 {
		delete(a.external, k)
	}
}

// Reset removes every custom and external value.
func (a *MetricsAdapter) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.custom)
	clear(a.external)
}

func objectKey(gr schema.GroupResource, namespace, name, metric string) objectMetric {
	return objectMetric{group: gr.Group, resource: gr.Resource, namespace: namespace, name: name, metric: metric}
}

// normalize resolves a requested group-resource ("pod", "deployments.apps") to its plural form
// and kind, regenerating the discovery mapping once if it is not known yet (a CRD created by
// the test after the adapter started).
func (a *MetricsAdapter) normalize(gr schema.GroupResource) (schema.GroupVersionResource, schema.GroupVersionKind, error) {
	gvr, err := a.mapper.ResourceFor(gr.WithVersion(""))
	if apimeta.IsNoMatchError(err) {
		if rerr := a.mapper.RegenerateMappings(); rerr == nil {
			gvr, err = a.mapper.ResourceFor(gr.WithVersion(""))
		}
	}
	if err != nil {
		return gvr, schema.GroupVersionKind{}, err
	}
	gvk, err := a.mapper.KindFor(gvr)
	return gvr, gvk, err
}

func (a *MetricsAdapter) value(gvr schema.GroupVersionResource, gvk schema.GroupVersionKind, namespace, name, metric string) (*custom_metrics.MetricValue, bool) {
	a.mu.RLock()
	v, ok := a.custom[objectMetric{group: gvr.Group, resource: gvr.Resource, namespace: namespace, name: name, metric: metric}]
	a.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return &custom_metrics.MetricValue{
		DescribedObject: custom_metrics.ObjectReference{
			Kind:       gvk.Kind,
			APIVersion: gvk.GroupVersion().String(),
			Namespace:  namespace,
			Name:       name,
		},
		Metric:    custom_metrics.MetricIdentifier{Name: metric},
		Timestamp: metav1.Now(),
		Value:     v,
	}, true
}

// GetMetricByName implements provider.CustomMetricsProvider.
func (a *MetricsAdapter) GetMetricByName(_ context.Context, name types.NamespacedName, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	gvr, gvk, err := a.normalize(info.GroupResource)
	if err != nil {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	if metricSelector != nil && !metricSelector.Empty() {
		return nil, provider.NewMetricNotFoundForSelectorError(info.GroupResource, info.Metric, name.Name, metricSelector)
	}
	v, ok := a.value(gvr, gvk, name.Namespace, name.Name, info.Metric)
	if !ok {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	return v, nil
}

// GetMetricBySelector implements provider.CustomMetricsProvider: it lists the objects matching
// selector in the API server and returns the value of each one that has one.
func (a *MetricsAdapter) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	gvr, gvk, err := a.normalize(info.GroupResource)
	if err != nil {
		return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	list := &custom_metrics.MetricValueList{}
	if metricSelector != nil && !metricSelector.Empty() {
		return list, nil
	}
	objs, err := a.dyn.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
	}
	for _, o := range objs.Items {
		if v, ok := a.value(gvr, gvk, namespace, o.GetName(), info.Metric); ok {
			list.Items = append(list.Items, *v)
		}
	}
	return list, nil
}

// ListAllMetrics implements provider.CustomMetricsProvider: the metrics that have a value now.
func (a *MetricsAdapter) ListAllMetrics() []provider.CustomMetricInfo {
	a.mu.RLock()
	defer a.mu.RUnlock()
	seen := map[provider.CustomMetricInfo]bool{}
	for k := range a.custom {
		seen[provider.CustomMetricInfo{
			GroupResource: schema.GroupResource{Group: k.group, Resource: k.resource},
			Namespaced:    k.namespace != "",
			Metric:        k.metric,
		}] = true
	}
	return slices.Collect(maps.Keys(seen))
}

// GetExternalMetric implements provider.ExternalMetricsProvider. An unknown metric, or one whose
// series all fail the selector, gives an empty list, as the Prometheus adapter does for a query
// without results.
func (a *MetricsAdapter) GetExternalMetric(_ context.Context, namespace string, metricSelector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	if metricSelector == nil {
		metricSelector = labels.Everything()
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	list := &external_metrics.ExternalMetricValueList{}
	now := metav1.Now()
	for _, s := range a.external[externalKey{namespace, info.Metric}] {
		if !metricSelector.Matches(labels.Set(s.labels)) {
			continue
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{
			MetricName:   info.Metric,
			MetricLabels: maps.Clone(s.labels),
			Timestamp:    now,
			Value:        s.value.DeepCopy(),
		})
	}
	return list, nil
}

// ListAllExternalMetrics implements provider.ExternalMetricsProvider.
func (a *MetricsAdapter) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	a.mu.RLock()
	defer a.mu.RUnlock()
	seen := map[string]bool{}
	for k := range a.external {
		seen[k.metric] = true
	}
	var out []provider.ExternalMetricInfo
	for _, m := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, provider.ExternalMetricInfo{Metric: m})
	}
	return out
}

// adapterServer runs the MetricsAdapter's API server until ctx ends.
type adapterServer struct {
	adapter *MetricsAdapter
	errc    chan error // receives Run's result
}

// startAdapter builds the adapter's API server the way an adapter binary would from its flags:
// serving on ln with the given certificate, authenticating requests and checking them with
// TokenReview/SubjectAccessReview against the cluster through kubeconfig, and trusting the
// front-proxy client certificate the cluster publishes in kube-system/extension-apiserver-authentication.
func startAdapter(ctx context.Context, ln net.Listener, certFile, keyFile, kubeconfig string) (*adapterServer, error) {
	base := &basecmd.AdapterBase{
		Name:                 "kscale-testcluster-metrics-adapter",
		FlagSet:              pflag.NewFlagSet("kscale-testcluster-metrics-adapter", pflag.ContinueOnError),
		RemoteKubeConfigFile: kubeconfig,
		DiscoveryInterval:    10 * time.Second,
	}
	base.InstallFlags()
	o := base.CustomMetricsAdapterServerOptions
	o.SecureServing.Listener = ln
	o.SecureServing.BindAddress = net.IPv4(127, 0, 0, 1)
	o.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	o.SecureServing.ServerCert.CertKey.CertFile = certFile
	o.SecureServing.ServerCert.CertKey.KeyFile = keyFile
	o.Authentication.RemoteKubeConfigFile = kubeconfig
	o.Authorization.RemoteKubeConfigFile = kubeconfig
	o.EnableMetrics = false // no process-wide metrics registration from inside a test binary

	mapper, err := base.RESTMapper()
	if err != nil {
		return nil, fmt.Errorf("testcluster: metrics adapter: %w", err)
	}
	dyn, err := base.DynamicClient()
	if err != nil {
		return nil, fmt.Errorf("testcluster: metrics adapter: %w", err)
	}
	regen, ok := mapper.(*dynamicmapper.RegeneratingDiscoveryRESTMapper)
	if !ok {
		return nil, errors.New("testcluster: metrics adapter: unexpected REST mapper type")
	}
	regen.RunUntil(ctx.Done())
	a := &MetricsAdapter{
		custom:   map[objectMetric]resource.Quantity{},
		external: map[externalKey][]externalSeries{},
		mapper:   regen,
		dyn:      dyn,
	}
	base.WithCustomMetrics(a)
	base.WithExternalMetrics(a)
	if _, err := base.Server(); err != nil {
		return nil, fmt.Errorf("testcluster: metrics adapter: %w", err)
	}
	s := &adapterServer{adapter: a, errc: make(chan error, 1)}
	go func() { s.errc <- base.Run(ctx) }()
	return s, nil
}
