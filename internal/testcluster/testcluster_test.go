package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/metrics/pkg/client/custom_metrics"
	"k8s.io/metrics/pkg/client/external_metrics"

	"github.com/kscale/kscale/internal/testcluster"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }

// poll calls cond every interval until it returns true or an error, or timeout passes; on
// timeout the test fails with the last message cond reported.
func poll(t *testing.T, what string, interval, timeout time.Duration, cond func(ctx context.Context) (bool, string, error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), interval, timeout, true, func(ctx context.Context) (bool, error) {
		ok, msg, err := cond(ctx)
		last = msg
		return ok, err
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %s)", what, err, last)
	}
}

// addNode adds a kwok node for this test and deletes it afterwards.
func addNode(t *testing.T, c *testcluster.Cluster, name string) *corev1.Node {
	t.Helper()
	n, err := c.AddNode(t.Context(), testcluster.NodeSpec{
		Name:   name,
		CPU:    resource.MustParse("8"),
		Memory: resource.MustParse("32Gi"),
		Labels: map[string]string{"kscale.dev/test-node": name},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteNode(context.Background(), name) })
	return n
}

// deployment is a Deployment pinned to one node, its pods requesting 100m CPU and reporting
// usage through the kwok annotations in their template.
func deployment(name, node string, replicas int32, cpu, memory string) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      lbl,
					Annotations: testcluster.UsageAnnotations(resource.MustParse(cpu), resource.MustParse(memory)),
				},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kscale.dev/test-node": node},
					Containers: []corev1.Container{{
						Name:  "app",
						Image: "registry.k8s.io/pause:3.10",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("100m"),
							corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
					}},
				},
			},
		},
	}
}

// runningPods waits until the Deployment has want available replicas and returns its pods.
func runningPods(t *testing.T, cs kubernetes.Interface, ns string, d *appsv1.Deployment, want int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	poll(t, "pods of "+d.Name+" Running", 200*time.Millisecond, 90*time.Second, func(ctx context.Context) (bool, string, error) {
		got, err := cs.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + d.Name})
		if err != nil {
			return false, "", err
		}
		pods = slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		msg := fmt.Sprintf("%d pods, %d Running, deployment available %d", len(pods), running, got.Status.AvailableReplicas)
		return running == want && len(pods) == want && got.Status.AvailableReplicas == int32(want), msg, nil
	})
	return pods
}

func TestDeploymentRunsOnKwokNodes(t *testing.T) {
	c := testcluster.Shared(t)
	ns := c.Namespace(t)
	cs := c.AdminClient()
	node := addNode(t, c, "sched-0")
	if addr := node.Status.Addresses; len(addr) == 0 || addr[0].Address != "127.0.0.1" {
		t.Errorf("node addresses = %v, want InternalIP 127.0.0.1 (kwok --node-ip)", addr)
	}
	d := deployment("web", "sched-0", 3, "50m", "32Mi")
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := runningPods(t, cs, ns, d, 3)
	for _, p := range pods {
		if p.Spec.NodeName != "sched-0" {
			t.Errorf("pod %s on node %q, want sched-0 (bound by kube-scheduler)", p.Name, p.Spec.NodeName)
		}
		if !slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue
		}) {
			t.Errorf("pod %s has no PodScheduled=True condition: %v", p.Name, p.Status.Conditions)
		}
	}
}

