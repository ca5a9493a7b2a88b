package schedcheck_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/internal/testcluster"
)

// TestPinKeepsSpreadDomains checks the replay's device against the scheduler itself: a pod
// held to a node by the pin toleration is still judged against every spread domain (the
// second pod on a node of two breaks maxSkew 1 and is refused), while a metadata.name
// matchFields term, which PodTopologySpread honours as node affinity, narrows the domains to
// the one node and lets the same pod bind.
func TestPinKeepsSpreadDomains(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()
	ns := c.Namespace(t)
	for _, name := range []string{"pin-n0", "pin-n1"} {
		if _, err := c.AddNode(ctx, testcluster.NodeSpec{Name: name,
			Labels: map[string]string{clusterKey: "pin"},
			Taints: []corev1.Taint{{Key: pinKey, Value: name, Effect: corev1.TaintEffectNoSchedule}}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.DeleteNode(context.Background(), name) })
	}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "x"}},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{clusterKey: "pin"},
				Containers:   []corev1.Container{{Name: "c", Image: "x"}},
				TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: hostKey,
					WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}},
				Tolerations: []corev1.Toleration{{Key: pinKey, Operator: corev1.TolerationOpEqual, Value: "pin-n0", Effect: corev1.TaintEffectNoSchedule}},
			},
		}
	}
	run := func(p *corev1.Pod) (string, string) {
		t.Helper()
		if _, err := c.AdminClient().CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		node, msg, err := verdict(ctx, c, ns, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		return node, msg
	}
	if node, msg := run(pod("x0")); node != "pin-n0" {
		t.Fatalf("x0: want bound to pin-n0, got %q (%s)", node, msg)
	}
	node, msg := run(pod("x1"))
	if node != "" || !strings.Contains(msg, "didn't match pod topology spread constraints") {
		t.Fatalf("x1 (pinned by taint): want refused for spread, got node %q message %q", node, msg)
	}
	if err := c.AdminClient().CoreV1().Pods(ns).Delete(ctx, "x1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	mf := pod("x2")
	mf.Spec.Tolerations[0] = corev1.Toleration{Key: pinKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	mf.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{
			Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"pin-n0"}}}}}}}}
	if node, msg := run(mf); node != "pin-n0" {
		t.Fatalf("x2 (pinned by matchFields): kube-scheduler no longer narrows spread domains to the pinned node: got node %q message %q; the replay could pin with matchFields", node, msg)
	}
}
