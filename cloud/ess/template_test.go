package ess_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
)

func templateOf(t *testing.T, g esstest.Group) (*nodegroup.Template, error) {
	t.Helper()
	srv := newServer(t, esstest.Config{Region: "cn-beijing"})
	id := srv.AddGroup(g)
	p := newProvider(t, config(srv, newClock(), id))
	gs, _ := p.NodeGroups(t.Context())
	return gs[0].Template(t.Context())
}

// Tags become labels, taints and resources with cluster-autoscaler's keys;
// the configuration's tags win over the group's.
func TestTemplateFromTags(t *testing.T) {
	tpl, err := templateOf(t, esstest.Group{MinSize: 0, MaxSize: 3, Zone: "cn-beijing-h",
		Tags: map[string]string{ess.TagLabelPrefix + "team": "group", ess.TagLabelPrefix + "tier": "batch"},
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g8y.large"}, SpotStrategy: "SpotAsPriceGo", SystemDiskSize: 100,
			Tags: map[string]string{
				ess.TagLabelPrefix + "team":                  "config",
				ess.TagTaintPrefix + "dedicated":             "gpu:NoSchedule",
				ess.TagTaintPrefix + "spot":                  ":PreferNoSchedule",
				ess.TagResourcePrefix + "example.com/dongle": "2",
				ess.TagResourcePrefix + "pods":               "64",
				"unrelated":                                  "ignored",
			}}})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		nodegroup.LabelZone: "cn-beijing-h", nodegroup.LabelRegion: "cn-beijing", nodegroup.LabelInstanceType: "ecs.g8y.large",
		nodegroup.LabelArch: "arm64", nodegroup.LabelOS: "linux", nodegroup.LabelCapacityType: nodegroup.CapacitySpot,
		"team": "config", "tier": "batch",
	}
	if diff := cmp.Diff(wantLabels, tpl.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	wantTaints := []nodegroup.Taint{{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"}, {Key: "spot", Effect: "PreferNoSchedule"}}
	if diff := cmp.Diff(wantTaints, tpl.Taints); diff != "" {
		t.Errorf("taints (-want +got):\n%s", diff)
	}
	c := tpl.Capacity
	if c.MilliCPU != 2000 || c.Memory != 8<<30 || c.Pods != 64 || c.EphemeralStorage != 100<<30 || c.Extended["example.com/dongle"] != 2 {
		t.Errorf("capacity %+v", c)
	}
	if a := tpl.Allocatable; a.MilliCPU >= c.MilliCPU || a.Memory >= c.Memory || a.EphemeralStorage >= c.EphemeralStorage {
		t.Errorf("allocatable %+v not below capacity %+v", a, c)
	}
}

// A mixed-type configuration is sized by the smallest type, so whatever
// ESS launches fits what the template promised.
func TestTemplateMixedTypes(t *testing.T) {
	tpl, err := templateOf(t, esstest.Group{MaxSize: 3,
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.xlarge", "ecs.c7.large", "ecs.gn7i-c8g1.2xlarge"}}})
	if err != nil {
		t.Fatal(err)
	}
	if tpl.InstanceType != "ecs.g7.xlarge" || tpl.Capacity.MilliCPU != 2000 || tpl.Capacity.Memory != 4<<30 || tpl.Capacity.Extended["nvidia.com/gpu"] != 0 {
		t.Errorf("template %s %+v", tpl.InstanceType, tpl.Capacity)
	}
}

func TestTemplateBadTags(t *testing.T) {
	for _, tags := range []map[string]string{
		{ess.TagTaintPrefix + "x": "novalue"},
		{ess.TagTaintPrefix + "x": "v:Sometimes"},
		{ess.TagResourcePrefix + "memory": "lots"},
	} {
		_, err := templateOf(t, esstest.Group{MaxSize: 1, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}, Tags: tags}})
		if err == nil {
			t.Errorf("tags %v accepted", tags)
		}
	}
}

func TestOptionsFromTags(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	id := srv.AddGroup(esstest.Group{MaxSize: 3, Tags: map[string]string{
		ess.TagOptionPrefix + "scaledownutilizationthreshold": "0.3",
		ess.TagOptionPrefix + "scaledownunneededtime":         "5m",
		ess.TagOptionPrefix + "ignoredaemonsetsutilization":   "true",
	}, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	p := newProvider(t, config(srv, newClock(), id))
	gs, _ := p.NodeGroups(t.Context())
	o, err := gs[0].(nodegroup.OptionsProvider).Options(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if *o.ScaleDownUtilizationThreshold != 0.3 || *o.ScaleDownUnneededTime != 5*time.Minute || !*o.IgnoreDaemonSetsUtilization || o.ScaleDownUnreadyTime != nil {
		t.Errorf("options %+v", o)
	}
}

// Discovery by tag pages through DescribeScalingGroups and merges explicit
// IDs without duplicates.
func TestDiscovery(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	var tagged []string
	for i := range 120 {
		tags := map[string]string{"k8s.io/cluster-autoscaler/enabled": "true"}
		if i%2 == 1 {
			tags = map[string]string{"other": "x"}
		}
		id := srv.AddGroup(esstest.Group{Name: fmt.Sprint("g", i), MaxSize: 3, Tags: tags,
			Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
		if i%2 == 0 {
			tagged = append(tagged, id)
		}
	}
	ids := srv.GroupIDs()
	cfg := config(srv, newClock(), ids[0], ids[1])
	cfg.DiscoveryTags = map[string]string{"k8s.io/cluster-autoscaler/enabled": ""}
	p := newProvider(t, cfg)
	gs, _ := p.NodeGroups(t.Context())
	if len(gs) != len(tagged)+1 {
		t.Errorf("%d groups, want %d", len(gs), len(tagged)+1)
	}
	if n := srv.Calls()["ess:DescribeScalingGroups"]; n != 3 {
		t.Errorf("%d DescribeScalingGroups calls, want 1 by ID + 2 pages", n)
	}
}

// TargetSize and the other readers never call the API; Refresh does
// nothing while the cache is fresh.
func TestReadsAreCached(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	id := srv.AddGroup(esstest.Group{MaxSize: 3, Size: 1, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	clock := newClock()
	p := newProvider(t, config(srv, clock, id))
	srv.ResetCalls()
	gs, _ := p.NodeGroups(t.Context())
	for range 10 {
		gs[0].TargetSize(t.Context())
		gs[0].Nodes(t.Context())
		gs[0].Template(t.Context())
		p.NodeGroupForNode(t.Context(), "cn-hangzhou.i-x")
		if err := p.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.TotalCalls(); n != 0 {
		t.Errorf("%d API calls from cached reads: %v", n, srv.Calls())
	}
	clock.Advance(ess.DefaultRefreshInterval)
	if err := p.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.TotalCalls(); n != 2 {
		t.Errorf("refresh after the interval made %d calls, want 2: %v", n, srv.Calls())
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []ess.Config{
		{},
		{Region: "cn-hangzhou", GroupIDs: []string{"a"}},
		{Region: "bad region!", AccessKeyID: "a", AccessKeySecret: "b", GroupIDs: []string{"a"}},
		{Region: "cn-hangzhou", AccessKeyID: "a", AccessKeySecret: "b"},
		{Region: "cn-hangzhou", AccessKeyID: "a", AccessKeySecret: "b", GroupIDs: []string{"a"}, ScaleMode: "Magic"},
	} {
		if _, err := ess.New(t.Context(), c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if got := ess.Endpoint("ess", "eu-central-1"); got != "ess.eu-central-1.aliyuncs.com" {
		t.Errorf("Endpoint = %s", got)
	}
}

// A wrong secret is refused by the emulator's signature check.
func TestBadSignature(t *testing.T) {
	srv := newServer(t, esstest.Config{})
	id := srv.AddGroup(esstest.Group{MaxSize: 3, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	cfg := config(srv, newClock(), id)
	cfg.AccessKeySecret = "wrong"
	if _, err := ess.New(t.Context(), cfg); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
}

// Placeholders for unlaunched capacity can be deleted: that cancels them.
func TestDeletePlaceholder(t *testing.T) {
	e := newFaultEnv(t, 1, 0, 5)
	e.srv.SetStockOut("ecs.g7.large", "cn-hangzhou-a", true)
	if err := e.g.IncreaseSize(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	e.refresh(t)
	ns, _ := e.g.Nodes(t.Context())
	var ph []string
	for _, n := range ns {
		if n.ErrorClass == nodegroup.OutOfCapacity {
			ph = append(ph, n.ProviderID)
		}
	}
	if len(ph) != 2 {
		t.Fatalf("nodes %+v", ns)
	}
	if g, _ := e.p.NodeGroupForNode(t.Context(), ph[0]); g == nil || g.Id() != e.id {
		t.Errorf("NodeGroupForNode(placeholder) = %v", g)
	}
	if err := e.g.DeleteNodes(t.Context(), ph[:1]); err != nil {
		t.Fatal(err)
	}
	if d := e.srv.Desired(e.id); d != 2 {
		t.Errorf("desired %d, want 2", d)
	}
}
