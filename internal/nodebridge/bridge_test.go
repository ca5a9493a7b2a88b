package nodebridge_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/internal/nodebridge"
	"github.com/kscale/kscale/internal/testcluster"
	"github.com/kscale/kscale/nodegroup"
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }

func newASG(t *testing.T) (*asgtest.Server, *asg.Provider) {
	t.Helper()
	srv := asgtest.NewServer(asgtest.Config{LaunchDelay: time.Second, TerminateDelay: time.Second})
	t.Cleanup(srv.Close)
	srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "web-lt", InstanceType: "m5.large"})
	if err := srv.AddGroup(asgtest.Group{Name: "web", Max: 4, Zones: []string{"us-test-1a", "us-test-1b"},
		LaunchTemplate: &asgtest.LaunchTemplateRef{Name: "web-lt"},
		Tags: map[string]string{
			nodegroup.TagLabelPrefix + "pool":      "web",
			nodegroup.TagTaintPrefix + "dedicated": "web:NoSchedule",
		}}); err != nil {
		t.Fatal(err)
	}
	cfg := srv.AWSConfig()
	p, err := asg.New(t.Context(), asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg),
		GroupNames: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, p
}

func getNode(t *testing.T, c *testcluster.Cluster, name string) *corev1.Node {
	t.Helper()
	n, err := c.AdminClient().CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func checkQuantity(t *testing.T, node string, what string, list corev1.ResourceList, name corev1.ResourceName, want string) {
	t.Helper()
	got, ok := list[name]
	if !ok || got.Cmp(resource.MustParse(want)) != 0 {
		t.Errorf("node %s: %s %s = %v, want %s", node, what, name, got.String(), want)
	}
}

// waitGone waits until the named Node does not exist.
func waitGone(t *testing.T, c *testcluster.Cluster, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.AdminClient().CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s still there after %v (err %v)", name, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestASG(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()
	srv, p := newASG(t)
	b := nodebridge.Start(ctx, t, nodebridge.Options{Cluster: c, Source: nodebridge.FromASG(srv, p), Prefix: "asg-"})
	if got := b.Nodes(); len(got) != 0 {
		t.Fatalf("nodes before any launch: %v", got)
	}
	g := p.Group("web")
	if err := g.IncreaseSize(ctx, 2); err != nil {
		t.Fatal(err)
	}
	names, err := b.WaitNodes(ctx, 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := srv.Group("web")
	byName := map[string]asgtest.Instance{}
	for _, in := range st.Instances {
		byName[b.NodeName(in.ID)] = in
	}
	if err := p.ForceRefresh(ctx); err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, name := range names {
		in, ok := byName[name]
		if !ok {
			t.Fatalf("node %s matches no instance of %v", name, st.Instances)
		}
		n := getNode(t, c, name)
		if want := "aws:///" + in.Zone + "/" + in.ID; n.Spec.ProviderID != want {
			t.Errorf("node %s: providerID %q, want %q", name, n.Spec.ProviderID, want)
		}
		if owner, err := p.NodeGroupForNode(ctx, n.Spec.ProviderID); err != nil || owner == nil || owner.Id() != "web" {
			t.Errorf("node %s: provider maps it to %v (%v), want group web", name, owner, err)
		}
		for k, v := range map[string]string{
			"topology.kubernetes.io/zone": in.Zone, "topology.kubernetes.io/region": "us-test-1",
			"node.kubernetes.io/instance-type": "m5.large", "kubernetes.io/hostname": name,
			"kubernetes.io/arch": "amd64", "pool": "web",
		} {
			if n.Labels[k] != v {
				t.Errorf("node %s: label %s=%q, want %q", name, k, n.Labels[k], v)
			}
		}
		zones[n.Labels["topology.kubernetes.io/zone"]] = true
		if !slices.ContainsFunc(n.Spec.Taints, func(tn corev1.Taint) bool {
			return tn.Key == "dedicated" && tn.Value == "web" && tn.Effect == corev1.TaintEffectNoSchedule
		}) {
			t.Errorf("node %s: taints %v, want dedicated=web:NoSchedule", name, n.Spec.Taints)
		}
		// m5.large: 2 vCPUs, 8 GiB, 3 ENIs × (10 − 1) + 2 = 29 pods.
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourceCPU, "2")
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourceMemory, "8Gi")
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourcePods, "29")
		// Allocatable is the capacity less the EKS reservations the provider subtracts.
		r := nodegroup.EKSReservations(nodegroup.Resources{MilliCPU: 2000, Memory: 8 << 30, Pods: 29})
		alloc := nodegroup.Allocatable(nodegroup.Resources{MilliCPU: 2000, Memory: 8 << 30, Pods: 29}, r)
		if a := n.Status.Allocatable[corev1.ResourceCPU]; a.MilliValue() != alloc.MilliCPU || a.MilliValue() >= 2000 {
			t.Errorf("node %s: allocatable cpu %s, want %dm", name, a.String(), alloc.MilliCPU)
		}
		if a := n.Status.Allocatable[corev1.ResourceMemory]; a.Value() != alloc.Memory {
			t.Errorf("node %s: allocatable memory %s, want %d", name, a.String(), alloc.Memory)
		}
	}
	if len(zones) != 2 {
		t.Errorf("zones %v: the group spreads over us-test-1a and us-test-1b", zones)
	}

	// Terminate one instance through the provider: its Node goes.
	gone := names[0]
	if err := g.DeleteNodes(ctx, []string{getNode(t, c, gone).Spec.ProviderID}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, gone, 10*time.Second)
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.Nodes(); !slices.Equal(got, names[1:]) {
		t.Errorf("nodes after the termination: %v, want %v", got, names[1:])
	}

	// Held: the instance runs but never registers.
	b.Hold("web", true)
	if err := g.IncreaseSize(ctx, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, _ := srv.Group("web")
		running := 0
		for _, in := range st.Instances {
			if in.LifecycleState == "InService" {
				running++
			}
		}
		if running == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances %+v: want 2 InService", st.Instances)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // several Intervals
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.Nodes(); len(got) != 1 {
		t.Errorf("held group: nodes %v, want only %v", got, names[1:])
	}
	b.Hold("web", false)
	if _, err := b.WaitNodes(ctx, 2, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestESS(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()
	srv := esstest.NewServer(esstest.Config{Region: "cn-test", LaunchDelay: time.Second, RemoveDelay: time.Second})
	t.Cleanup(srv.Close)
	id := srv.AddGroup(esstest.Group{MinSize: 0, MaxSize: 5, Zone: "cn-test-b",
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.xlarge"},
			Tags: map[string]string{nodegroup.TagLabelPrefix + "pool": "batch", nodegroup.TagTaintPrefix + "batch": "true:NoExecute"}}})
	p, err := ess.New(ctx, ess.Config{Region: "cn-test", AccessKeyID: "id", AccessKeySecret: "secret",
		ESSEndpoint: srv.URL, ECSEndpoint: srv.URL, GroupIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	b := nodebridge.Start(ctx, t, nodebridge.Options{Cluster: c, Source: nodebridge.FromESS(srv, p), Prefix: "ess-", Interval: 100 * time.Millisecond})
	gs, _ := p.NodeGroups(ctx)
	g := gs[0]
	if err := g.IncreaseSize(ctx, 2); err != nil {
		t.Fatal(err)
	}
	names, err := b.WaitNodes(ctx, 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range srv.Instances(id) {
		name := b.NodeName(in.ID)
		if !slices.Contains(names, name) {
			t.Fatalf("instance %s has no node among %v", in.ID, names)
		}
		n := getNode(t, c, name)
		if want := "cn-test." + in.ID; n.Spec.ProviderID != want {
			t.Errorf("node %s: providerID %q, want %q", name, n.Spec.ProviderID, want)
		}
		for k, v := range map[string]string{
			"topology.kubernetes.io/zone": "cn-test-b", "topology.kubernetes.io/region": "cn-test",
			"node.kubernetes.io/instance-type": "ecs.g7.xlarge", "kubernetes.io/hostname": name, "pool": "batch",
		} {
			if n.Labels[k] != v {
				t.Errorf("node %s: label %s=%q, want %q", name, k, n.Labels[k], v)
			}
		}
		if !slices.ContainsFunc(n.Spec.Taints, func(tn corev1.Taint) bool {
			return tn.Key == "batch" && tn.Value == "true" && tn.Effect == corev1.TaintEffectNoExecute
		}) {
			t.Errorf("node %s: taints %v, want batch=true:NoExecute", name, n.Spec.Taints)
		}
		// ecs.g7.xlarge: 4 vCPUs, 16 GiB; 110 pods, 40 GiB system disk.
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourceCPU, "4")
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourceMemory, "16Gi")
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourcePods, "110")
		checkQuantity(t, name, "capacity", n.Status.Capacity, corev1.ResourceEphemeralStorage, "40Gi")
		if a, cp := n.Status.Allocatable[corev1.ResourceCPU], n.Status.Capacity[corev1.ResourceCPU]; a.Cmp(cp) >= 0 {
			t.Errorf("node %s: allocatable cpu %s not below capacity %s", name, a.String(), cp.String())
		}
		if err := p.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p.Invalidate()
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		owner, err := p.NodeGroupForNode(ctx, getNode(t, c, name).Spec.ProviderID)
		if err != nil || owner == nil || owner.Id() != id {
			t.Errorf("node %s: provider maps it to %v (%v), want group %s", name, owner, err, id)
		}
	}
	gone := names[1]
	if err := g.DeleteNodes(ctx, []string{getNode(t, c, gone).Spec.ProviderID}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, gone, 10*time.Second)
	if _, err := b.WaitNodes(ctx, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// The Node of an instance: template resources and labels, the instance's own
// zone and type, providerID, kwok's annotations.
func TestNodeFor(t *testing.T) {
	tpl := &nodegroup.Template{InstanceType: "m5.xlarge",
		Capacity:    nodegroup.Resources{MilliCPU: 4000, Memory: 16 << 30, Pods: 58, EphemeralStorage: 20 << 30, Extended: map[string]int64{"nvidia.com/gpu": 1}},
		Allocatable: nodegroup.Resources{MilliCPU: 3920, Memory: 15 << 30, Pods: 58, EphemeralStorage: 18 << 30, Extended: map[string]int64{"nvidia.com/gpu": 1}},
		Labels:      map[string]string{nodegroup.LabelZone: "z-a", nodegroup.LabelInstanceType: "m5.xlarge", "pool": "gpu"},
		Taints:      []nodegroup.Taint{{Key: "gpu", Value: "yes", Effect: "NoSchedule"}}}
	in := nodebridge.Instance{Group: "g", ID: "i-1", Zone: "z-b", InstanceType: "m5.2xlarge", ProviderID: "aws:///z-b/i-1", Running: true}
	n := nodebridge.NodeFor("p-i-1", in, tpl)
	if n.Name != "p-i-1" || n.Spec.ProviderID != "aws:///z-b/i-1" {
		t.Errorf("name %q providerID %q", n.Name, n.Spec.ProviderID)
	}
	for k, v := range map[string]string{nodegroup.LabelZone: "z-b", nodegroup.LabelInstanceType: "m5.2xlarge",
		"kubernetes.io/hostname": "p-i-1", "pool": "gpu", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"} {
		if n.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, n.Labels[k], v)
		}
	}
	if tpl.Labels[nodegroup.LabelZone] != "z-a" {
		t.Error("NodeFor changed the template's labels")
	}
	if n.Annotations[testcluster.KwokNodeAnnotation] != "fake" {
		t.Errorf("annotations %v: kwok would not manage it", n.Annotations)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule || n.Spec.Taints[0].Value != "yes" {
		t.Errorf("taints %v", n.Spec.Taints)
	}
	checkQuantity(t, n.Name, "capacity", n.Status.Capacity, corev1.ResourceCPU, "4")
	checkQuantity(t, n.Name, "capacity", n.Status.Capacity, corev1.ResourceEphemeralStorage, "20Gi")
	checkQuantity(t, n.Name, "capacity", n.Status.Capacity, "nvidia.com/gpu", "1")
	checkQuantity(t, n.Name, "allocatable", n.Status.Allocatable, corev1.ResourceCPU, "3920m")
	checkQuantity(t, n.Name, "allocatable", n.Status.Allocatable, corev1.ResourceMemory, "15Gi")
	checkQuantity(t, n.Name, "allocatable", n.Status.Allocatable, corev1.ResourcePods, "58")
}
