package nodes_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// A node is never removed while it runs a pod annotated
// cluster-autoscaler.kubernetes.io/safe-to-evict: "false", a pod whose
// PodDisruptionBudget allows no disruption, or a pod without a controller —
// over several unneeded periods — and the loop says why, with
// cluster-autoscaler's reasons. An empty node of the same group goes, so
// scale-down is working meanwhile.
func TestDrainRulesKeepNodes(t *testing.T) {
	cl := newASGCloud(t, cloudOpts{}, asgGroup{Name: "keep", Max: 4, Desired: 4})
	e := newEnv(t, cl)
	ctx := t.Context()
	e.waitNodes(4, 30*time.Second)

	// Three tiny pods, one per node (required anti-affinity among them).
	const blocker = "blocker"
	spread := func(s *corev1.PodSpec, labels map[string]string) {
		labels[blocker] = "yes"
		s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{blocker: "yes"}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
	}
	e.createDeployment("nosafe", 1, "100m", "64Mi", func(d *appsv1.Deployment) {
		spread(&d.Spec.Template.Spec, d.Spec.Template.Labels)
		d.Spec.Template.Annotations = map[string]string{"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
	})
	e.createDeployment("budget", 1, "100m", "64Mi", func(d *appsv1.Deployment) {
		spread(&d.Spec.Template.Spec, d.Spec.Template.Labels)
	})
	minAvailable := intstr.FromInt32(1) // = replicas: no disruption allowed
	if _, err := e.Kube.PolicyV1().PodDisruptionBudgets(e.NS).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "budget"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "budget"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.createPod("bare", "100m", "64Mi", func(p *corev1.Pod) { spread(&p.Spec, p.Labels) })

	pods := e.waitRunning(blocker+"=yes", 3, 30*time.Second)
	want := map[string]string{} // node → reason it stays
	for _, p := range pods {
		switch p.Labels["app"] {
		case "nosafe":
			want[p.Spec.NodeName] = simulate.ReasonNotSafeToEvictAnnotation
		case "budget":
			want[p.Spec.NodeName] = simulate.ReasonNotEnoughPdb
		case "bare":
			want[p.Spec.NodeName] = simulate.ReasonNotReplicated
		}
	}
	if len(want) != 3 {
		t.Fatalf("the three pods share nodes: %v", want)
	}
	// The disruption controller has counted the budget's healthy pod.
	waitFor(t, 30*time.Second, "PodDisruptionBudget status current", func() (bool, string) {
		pdb, err := e.Kube.PolicyV1().PodDisruptionBudgets(e.NS).Get(ctx, "budget", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.CurrentHealthy == 1 && pdb.Status.DisruptionsAllowed == 0,
			fmt.Sprintf("%+v", pdb.Status)
	})

	ca := e.startCA(nil)
	start := time.Now()
	// The empty node goes…
	waitFor(t, 60*time.Second, "the empty node removed", func() (bool, string) {
		return len(e.Bridge.Nodes()) == 3, fmt.Sprintf("nodes %v (deletes %+v)", e.Bridge.Nodes(), ca.Trace.Deletes())
	})
	// …the others stay, untainted, for three unneeded periods from the start.
	kept := make([]string, 0, len(want))
	for n := range want {
		kept = append(kept, n)
	}
	slices.Sort(kept)
	for time.Since(start) < 3*unneededTime+scanInterval {
		if got := e.Bridge.Nodes(); !slices.Equal(got, kept) {
			t.Fatalf("nodes %v, want %v kept", got, kept)
		}
		for _, n := range kept {
			if node := e.node(n); hasTaint(node, autoscaler.TaintToBeDeleted) || node.Spec.Unschedulable {
				t.Errorf("node %s (%s) is tainted or cordoned for removal: %v", n, want[n], node.Spec.Taints)
			}
		}
		time.Sleep(scanInterval)
	}
	for _, d := range ca.Trace.Deletes() {
		if r, ok := want[d.Node]; ok {
			t.Errorf("the loop decided to remove %s, which runs a pod blocking it (%s): %+v", d.Node, r, d)
		}
	}
	e.waitRunning(blocker+"=yes", 3, time.Second)

	// Why: the loop's last step and a Recommend now give each node's reason.
	steps := ca.Trace.Steps()
	if len(steps) == 0 {
		t.Fatal("no step traced")
	}
	check := func(what string, unremovable []simulate.Unremovable) {
		got := map[string]string{}
		for _, u := range unremovable {
			got[u.Node] = u.Reason
		}
		for n, r := range want {
			if got[n] != r {
				t.Errorf("%s: node %s unremovable as %q, want %q (all: %+v)", what, n, got[n], r, unremovable)
			}
		}
	}
	check("last step", steps[len(steps)-1].Actions.Unremovable)
	rec, err := ca.CA.Recommend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.DryRun || len(rec.Actions.Deletes) != 0 {
		t.Errorf("Recommend: dry run %v, deletes %+v", rec.DryRun, rec.Actions.Deletes)
	}
	check("Recommend", rec.Actions.Unremovable)
}
