package autoscale

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	resourceclient "k8s.io/metrics/pkg/client/clientset/versioned"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"
)

// discoveryRefresh is how often cached discovery is dropped, as
// kube-controller-manager resets its REST mapper and custom metrics
// version cache.
const discoveryRefresh = 30 * time.Second

// ClientsForConfig builds every client from one rest.Config the way
// kube-controller-manager does: a discovery-backed REST mapper (cached,
// reset every 30 s while a controller runs), a scale client resolving
// /scale kinds through discovery, and the resource, custom and external
// metrics clients.
func ClientsForConfig(cfg *rest.Config) (Clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("kubernetes client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(disc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	scales, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(cached))
	if err != nil {
		return Clients{}, fmt.Errorf("scale client: %w", err)
	}
	res, err := resourceclient.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("resource metrics client: %w", err)
	}
	ext, err := externalclient.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("external metrics client: %w", err)
	}
	apis := customclient.NewAvailableAPIsGetter(disc)
	return Clients{Kube: kube, Scale: scales, Mapper: mapper, Resource: res,
		Custom:   customclient.NewForConfig(cfg, mapper, apis),
		External: ext,
		refresh:  func() { mapper.Reset(); apis.Invalidate() },
	}, nil
}

// refreshDiscovery drops the cached discovery every 30 s until ctx ends,
// when the clients came from ClientsForConfig.
func (c *Clients) refreshDiscovery(ctx context.Context) {
	if c.refresh != nil {
		go wait.UntilWithContext(ctx, func(context.Context) { c.refresh() }, discoveryRefresh)
	}
}
