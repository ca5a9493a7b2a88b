package testcluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Annotations kwok reads. A node is emulated by kwok when it carries KwokNodeAnnotation=fake;
// metrics-server scrapes it at the path in MetricsPathAnnotation. A pod's containers report the
// CPU and memory in UsageCPUAnnotation and UsageMemoryAnnotation (each container the whole
// value; without them 1m and 1Mi), through kwok's ClusterResourceUsage.
const (
	KwokNodeAnnotation    = "kwok.x-k8s.io/node"
	MetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"
	UsageCPUAnnotation    = "kwok.x-k8s.io/usage-cpu"
	UsageMemoryAnnotation = "kwok.x-k8s.io/usage-memory"
)

// NodeSpec describes a kwok node for AddNode.
type NodeSpec struct {
	Name       string            // required
	CPU        resource.Quantity // capacity and allocatable; zero means 4
	Memory     resource.Quantity // zero means 16Gi
	Pods       resource.Quantity // zero means 110
	Labels     map[string]string // added to kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch
	Taints     []corev1.Taint
	ProviderID string // spec.providerID, e.g. "aws:///us-east-1a/i-0123" for a cloud provider test
}

// AddNode creates a Node that kwok manages and metrics-server scrapes, and waits until it is
// Ready and (while the controller manager runs) free of the not-ready taint, so pods can be
// scheduled on it right away. Nodes are cluster-wide: delete them with DeleteNode when done.
func (c *Cluster) AddNode(ctx context.Context, spec NodeSpec) (*corev1.Node, error) {
	if spec.Name == "" {
		return nil, errors.New("testcluster: NodeSpec.Name is required")
	}
	orDefault := func(q resource.Quantity, def string) resource.Quantity {
		if q.IsZero() {
			return resource.MustParse(def)
		}
		return q.DeepCopy()
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    orDefault(spec.CPU, "4"),
		corev1.ResourceMemory: orDefault(spec.Memory, "16Gi"),
		corev1.ResourcePods:   orDefault(spec.Pods, "110"),
	}
	labels := map[string]string{
		"kubernetes.io/hostname": spec.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   spec.Name,
			Labels: labels,
			Annotations: map[string]string{
				KwokNodeAnnotation:    "fake",
				MetricsPathAnnotation: "/metrics/nodes/" + spec.Name + "/metrics/resource",
			},
		},
		Spec: corev1.NodeSpec{Taints: spec.Taints, ProviderID: spec.ProviderID},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			Phase:       corev1.NodeRunning,
		},
	}
	if _, err := c.admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("testcluster: create node %s: %w", spec.Name, err)
	}
	c.mu.Lock()
	kcmRunning := c.procs[ControllerManager] != nil
	c.mu.Unlock()
	var ready *corev1.Node
	err := waitFor(ctx, "node "+spec.Name+" Ready", time.Minute, nil, func(ctx context.Context) (bool, error) {
		n, err := c.admin.CoreV1().Nodes().Get(ctx, spec.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if !nodeReady(n) {
			return false, nil
		}
		if kcmRunning {
			for _, t := range n.Spec.Taints {
				if t.Key == "node.kubernetes.io/not-ready" || t.Key == "node.kubernetes.io/unreachable" {
					return false, nil
				}
			}
		}
		ready = n
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return ready, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// DeleteNode deletes a node; a missing node is not an error.
func (c *Cluster) DeleteNode(ctx context.Context, name string) error {
	err := c.admin.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("testcluster: delete node %s: %w", name, err)
	}
	return nil
}

// UsageAnnotations returns the pod annotations that make kwok report cpu and memory for each of
// the pod's containers. Put them in a pod template so that every new replica starts with that
// usage; SetPodUsage changes a running pod's.
func UsageAnnotations(cpu, memory resource.Quantity) map[string]string {
	return map[string]string{UsageCPUAnnotation: cpu.String(), UsageMemoryAnnotation: memory.String()}
}

// SetPodUsage sets the CPU and memory that kwok's emulated kubelet reports for each container
// of a pod (by annotating it), then reads the pod's node once at kwok so the CPU counter starts
// now: metrics-server then shows the new usage after its next scrape. metrics-server needs two
// scrapes of a container to report its CPU, so a pod's first PodMetrics come one to two
// MetricResolutions after this call; a change to an already-reported pod shows after one.
func (c *Cluster) SetPodUsage(ctx context.Context, namespace, pod string, cpu, memory resource.Quantity) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": UsageAnnotations(cpu, memory)}})
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	p, err := c.admin.CoreV1().Pods(namespace).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("testcluster: set usage of pod %s/%s: %w", namespace, pod, err)
	}
	if p.Spec.NodeName != "" {
		c.primeNodeMetrics(ctx, p.Spec.NodeName)
	}
	return nil
}

// SetPodsUsage applies SetPodUsage to every pod in namespace matching the label selector and
// returns how many it changed.
func (c *Cluster) SetPodsUsage(ctx context.Context, namespace, selector string, cpu, memory resource.Quantity) (int, error) {
	pods, err := c.admin.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return 0, fmt.Errorf("testcluster: list pods %s in %s: %w", selector, namespace, err)
	}
	for _, p := range pods.Items {
		if err := c.SetPodUsage(ctx, namespace, p.Name, cpu, memory); err != nil {
			return 0, err
		}
	}
	return len(pods.Items), nil
}

// primeNodeMetrics reads a node's emulated /metrics/resource once. kwok's cumulative CPU counter
// of a container starts at its first read, and metrics-server drops a container whose counter
// reads zero, so without this the first scrape after a pod starts is lost. Best effort.
func (c *Cluster) primeNodeMetrics(ctx context.Context, node string) {
	resp, err := c.kwokGet(ctx, "/metrics/nodes/"+node+"/metrics/resource")
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

var kwokClient = &http.Client{
	Timeout: 5 * time.Second,
	// kwok serves a self-signed test certificate; metrics-server reads it with --kubelet-insecure-tls too.
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback test server
}

func (c *Cluster) kwokGet(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:"+strconv.Itoa(c.ports.kwok)+path, nil)
	if err != nil {
		return nil, err
	}
	return kwokClient.Do(req)
}
