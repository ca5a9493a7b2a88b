package nodes_test

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/simulate"
)

// Pods that do not fit make exactly the nodes simulate.ScaleUp predicts join,
// and every pod runs; with the load removed, the nodes are drained through the
// Eviction API, terminated in the cloud, and their Nodes go. On an Auto
// Scaling group and on an ESS group in both of its scale modes.
func TestScaleUpAndDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cloud func(t *testing.T) *cloud
	}{
		{"asg", func(t *testing.T) *cloud {
			return newASGCloud(t, cloudOpts{}, asgGroup{Name: "web", Max: 6, Zones: []string{"us-test-1a", "us-test-1b"}})
		}},
		{"ess-adjustment", func(t *testing.T) *cloud {
			return newESSCloud(t, cloudOpts{}, ess.ScaleWithAdjustment, essGroup{ID: "asg-web", Max: 6})
		}},
		{"ess-rules", func(t *testing.T) *cloud {
			return newESSCloud(t, cloudOpts{}, ess.ScalingRules, essGroup{ID: "asg-web", Max: 6})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { scaleUpAndDown(t, tc.cloud(t)) })
	}
}

func scaleUpAndDown(t *testing.T, cl *cloud) {
	e := newEnv(t, cl)
	ctx := t.Context()
	group := cl.Groups[0]
	const (
		replicas = 5
		cpu      = "800m"
		memory   = "512Mi"
		kept     = 2 // replicas after the load is removed
	)

	// The prediction, from the template and the pods: a 2-vCPU node's
	// allocatable (less the kubelet's reservations) holds two 800m pods.
	tpl := cl.template(t, group)
	per := podsPerNode(tpl, milli(cpu), bytesOf(memory))
	want := ceilDiv(replicas, per)
	if per != 2 || want != 3 {
		t.Fatalf("template %s allocatable %+v: %d pods per node, %d nodes; the test expects 2 and 3", tpl.InstanceType, tpl.Allocatable, per, want)
	}
	res := simulateScaleUp(t, &simulate.Cluster{Pods: pendingPods(e.NS, "web", replicas, milli(cpu), bytesOf(memory))},
		[]simulate.Group{{ID: group, Min: 0, Max: 6, Target: 0, Template: tpl}}, nil)
	if len(res.Increases) != 1 || res.Increases[0].Group != group || res.Increases[0].Delta != want {
		t.Fatalf("simulate.ScaleUp: increases %+v (%s), want %s +%d", res.Increases, res.Reason, group, want)
	}

	ev := e.watchEvictions()
	ca := e.startCA(nil)
	e.createDeployment("web", replicas, cpu, memory, nil)

	// Scale-up: every pod Running on exactly the predicted nodes.
	pods := e.waitRunning("app=web", replicas, 90*time.Second)
	nodes := e.waitNodes(want, 30*time.Second)
	for _, p := range pods {
		if e.nodeGroup(p.Spec.NodeName) != group {
			t.Errorf("pod %s runs on %s, not a node of %s", p.Name, p.Spec.NodeName, group)
		}
	}
	// A few more scans change nothing: no second scale-up.
	time.Sleep(2 * scanInterval)
	if got := cl.desired(t, group); got != want {
		t.Errorf("desired capacity %d after the scale-up, want %d", got, want)
	}
	if got := increased(ca.Trace.Increases(), group); got != want {
		t.Errorf("increases %+v: +%d in all, want +%d", ca.Trace.Increases(), got, want)
	}
	if got := e.Bridge.Nodes(); len(got) != want {
		t.Errorf("nodes %v after the scale-up, want %d", got, want)
	}

	// Remove the load: keep one pod on each of two nodes (the ReplicaSet
	// deletes pods of lower pod-deletion-cost first), so one of those nodes
	// can only go by evicting its pod to the other.
	pods = e.waitRunning("app=web", replicas, 10*time.Second)
	keepOn := map[string]bool{}
	for _, p := range pods {
		if len(keepOn) == kept {
			break
		}
		if keepOn[p.Spec.NodeName] {
			continue
		}
		keepOn[p.Spec.NodeName] = true
		patch := []byte(`{"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"1000"}}}`)
		if _, err := e.Kube.CoreV1().Pods(e.NS).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(keepOn) != kept {
		t.Fatalf("pods %d on nodes %v: want them on %d nodes at least", len(pods), nodes, kept)
	}
	e.scale("web", kept)

	// Scale-down: one node left (two 800m pods fit one), the others drained
	// and terminated.
	left := ceilDiv(kept, per)
	waitFor(t, 90*time.Second, fmt.Sprintf("%d nodes, desired and instances after the load went", left), func() (bool, string) {
		return len(e.Bridge.Nodes()) == left && cl.desired(t, group) == left && len(cl.instances(group)) == left,
			fmt.Sprintf("nodes %v, desired %d, instances %+v (deletes %+v)", e.Bridge.Nodes(), cl.desired(t, group), cl.instances(group), ca.Trace.Deletes())
	})
	pods = e.waitRunning("app=web", kept, 30*time.Second)
	last := e.Bridge.Nodes()[0]
	for _, p := range pods {
		if p.Spec.NodeName != last {
			t.Errorf("pod %s runs on %s, want the node left, %s", p.Name, p.Spec.NodeName, last)
		}
	}
	// At least one node holding a kept pod was drained through the Eviction
	// API, and no pod was evicted from the node left.
	evicted := ev.Evicted()
	if len(evicted) == 0 {
		t.Errorf("no pod was evicted")
	}
	for pod, node := range evicted {
		if node == last {
			t.Errorf("pod %s evicted from %s, the node left", pod, node)
		}
	}
	// The removals the loop decided are the nodes that went.
	deleted := map[string]bool{}
	for _, d := range ca.Trace.Deletes() {
		if d.Group != group {
			t.Errorf("delete %+v of another group", d)
		}
		deleted[d.Node] = true
	}
	for _, n := range nodes {
		if deleted[n] == (n == last) {
			t.Errorf("node %s: deleted by the loop %v, but it is the node left: %v", n, deleted[n], n == last)
		}
	}
}