func TestPodMetricsFollowUsage(t *testing.T) {
	c := testcluster.Shared(t)
	ns := c.Namespace(t)
	cs := c.AdminClient()
	addNode(t, c, "metrics-0")
	d := deployment("busy", "metrics-0", 2, "200m", "64Mi")
	if _, err := cs.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := runningPods(t, cs, ns, d, 2)
	started := time.Now()
	// Change one pod's CPU right away; the other keeps its template's 200m.
	if err := c.SetPodUsage(t.Context(), ns, pods[0].Name, resource.MustParse("750m"), resource.MustParse("96Mi")); err != nil {
		t.Fatal(err)
	}
	mc, err := metricsclient.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{ // pod -> {CPU cores, memory bytes}
		pods[0].Name: {0.750, 96 << 20},
		pods[1].Name: {0.200, 64 << 20},
	}
	poll(t, "PodMetrics reflect the usage annotations", time.Second, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		list, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=busy"})
		if err != nil {
			return false, err.Error(), nil // metrics-server has no data yet, or the APIService blinks
		}
		got := map[string][2]float64{}
		for _, pm := range list.Items {
			for _, ct := range pm.Containers {
				got[pm.Name] = [2]float64{ct.Usage.Cpu().AsApproximateFloat64(), ct.Usage.Memory().AsApproximateFloat64()}
			}
		}
		for pod, w := range want {
			g, ok := got[pod]
			// metrics-server derives CPU from two readings of kwok's cumulative counter, so allow
			// a few percent for the time between kwok's reading and its timestamp; memory is a
			// gauge and exact.
			if !ok || math.Abs(g[0]-w[0]) > 0.05*w[0] || g[1] != w[1] {
				return false, fmt.Sprintf("got %v, want %v", got, want), nil
			}
		}
		return true, "", nil
	})
	t.Logf("first PodMetrics matching the usage %s after the pods were Running", time.Since(started).Round(time.Second))

	nm, err := mc.MetricsV1beta1().NodeMetricses().Get(t.Context(), "metrics-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("NodeMetrics of metrics-0: %v", err)
	}
	if nm.Usage.Cpu().IsZero() {
		t.Errorf("NodeMetrics of metrics-0 CPU = %s, want > 0", nm.Usage.Cpu())
	}

	// A change to a pod that metrics-server already reports shows after about one scrape.
	changed := time.Now()
	if err := c.SetPodUsage(t.Context(), ns, pods[1].Name, resource.MustParse("1200m"), resource.MustParse("64Mi")); err != nil {
		t.Fatal(err)
	}
	poll(t, "PodMetrics follow a usage change", time.Second, time.Minute, func(ctx context.Context) (bool, string, error) {
		pm, err := mc.MetricsV1beta1().PodMetricses(ns).Get(ctx, pods[1].Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		cpu := pm.Containers[0].Usage.Cpu().AsApproximateFloat64()
		return math.Abs(cpu-1.2) <= 0.06, fmt.Sprintf("cpu %v", cpu), nil
	})
	t.Logf("usage change visible in PodMetrics after %s", time.Since(changed).Round(time.Second))
}

func customMetricsClient(t *testing.T, cfg *rest.Config) custom_metrics.CustomMetricsClient {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return custom_metrics.NewForConfig(cfg, mapper, custom_metrics.NewAvailableAPIsGetter(dc))
}

