package autoscale

import (
	"context"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// clusterReporter makes a ClusterAutoscaler visible as cluster-autoscaler
// is: the status ConfigMap, Events on pods and nodes, Prometheus metrics.
// (Placeholder bodies while the reporter is written; see clusterreport.go's
// owner.)
type clusterReporter struct {
	kube      kubernetes.Interface
	rec       *recorder
	log       logr.Logger
	namespace string // status ConfigMap namespace
	name      string // status ConfigMap name
}

// newClusterReporter registers the metrics on reg (nil: none).
func newClusterReporter(kube kubernetes.Interface, rec *recorder, reg prometheus.Registerer, log logr.Logger, namespace, name string) (*clusterReporter, error) {
	return &clusterReporter{kube: kube, rec: rec, log: log, namespace: namespace, name: name}, nil
}

// publish reports one scan: metrics, pod Events (TriggeredScaleUp,
// NotTriggerScaleUp), node Events for r.Finished, and (unless r.DryRun)
// the status ConfigMap.
func (c *clusterReporter) publish(ctx context.Context, r *ScanResult) {}

// nodeEvent records an Event on a node as cluster-autoscaler does
// (ScaleDown when a node is tainted for removal, ScaleDownFailed).
func (c *clusterReporter) nodeEvent(n *corev1.Node, typ, reason, msg string) {}

// podEvicted records the ScaleDown Event on a pod evicted for a node's
// removal and counts it.
func (c *clusterReporter) podEvicted(p *corev1.Pod, node string) {}
