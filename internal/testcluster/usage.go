package testcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// UsageAnnotations returns the pod annotations that make kwok report cpu and memory for each of
// the pod's containers. Put them in a pod template so that every new replica starts with that
// usage; SetPodUsage changes a running pod's.
func UsageAnnotations(cpu, memory resource.Quantity) map[string]string {
	return map[string]string{UsageCPUAnnotation: cpu.String(), UsageMemoryAnnotation: memory.String()}
}

// SetPodUsage sets the CPU and memory that kwok's emulated kubelet reports for each container of
// a pod, by annotating it. kwok integrates CPU lazily: each read of a node's /metrics/resource
// adds the time since the previous read at the usage in force now. metrics-server's next scrape
// therefore reports the new CPU for its whole interval, with no blending of old and new: a
// change shows in PodMetrics after at most one MetricResolution (memory is a gauge and shows at
// the same scrape). The harness reads a node between scrapes only when a new pod starts on it
// (see primeMetrics), which can split a change made in that same interval over two scrapes.
func (c *Cluster) SetPodUsage(ctx context.Context, namespace, pod string, cpu, memory resource.Quantity) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": UsageAnnotations(cpu, memory)}})
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	if _, err := c.admin.CoreV1().Pods(namespace).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("testcluster: set usage of pod %s/%s: %w", namespace, pod, err)
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

// primeMetrics reads a kwok node's /metrics/resource as soon as a pod starts running on it, at
// most once per interval per node. kwok starts a container's cumulative CPU counter at its first
// read and reports zero then, and metrics-server drops containers whose CPU reads zero; without
// this read the first scrape of every new pod (after a scale-up, say) is lost and its first
// PodMetrics come a whole MetricResolution later. Nodes without new pods are left alone so that
// usage changes are not blended (see SetPodUsage). It runs until ctx ends.
func (c *Cluster) primeMetrics(ctx context.Context, interval time.Duration) {
	var (
		mu     sync.Mutex
		primed = map[types.UID]bool{} // running pods kwok has been asked about
		nodes  = map[string]bool{}    // nodes with a running pod not primed yet
	)
	note := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !primed[p.UID] {
			primed[p.UID] = true
			nodes[p.Spec.NodeName] = true
		}
	}
	factory := informers.NewSharedInformerFactory(c.admin, 0)
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    note,
		UpdateFunc: func(_, obj any) { note(obj) },
		DeleteFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok {
				mu.Lock()
				delete(primed, p.UID)
				mu.Unlock()
			}
		},
	})
	factory.Start(ctx.Done())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			factory.Shutdown()
			return
		case <-t.C:
		}
		mu.Lock()
		todo := nodes
		nodes = map[string]bool{}
		mu.Unlock()
		for n := range todo {
			c.primeNodeMetrics(ctx, n)
		}
	}
}

// primeNodeMetrics reads a node's emulated /metrics/resource once. Best effort.
func (c *Cluster) primeNodeMetrics(ctx context.Context, node string) {
	resp, err := c.kwokGet(ctx, "/metrics/nodes/"+node+"/metrics/resource")
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// WaitPodMetrics waits until metrics-server reports PodMetrics for every running pod in
// namespace matching the label selector (and at least one pod matches), for example before
// starting an autoscaler so that its first sync already sees every pod. It returns ctx's error,
// with what was missing, if ctx ends first.
func (c *Cluster) WaitPodMetrics(ctx context.Context, namespace, selector string) error {
	mc, err := metricsclient.NewForConfig(c.cfg)
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	var missing []string
	for {
		missing = missing[:0]
		pods, err := c.admin.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			have := map[string]bool{}
			if list, err := mc.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector}); err == nil {
				for _, pm := range list.Items {
					have[pm.Name] = true
				}
			}
			running := 0
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
					running++
					if !have[p.Name] {
						missing = append(missing, p.Name)
					}
				}
			}
			if running > 0 && len(missing) == 0 {
				return nil
			}
			if running == 0 {
				missing = append(missing, "(no running pod matches "+selector+")")
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testcluster: waiting for PodMetrics of %v in %s: %w", missing, namespace, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
