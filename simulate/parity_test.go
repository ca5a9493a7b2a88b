package simulate

import (
	"fmt"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

const mib = 1 << 20

// caEstimatorCase is cluster-autoscaler's BenchmarkBinpackingEstimate
// workload: template 1000m / 5000 MiB / 100 pods; 50 000 pods of (50m,
// 100 B) and 1 000 of (95m, 190 B); node limit 3 000.
func caEstimatorCase() (*Cluster, Group) {
	c := &Cluster{Pods: make([]Pod, 0, 51000)}
	for i := 0; i < 50000; i++ {
		c.Pods = append(c.Pods, Pod{Namespace: "default", Name: fmt.Sprintf("a-%d", i), Requests: nodegroup.Resources{MilliCPU: 50, Memory: 100}})
	}
	for i := 0; i < 1000; i++ {
		c.Pods = append(c.Pods, Pod{Namespace: "default", Name: fmt.Sprintf("b-%d", i), Requests: nodegroup.Resources{MilliCPU: 95, Memory: 190}})
	}
	g := Group{ID: "ng", Max: 10000, Template: nodegroup.Template{
		Allocatable: nodegroup.Resources{MilliCPU: 1000, Memory: 5000 * mib, Pods: 100},
		Capacity:    nodegroup.Resources{MilliCPU: 1000, Memory: 5000 * mib, Pods: 100},
	}}
	return c, g
}

func TestEstimateCAParity(t *testing.T) {
	c, g := caEstimatorCase()
	est, err := Estimate(c, g, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if est.Nodes != 2595 || len(est.Pods) != 51000 || est.LimitReached {
		t.Fatalf("got %d nodes, %d pods, limit %v; want 2595, 51000", est.Nodes, len(est.Pods), est.LimitReached)
	}
}

func BenchmarkEstimateCAParity(b *testing.B) {
	c, g := caEstimatorCase()
	b.ReportAllocs()
	for b.Loop() {
		est, err := Estimate(c, g, 3000)
		if err != nil || est.Nodes != 2595 || len(est.Pods) != 51000 {
			b.Fatalf("got %d nodes, %d pods, %v", est.Nodes, len(est.Pods), err)
		}
	}
	b.ReportMetric(float64(51000*b.N)/b.Elapsed().Seconds(), "pods/s")
}

// caScaleUpCase is cluster-autoscaler's BenchmarkRunOnceScaleUp workload:
// one group (0..10 000), template 10 cores / 10 000 B / 100 pods, 50 000
// unowned pods of (200m, 200 B).
func caScaleUpCase() (*Cluster, []Group) {
	c := &Cluster{Pods: make([]Pod, 50000)}
	for i := range c.Pods {
		c.Pods[i] = Pod{Namespace: "default", Name: fmt.Sprintf("p-%d", i), Requests: nodegroup.Resources{MilliCPU: 200, Memory: 200}}
	}
	g := Group{ID: "ng", Max: 10000, Template: nodegroup.Template{
		Allocatable: nodegroup.Resources{MilliCPU: 10000, Memory: 10000, Pods: 100},
	}}
	return c, []Group{g}
}

func TestScaleUpCAParity(t *testing.T) {
	c, gs := caScaleUpCase()
	r, err := ScaleUp(c, gs, ScaleUpOptions{Limits: DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Increases) != 1 || r.Increases[0] != (Increase{Group: "ng", Delta: 1000}) || len(r.Unschedulable) != 0 {
		t.Fatalf("got %+v, %d unschedulable; want ng +1000", r.Increases, len(r.Unschedulable))
	}
}

func BenchmarkScaleUpCAParity(b *testing.B) {
	c, gs := caScaleUpCase()
	b.ReportAllocs()
	for b.Loop() {
		r, err := ScaleUp(c, gs, ScaleUpOptions{Limits: DefaultLimits()})
		if err != nil || len(r.Increases) != 1 || r.Increases[0].Delta != 1000 {
			b.Fatalf("got %+v, %v", r, err)
		}
	}
	b.ReportMetric(float64(50000*b.N)/b.Elapsed().Seconds(), "pods/s")
}

// caScaleDownCase is cluster-autoscaler's BenchmarkRunOnceScaleDown
// workload: 2 000 nodes with 40 pods each at 1 % of CPU and memory, all
// safe to evict.
func caScaleDownCase() (*Cluster, []Group) {
	c := &Cluster{Nodes: make([]Node, 2000), Pods: make([]Pod, 0, 80000)}
	owner := &Owner{Kind: "ReplicaSet", Name: "rs"}
	for i := range c.Nodes {
		name := fmt.Sprintf("node-%04d", i)
		c.Nodes[i] = Node{Name: name, Group: "ng", Allocatable: nodegroup.Resources{MilliCPU: 1000, Memory: 1000 * mib, Pods: 110}}
		for j := 0; j < 40; j++ {
			c.Pods = append(c.Pods, Pod{Namespace: "default", Name: fmt.Sprintf("p-%d-%d", i, j), NodeName: name, Owner: owner,
				SafeToEvict: "true", Requests: nodegroup.Resources{MilliCPU: 10, Memory: 10 * mib}})
		}
	}
	return c, []Group{{ID: "ng", Max: 2000, Target: 2000}}
}

func TestScaleDownCAParity(t *testing.T) {
	c, gs := caScaleDownCase()
	r, err := ScaleDown(c, gs, DefaultScaleDown())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Removable) != 1200 {
		t.Fatalf("%d removable, want 1200", len(r.Removable))
	}
	for _, u := range r.Unremovable {
		if u.Reason != ReasonNoPlaceToMovePods {
			t.Fatalf("unexpected %+v", u)
		}
	}
}

func BenchmarkScaleDownCAParity(b *testing.B) {
	c, gs := caScaleDownCase()
	b.ReportAllocs()
	for b.Loop() {
		r, err := ScaleDown(c, gs, DefaultScaleDown())
		if err != nil || len(r.Removable) != 1200 {
			b.Fatalf("%v %v", len(r.Removable), err)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "nodes/s")
}