func TestCustomAndExternalMetricsThroughAggregator(t *testing.T) {
	c := testcluster.Shared(t)
	ns := c.Namespace(t)
	cs := c.AdminClient()
	m := c.Metrics()
	t.Cleanup(m.Reset)

	// Both custom.metrics.k8s.io versions and external.metrics.k8s.io are served by the adapter.
	groups, err := cs.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			served[v.GroupVersion] = true
		}
	}
	for _, gv := range []string{"custom.metrics.k8s.io/v1beta2", "custom.metrics.k8s.io/v1beta1", "external.metrics.k8s.io/v1beta1", "metrics.k8s.io/v1beta1"} {
		if !served[gv] {
			t.Errorf("discovery does not list %s", gv)
		}
	}

	// Pods metric, read by selector as an HPA's Pods metric does: only labelled pods with a value.
	for i, app := range []string{"queue", "queue", "other"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		}
		if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		m.SetPodMetric(ns, pod.Name, "requests_per_second", resource.MustParse(fmt.Sprintf("%d", 10*(i+1))))
	}
	m.SetObjectMetric(schema.GroupResource{Group: "apps", Resource: "deployments"}, ns, "web", "queue_length", resource.MustParse("42"))
	m.SetExternalMetric(ns, "sqs_messages", map[string]string{"queue": "jobs"}, resource.MustParse("120"))
	m.SetExternalMetric(ns, "sqs_messages", map[string]string{"queue": "mail"}, resource.MustParse("7"))

	cm := customMetricsClient(t, c.Config())
	sel := labels.SelectorFromSet(labels.Set{"app": "queue"})
	list, err := cm.NamespacedMetrics(ns).GetForObjects(schema.GroupKind{Kind: "Pod"}, sel, "requests_per_second", labels.Everything())
	if err != nil {
		t.Fatalf("pods metric through the aggregator: %v", err)
	}
	got := map[string]int64{}
	for _, v := range list.Items {
		got[v.DescribedObject.Name] = v.Value.Value()
	}
	if want := map[string]int64{"p0": 10, "p1": 20}; !mapsEqual(got, want) {
		t.Errorf("pods metric by selector = %v, want %v", got, want)
	}

	obj, err := cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", "queue_length", labels.Everything())
	if err != nil {
		t.Fatalf("object metric through the aggregator: %v", err)
	}
	if obj.Value.Value() != 42 || obj.DescribedObject.Kind != "Deployment" || obj.DescribedObject.Name != "web" {
		t.Errorf("object metric = %+v, want Deployment web = 42", obj)
	}

	em, err := external_metrics.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	ext, err := em.NamespacedMetrics(ns).List("sqs_messages", labels.SelectorFromSet(labels.Set{"queue": "jobs"}))
	if err != nil {
		t.Fatalf("external metric through the aggregator: %v", err)
	}
	if len(ext.Items) != 1 || ext.Items[0].Value.Value() != 120 {
		t.Errorf("external metric queue=jobs = %+v, want one value 120", ext.Items)
	}
	all, err := em.NamespacedMetrics(ns).List("sqs_messages", labels.Everything())
	if err != nil || len(all.Items) != 2 {
		t.Errorf("external metric, every series = %+v, %v; want 2 series", all, err)
	}

	// A metric that disappears is NotFound, as from the Prometheus adapter.
	m.DeleteObjectMetric(schema.GroupResource{Group: "apps", Resource: "deployments"}, ns, "web", "queue_length")
	_, err = cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", "queue_length", labels.Everything())
	if !apierrors.IsNotFound(err) {
		t.Errorf("deleted object metric: err = %v, want NotFound", err)
	}
	m.DeleteExternalMetric(ns, "sqs_messages", nil)
	ext, err = em.NamespacedMetrics(ns).List("sqs_messages", labels.Everything())
	if err != nil || len(ext.Items) != 0 {
		t.Errorf("deleted external metric = %+v, %v; want an empty list", ext, err)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestServiceAccountClientFollowsRBAC(t *testing.T) {
	c := testcluster.Shared(t)
	ns := c.Namespace(t)
	cs := c.AdminClient()
	sa := c.ServiceAccountClient(t, ns, "autoscaler")
	cm := customMetricsClient(t, c.ServiceAccountConfig(t, ns, "autoscaler"))
	c.Metrics().SetObjectMetric(schema.GroupResource{Group: "apps", Resource: "deployments"}, ns, "web", "rbac_probe", resource.MustParse("1"))
	t.Cleanup(func() {
		c.Metrics().DeleteObjectMetric(schema.GroupResource{Group: "apps", Resource: "deployments"}, ns, "web", "rbac_probe")
	})

	_, err := sa.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list pods without RBAC: err = %v, want Forbidden", err)
	}
	// The adapter authorizes through the cluster (SubjectAccessReview), behind the aggregator.
	_, err = cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", "rbac_probe", labels.Everything())
	if !apierrors.IsForbidden(err) {
		t.Fatalf("read a custom metric without RBAC: err = %v, want Forbidden", err)
	}

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "autoscaler"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
			{APIGroups: []string{"custom.metrics.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"get"}},
		},
	}
	if _, err := cs.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "autoscaler"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "autoscaler"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "autoscaler", Namespace: ns}},
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The authorizer's cache follows the RoleBinding within moments; the adapter caches
	// SubjectAccessReview denials for 10 s (the delegated authorizer's default), so allow that.
	poll(t, "access after the RoleBinding", 250*time.Millisecond, 30*time.Second, func(ctx context.Context) (bool, string, error) {
		if _, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil {
			return false, "list pods: " + err.Error(), nil
		}
		v, err := cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", "rbac_probe", labels.Everything())
		if err != nil {
			return false, "custom metric: " + err.Error(), nil
		}
		if v.Value.Value() != 1 {
			return false, "", errors.New("custom metric value " + v.Value.String())
		}
		return true, "", nil
	})
	// Still nothing beyond the Role.
	if _, err := sa.CoreV1().Pods(ns).Create(t.Context(), &corev1.Pod{}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create a pod with a list-only Role: err = %v, want Forbidden", err)
	}
}
