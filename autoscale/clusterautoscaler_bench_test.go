package autoscale

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/fake"
)

// indexed is the fake provider with NodeGroupForNode through a map, as
// the cloud providers index their instances (the fake scans its groups).
type indexed struct {
	*fake.Provider
	by map[string]nodegroup.NodeGroup
}

func (p *indexed) NodeGroupForNode(_ context.Context, id string) (nodegroup.NodeGroup, error) {
	return p.by[id], nil
}

// bigCluster is a ClusterAutoscaler whose informer stores hold nodes
// nodes in 10 groups, pods bound pods spread evenly (100m CPU, 256Mi each)
// and 100 unschedulable pods, as a dry run.
func bigCluster(b *testing.B, nodes, pods int) *ClusterAutoscaler {
	b.Helper()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const groups = 10
	var cfgs []fake.GroupConfig
	for g := range groups {
		cfgs = append(cfgs, fake.GroupConfig{ID: fmt.Sprintf("g%d", g), Max: nodes, Size: nodes / groups,
			Template: nodegroup.Template{InstanceType: "m5.xlarge", Labels: map[string]string{"pool": fmt.Sprintf("g%d", g)},
				Allocatable: nodegroup.Resources{MilliCPU: 4000, Memory: 16 << 30, Pods: 110}}})
	}
	prov := &indexed{Provider: fake.New(now, cfgs...), by: map[string]nodegroup.NodeGroup{}}
	ngs, _ := prov.NodeGroups(context.Background())
	ca, err := NewClusterAutoscaler(ClusterAutoscalerConfig{Kube: kubefake.NewClientset(), Provider: prov, DryRun: true,
		Clock: testingclock.NewFakeClock(now), Recorder: record.NewFakeRecorder(1)})
	if err != nil {
		b.Fatal(err)
	}
	nodeStore := ca.factory.Core().V1().Nodes().Informer().GetStore()
	var names []string
	for _, ng := range ngs {
		insts, _ := ng.Nodes(context.Background())
		for _, in := range insts {
			prov.by[in.ProviderID] = ng
			name := fmt.Sprintf("node-%05d", len(names))
			names = append(names, name)
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": ng.Id()},
				CreationTimestamp: metav1.NewTime(now.Add(-time.Duration(len(names)) * time.Second))},
				Spec: corev1.NodeSpec{ProviderID: in.ProviderID},
				Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"),
					corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
			if err := nodeStore.Add(n); err != nil {
				b.Fatal(err)
			}
		}
	}
	podStore := ca.factory.Core().V1().Pods().Informer().GetStore()
	yes := true
	req := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
	for i := range pods + 100 {
		node := ""
		if i < pods {
			node = names[i%len(names)]
		}
		app := fmt.Sprintf("app-%d", i%500)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", app, i), Namespace: fmt.Sprintf("ns-%d", i%50),
			UID: types.UID(fmt.Sprintf("uid-%d", i)), ResourceVersion: "1", Labels: map[string]string{"app": app},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: app, Controller: &yes}}},
			Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: req}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		if node == "" {
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
		}
		if err := podStore.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	// The stores are filled by hand: report them synced.
	ca.synced = []cache.InformerSynced{func() bool { return true }}
	ca.started.Store(true)
	ca.version.Add(1)
	ca.podsVersion.Add(1)
	return ca
}

// BenchmarkClusterAutoscalerScan is one dry-run Scan over 5 000 nodes and
// 100 000 pods held in the informers: "unchanged" with no informer event
// since the last scan (the observation and Step's memo reused), "changed"
// after a node or bound-pod event (nodes and pods rebuilt, conversions
// reused), "cold" with the conversion cache dropped too.
func BenchmarkClusterAutoscalerScan(b *testing.B) {
	const nodes, pods = 5000, 100_000
	ca := bigCluster(b, nodes, pods)
	ctx := context.Background()
	res, err := ca.Scan(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if res.Nodes != nodes || len(res.Unschedulable) != 100 {
		b.Fatalf("scan saw %d nodes, %d unschedulable", res.Nodes, len(res.Unschedulable))
	}
	for _, bc := range []struct {
		name   string
		before func()
	}{
		{"unchanged", func() {}},
		{"changed", func() { ca.version.Add(1) }},
		{"cold", func() { ca.version.Add(1); ca.conv = nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.before()
				if _, err := ca.Scan(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pods+100)*float64(b.N)/b.Elapsed().Seconds(), "pods/s")
		})
	}
}
