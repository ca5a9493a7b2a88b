package asg_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/nodegroup"
)

const gib = 1 << 30

func TestTemplates(t *testing.T) {
	srv, asc, ec := newServer(t)
	srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "base", RootVolumeGB: 40})
	srv.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "gpu", InstanceType: "g4dn.xlarge", SpotPrice: "0.30"})
	tags := discoveryTags(map[string]string{
		asg.TagLabelPrefix + "team":                           "ml",
		asg.TagTaintPrefix + "dedicated":                      "ml:NoSchedule",
		asg.TagResourcePrefix + "ephemeral-storage":           "100Gi",
		asg.TagResourcePrefix + "example.com/dongle":          "2",
		asg.TagOptionPrefix + "scaledownutilizationthreshold": "0.3",
		asg.TagOptionPrefix + "scaledownunneededtime":         "5m",
		asg.TagOptionPrefix + "ignoredaemonsetsutilization":   "true",
	})
	for _, g := range []asgtest.Group{
		{Name: "mixed", Max: 5, Zones: []string{"us-test-1b", "us-test-1a"}, Tags: tags,
			MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "base"}, OnDemandPercentageAboveBaseCapacity: 0,
				Overrides: []asgtest.Override{{InstanceType: "m5.xlarge", WeightedCapacity: "2"}, {InstanceType: "m6g.large", WeightedCapacity: "1"}}}},
		{Name: "gpu", Max: 5, Zones: []string{"us-test-1a"}, LaunchConfig: "gpu", Tags: discoveryTags(nil)},
	} {
		if err := srv.AddGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	p := newProvider(t, srv, asc, ec, nil)

	ts, err := p.Group("mixed").Templates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Weight != 2 || ts[1].Weight != 1 {
		t.Fatalf("%d templates, weights %v/%v", len(ts), ts[0].Weight, ts[len(ts)-1].Weight)
	}
	capacity := nodegroup.Resources{MilliCPU: 4000, Memory: 16 * gib, EphemeralStorage: 100 * gib, Pods: 58, Extended: map[string]int64{"example.com/dongle": 2}}
	want := nodegroup.Template{InstanceType: "m5.xlarge", Capacity: capacity,
		Allocatable: nodegroup.Allocatable(capacity, nodegroup.EKSReservations(capacity)),
		Labels: map[string]string{nodegroup.LabelZone: "us-test-1b", nodegroup.LabelRegion: "us-test-1", nodegroup.LabelInstanceType: "m5.xlarge",
			nodegroup.LabelArch: "amd64", nodegroup.LabelOS: "linux", nodegroup.LabelCapacityType: nodegroup.CapacitySpot, "team": "ml"},
		Taints: []nodegroup.Taint{{Key: "dedicated", Value: "ml", Effect: "NoSchedule"}}}
	if d := cmp.Diff(want, ts[0].Template); d != "" {
		t.Errorf("mixed, first override (-want +got):\n%s", d)
	}
	if a := ts[1].Template; a.Labels[nodegroup.LabelArch] != "arm64" || a.Capacity.Pods != 29 || a.Capacity.Memory != 8*gib {
		t.Errorf("mixed, second override: %+v", a)
	}
	if tpl, _ := p.Group("mixed").Template(t.Context()); tpl.InstanceType != "m5.xlarge" {
		t.Errorf("Template is the first override, got %s", tpl.InstanceType)
	}
	o, err := p.Group("mixed").Options(t.Context())
	if err != nil || *o.ScaleDownUtilizationThreshold != 0.3 || *o.ScaleDownUnneededTime != 5*time.Minute || !*o.IgnoreDaemonSetsUtilization || o.ScaleDownUnreadyTime != nil {
		t.Errorf("options %+v, %v", o, err)
	}

	gpu, err := p.Group("gpu").Template(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if gpu.Capacity.Extended["nvidia.com/gpu"] != 1 || gpu.Labels[nodegroup.LabelCapacityType] != nodegroup.CapacitySpot || gpu.Capacity.EphemeralStorage != 125e9 {
		t.Errorf("gpu template %+v", gpu)
	}

	// Instance types and launch templates are cached: no new calls.
	before := srv.TotalCalls()
	if _, err := p.Group("mixed").Templates(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.TotalCalls() - before; n != 0 {
		t.Errorf("a second Templates made %d calls", n)
	}
}

func TestTemplateRejectsMalformedTags(t *testing.T) {
	for _, tag := range []map[string]string{
		{asg.TagTaintPrefix + "x": "v:Sometimes"},
		{asg.TagResourcePrefix + "memory": "lots"},
		{asg.TagResourcePrefix + "cpu": "-2"},
	} {
		srv, asc, ec := newServer(t)
		id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
		if err := srv.AddGroup(asgtest.Group{Name: "g", Max: 1, Zones: []string{"us-test-1a"}, LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id}, Tags: discoveryTags(tag)}); err != nil {
			t.Fatal(err)
		}
		p := newProvider(t, srv, asc, ec, nil)
		if _, err := p.Group("g").Template(t.Context()); err == nil {
			t.Errorf("tags %v accepted", tag)
		}
	}
}

func TestExplicitNamesAndPagination(t *testing.T) {
	srv, asc, ec := newServer(t)
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
	var names []string
	for i := range 250 {
		name := "g" + string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + string(rune('0'+i/676))
		names = append(names, name)
		if err := srv.AddGroup(asgtest.Group{Name: name, Max: 3, Desired: 1, Zones: []string{"us-test-1a"}, LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	p := newProvider(t, srv, asc, ec, func(c *asg.Config) { c.GroupNames, c.ClusterName = names[:210], "" })
	gs, _ := p.NodeGroups(t.Context())
	if len(gs) != 210 {
		t.Fatalf("%d groups, want 210", len(gs))
	}
	// 3 batches of at most 100 names.
	c := srv.Calls()["DescribeAutoScalingGroups"]
	if c != 3 {
		t.Errorf("%d DescribeAutoScalingGroups calls for 210 names, want 3; %v", c, srv.Calls())
	}
	// The cache answers until the interval passes.
	if err := p.Refresh(t.Context()); err != nil || srv.Calls()["DescribeAutoScalingGroups"] != c {
		t.Errorf("a fresh cache was re-read: %v", err)
	}
	ns, _ := gs[0].Nodes(t.Context())
	if g, _ := p.NodeGroupForNode(t.Context(), ns[0].ProviderID); g == nil || g.Id() != gs[0].Id() {
		t.Errorf("NodeGroupForNode(%s) = %v", ns[0].ProviderID, g)
	}
}
