package asg_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/nodegrouptest"
)

// Discovery by cluster-autoscaler's two tag-key filters finds this
// cluster's groups only, not those of another cluster that also carry the
// enabled tag (the emulator ANDs filters as AWS does).
func TestDiscoveryIgnoresOtherClusters(t *testing.T) {
	srv, asc, ec := newServer(t)
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
	for _, g := range []asgtest.Group{
		{Name: "test-a", Tags: discoveryTags(nil)},
		{Name: "test-b", Tags: discoveryTags(map[string]string{asg.TagClusterPrefix + "other": "owned"})},
		{Name: "other-a", Tags: map[string]string{asg.TagEnabled: "true", asg.TagClusterPrefix + "other": "owned"}},
		{Name: "other-b", Tags: map[string]string{asg.TagEnabled: "false", asg.TagClusterPrefix + "other": "owned"}},
		{Name: "disabled", Tags: map[string]string{asg.TagClusterPrefix + "test": "owned"}},
	} {
		g.Max, g.Desired, g.Zones, g.LaunchTemplate = 2, 1, []string{"us-test-1a"}, &asgtest.LaunchTemplateRef{ID: id}
		if err := srv.AddGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(p *asg.Provider) []string {
		gs, _ := p.NodeGroups(t.Context())
		var out []string
		for _, g := range gs {
			out = append(out, g.Id())
		}
		return out
	}
	if got := ids(newProvider(t, srv, asc, ec, nil)); !slices.Equal(got, []string{"test-a", "test-b"}) {
		t.Errorf("cluster test discovered %v", got)
	}
	if got := ids(newProvider(t, srv, asc, ec, func(c *asg.Config) { c.ClusterName = "other" })); !slices.Equal(got, []string{"other-a", "other-b", "test-b"}) {
		t.Errorf("cluster other discovered %v", got)
	}
	// TagFilters add conditions; they do not widen the match.
	if got := ids(newProvider(t, srv, asc, ec, func(c *asg.Config) { c.TagFilters = map[string]string{asg.TagEnabled: "true"} })); !slices.Equal(got, []string{"test-a", "test-b"}) {
		t.Errorf("cluster test with enabled=true discovered %v", got)
	}
	if got := ids(newProvider(t, srv, asc, ec, func(c *asg.Config) { c.ClusterName, c.TagFilters = "other", map[string]string{asg.TagEnabled: "true"} })); !slices.Equal(got, []string{"other-a", "test-b"}) {
		t.Errorf("cluster other with enabled=true discovered %v", got)
	}
}

// The contract suite passes on weighted groups whose overrides share one
// weight: every size the suite sees is in nodes, AWS's in units.
func TestContractWeighted(t *testing.T) {
	const w = 3
	nodegrouptest.Run(t, func(t *testing.T, f nodegrouptest.Fixture) nodegrouptest.Env {
		srv, asc, ec := newServer(t)
		e := &env{srv: srv, zones: map[string]string{}, types: map[string]string{}}
		for _, g := range f.Groups {
			srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt-" + g.ID, RootVolumeGB: 20})
			if err := srv.AddGroup(asgtest.Group{Name: g.ID, Min: g.Min * w, Max: g.Max * w, Desired: g.Size * w, Zones: []string{g.Zone},
				MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt-" + g.ID}, OnDemandPercentageAboveBaseCapacity: 100,
					Overrides: []asgtest.Override{{InstanceType: g.InstanceType, WeightedCapacity: fmt.Sprint(w)}}},
				Tags: discoveryTags(nil)}); err != nil {
				t.Fatal(err)
			}
			e.zones[g.ID], e.types[g.ID] = g.Zone, g.InstanceType
		}
		e.p = newProvider(t, srv, asc, ec, nil)
		return e
	})
}

// weightedEnv is one group of weight-2 overrides: MinSize 1, MaxSize 9
// and DesiredCapacity 3 units, i.e. min 1, max 4 and target 2 nodes.
func weightedEnv(t *testing.T, overrides ...asgtest.Override) (*asgtest.Server, *asg.Provider, *asg.Group) {
	t.Helper()
	srv, asc, ec := newServer(t)
	srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt"})
	if len(overrides) == 0 {
		overrides = []asgtest.Override{{InstanceType: "m5.large", WeightedCapacity: "2"}, {InstanceType: "c5.large", WeightedCapacity: "2"}}
	}
	if err := srv.AddGroup(asgtest.Group{Name: "w", Min: 1, Max: 9, Desired: 3, Zones: []string{"us-test-1a"}, Tags: discoveryTags(nil),
		MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt"}, Overrides: overrides}}); err != nil {
		t.Fatal(err)
	}
	p, err := asg.New(t.Context(), asg.Config{AutoScaling: asc, EC2: ec, ClusterName: "test", Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	return srv, p, p.Group("w")
}

func TestWeightedGroupSizesInNodes(t *testing.T) {
	srv, p, g := weightedEnv(t)
	ctx := t.Context()
	if g.MinSize() != 1 || g.MaxSize() != 4 {
		t.Fatalf("min %d max %d nodes, want 1 and 4 (units 1 and 9 over weight 2)", g.MinSize(), g.MaxSize())
	}
	if n, err := g.TargetSize(ctx); err != nil || n != 2 {
		t.Fatalf("target %d (%v), want 2 nodes for 3 units", n, err)
	}
	if err := g.IncreaseSize(ctx, 3); !errors.Is(err, nodegroup.ErrAtMax) {
		t.Fatalf("2 + 3 > 4 nodes: %v", err)
	}
	// A stock-out of the first type falls back to the second, same weight.
	srv.StockOut("m5.large", "us-test-1a", true)
	if err := g.IncreaseSize(ctx, 2); err != nil {
		t.Fatal(err)
	}
	st, _ := srv.Group("w")
	if st.Desired != 8 || st.Units != 8 || len(st.Instances) != 4 || st.Instances[3].InstanceType != "c5.large" {
		t.Fatalf("after +2 nodes: desired %d units, %d units, %+v", st.Desired, st.Units, st.Instances)
	}
	if n, _ := g.TargetSize(ctx); n != 4 {
		t.Errorf("target %d, want 4", n)
	}
	srv.Settle()
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ns, _ := g.Nodes(ctx)
	if len(ns) != 4 || slices.ContainsFunc(ns, func(in nodegroup.Instance) bool { return in.State != nodegroup.InstanceRunning }) {
		t.Fatalf("nodes %+v", ns)
	}
	// Deleting a node lowers AWS's desired capacity by its weight.
	if err := g.DeleteNodes(ctx, []string{ns[0].ProviderID}); err != nil {
		t.Fatal(err)
	}
	if st, _ := srv.Group("w"); st.Desired != 6 {
		t.Errorf("desired %d units after deleting a weight-2 node, want 6", st.Desired)
	}
	if n, _ := g.TargetSize(ctx); n != 3 {
		t.Errorf("target %d, want 3", n)
	}
	if err := g.DecreaseTargetSize(ctx, 1); err == nil {
		t.Error("DecreaseTargetSize cancelled a running instance")
	}
	// Placeholders: with everything out of stock, +1 node is one placeholder.
	srv.StockOut("c5.large", "us-test-1a", true)
	if err := g.IncreaseSize(ctx, 1); err != nil {
		t.Fatal(err)
	}
	srv.Settle()
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ns, _ = g.Nodes(ctx)
	if len(ns) != 4 || ns[3].ErrorClass != nodegroup.OutOfCapacity || !strings.Contains(ns[3].ProviderID, "placeholder") {
		t.Fatalf("nodes after a failed +1: %+v", ns)
	}
	if err := g.DecreaseTargetSize(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if st, _ := srv.Group("w"); st.Desired != 6 {
		t.Errorf("desired %d units after cancelling the placeholder, want 6", st.Desired)
	}
	// Down to the minimum: 1 node (2 units ≥ MinSize 1).
	ns, _ = g.Nodes(ctx)
	if len(ns) != 3 {
		t.Fatalf("nodes after the cancel: %+v", ns)
	}
	if err := g.DeleteNodes(ctx, []string{ns[1].ProviderID, ns[2].ProviderID}); err != nil {
		t.Fatal(err)
	}
	if err := g.DeleteNodes(ctx, []string{ns[0].ProviderID}); !errors.Is(err, nodegroup.ErrAtMin) {
		t.Errorf("below the minimum: %v", err)
	}
}

// Overrides with different weights: node counts cannot be exact, so the
// sizing calls refuse with ErrUnevenWeights while listing, mapping and
// templates keep working.
func TestUnevenWeightsAreRefused(t *testing.T) {
	_, p, g := weightedEnv(t, asgtest.Override{InstanceType: "m5.large", WeightedCapacity: "1"}, asgtest.Override{InstanceType: "m5.xlarge", WeightedCapacity: "2"})
	ctx := t.Context()
	_, err := g.TargetSize(ctx)
	if !errors.Is(err, asg.ErrUnevenWeights) {
		t.Fatalf("TargetSize: %v", err)
	}
	if _, ok := errors.AsType[*nodegroup.Error](err); !ok {
		t.Errorf("not a *nodegroup.Error: %T", err)
	}
	ns, err := g.Nodes(ctx)
	if err != nil || len(ns) != 3 {
		t.Fatalf("Nodes: %v %v", ns, err)
	}
	for name, call := range map[string]func() error{
		"IncreaseSize":       func() error { return g.IncreaseSize(ctx, 1) },
		"DecreaseTargetSize": func() error { return g.DecreaseTargetSize(ctx, 1) },
		"DeleteNodes":        func() error { return g.DeleteNodes(ctx, []string{ns[0].ProviderID}) },
	} {
		if err := call(); !errors.Is(err, asg.ErrUnevenWeights) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ts, err := g.Templates(ctx); err != nil || len(ts) != 2 || ts[1].Weight != 2 {
		t.Errorf("Templates: %v %v", ts, err)
	}
	if owner, _ := p.NodeGroupForNode(ctx, ns[0].ProviderID); owner == nil || owner.Id() != "w" {
		t.Errorf("NodeGroupForNode: %v", owner)
	}
}

// hostileFleet is two groups, "good" and "bad", each 2 running of max 5.
func hostileFleet(t *testing.T) (*asgtest.Server, func(mod func(*asg.Config)) (*asg.Provider, error)) {
	t.Helper()
	srv, asc, ec := newServer(t)
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
	for _, name := range []string{"bad", "good"} {
		if err := srv.AddGroup(asgtest.Group{Name: name, Max: 5, Desired: 2, Zones: []string{"us-test-1a"},
			LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id}, Tags: discoveryTags(nil)}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, func(mod func(*asg.Config)) (*asg.Provider, error) {
		cfg := asg.Config{AutoScaling: asc, EC2: ec, ClusterName: "test", Now: srv.Now}
		if mod != nil {
			mod(&cfg)
		}
		return asg.New(t.Context(), cfg)
	}
}

// Sizes that cannot be true make that group (only) an error: a
// DesiredCapacity of 2^31-1 no longer builds billions of placeholders.
func TestInsaneGroupSizesAreErrorsForThatGroup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields map[string]string
		want   string
	}{
		{"desired 2^31-1", map[string]string{"DesiredCapacity": "2147483647", "MaxSize": "2147483647"}, "above the sanity cap"},
		{"desired above max", map[string]string{"DesiredCapacity": "2147483647"}, "outside [MinSize 0, MaxSize 5]"},
		{"negative desired", map[string]string{"DesiredCapacity": "-3"}, "negative size"},
		{"min above max", map[string]string{"MinSize": "4", "MaxSize": "3"}, "MinSize 4 above MaxSize 3"},
		{"desired below min", map[string]string{"MinSize": "3"}, "outside [MinSize 3, MaxSize 5]"},
		{"weight out of range", map[string]string{"WeightedCapacity": "1000"}, "WeightedCapacity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, newP := hostileFleet(t)
			var hs []asgtest.Hostile
			for k, v := range tc.fields {
				hs = append(hs, asgtest.SetGroupField("bad", k, v))
			}
			if _, ok := tc.fields["WeightedCapacity"]; ok { // instances carry no weight in an unweighted group: add one
				hs = []asgtest.Hostile{{Answer: func(a *asgtest.Answer) {
					a.Body = []byte(strings.Replace(string(a.Body), "<LifecycleState>", "<WeightedCapacity>1000</WeightedCapacity><LifecycleState>", 1))
				}}}
			}
			srv.SetHostile(asgtest.Join(hs...))
			p, err := newP(nil)
			if !errors.Is(err, asg.ErrInvalidGroup) || !strings.Contains(err.Error(), "bad") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want ErrInvalidGroup naming bad with %q", err, tc.want)
			}
			if p == nil {
				t.Fatal("no provider although the good group was read")
			}
			bad, good := p.Group("bad"), p.Group("good")
			if _, err := bad.Nodes(t.Context()); !errors.Is(err, asg.ErrInvalidGroup) {
				t.Errorf("bad Nodes: %v", err)
			}
			if _, err := bad.TargetSize(t.Context()); !errors.Is(err, asg.ErrInvalidGroup) {
				t.Errorf("bad TargetSize: %v", err)
			}
			if err := bad.IncreaseSize(t.Context(), 1); !errors.Is(err, asg.ErrInvalidGroup) {
				t.Errorf("bad IncreaseSize: %v", err)
			}
			if bad.MaxSize() > asg.DefaultMaxGroupSize || bad.MinSize() < 0 {
				t.Errorf("bad bounds %d..%d", bad.MinSize(), bad.MaxSize())
			}
			if err := good.IncreaseSize(t.Context(), 1); err != nil {
				t.Errorf("the good group stopped working: %v", err)
			}
			if ns, err := good.Nodes(t.Context()); err != nil || len(ns) != 3 {
				t.Errorf("good Nodes: %d, %v", len(ns), err)
			}
			// Once the cloud answers sanely again, so does the group.
			srv.SetHostile(asgtest.Hostile{})
			if err := p.ForceRefresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n, err := bad.TargetSize(t.Context()); err != nil || n != 2 {
				t.Errorf("bad after recovery: %d, %v", n, err)
			}
		})
	}
}

// A large MaxSize is reported no higher than the sanity cap, and the
// placeholders of a group far short of its desired capacity are bounded by it.
func TestSanityCap(t *testing.T) {
	srv, newP := hostileFleet(t)
	srv.SetHostile(asgtest.Join(asgtest.SetGroupField("bad", "MaxSize", "2147483647"), asgtest.SetGroupField("bad", "DesiredCapacity", "1000")))
	p, err := newP(func(c *asg.Config) { c.MaxGroupSize = 1000 })
	if err != nil {
		t.Fatal(err)
	}
	bad := p.Group("bad")
	if bad.MaxSize() != 1000 {
		t.Errorf("MaxSize %d, want the cap 1000", bad.MaxSize())
	}
	if ns, err := bad.Nodes(t.Context()); err != nil || len(ns) != 1000 {
		t.Errorf("Nodes: %d, %v", len(ns), err)
	}
	if err := bad.IncreaseSize(t.Context(), 1); !errors.Is(err, nodegroup.ErrAtMax) {
		t.Errorf("past the cap: %v", err)
	}
	srv.SetHostile(asgtest.SetGroupField("bad", "DesiredCapacity", "1001"))
	if err := p.ForceRefresh(t.Context()); !errors.Is(err, asg.ErrInvalidGroup) {
		t.Errorf("desired above the cap: %v", err)
	}
	// More instances listed than twice the cap: invalid, and not kept.
	srv.SetHostile(asgtest.Hostile{})
	if err := p.ForceRefresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Group("good").IncreaseSize(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	p, err = newP(func(c *asg.Config) { c.MaxGroupSize = 1 })
	if !errors.Is(err, asg.ErrInvalidGroup) || !strings.Contains(err.Error(), "3 instances listed") {
		t.Fatalf("too many instances: %v", err)
	}
	if gs, _ := p.NodeGroups(t.Context()); len(gs) != 2 {
		t.Fatalf("%d groups", len(gs))
	}
	st, _ := srv.Group("good")
	if g, _ := p.NodeGroupForNode(t.Context(), asg.ProviderID("us-test-1a", st.Instances[0].ID)); g != nil {
		t.Errorf("an instance of a group over the cap is mapped to %s", g.Id())
	}
}

// A NextToken that always comes back is caught on its first repeat, with
// a bounded number of calls and the cache kept.
func TestRepeatedNextTokenIsAnError(t *testing.T) {
	srv, newP := hostileFleet(t)
	p, err := newP(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetHostile(asgtest.RepeatNextToken("DescribeAutoScalingGroups"))
	srv.ResetCalls()
	err = p.ForceRefresh(t.Context())
	if !errors.Is(err, asg.ErrBadResponse) || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("refresh: %v", err)
	}
	if c := srv.Calls()["DescribeAutoScalingGroups"]; c > 3 {
		t.Errorf("%d calls before giving up", c)
	}
	if gs, _ := p.NodeGroups(t.Context()); len(gs) != 2 {
		t.Errorf("the cache was dropped: %d groups", len(gs))
	}
	// The same for DescribeInstanceTypes.
	srv.SetHostile(asgtest.RepeatNextToken("DescribeInstanceTypes"))
	if _, err := p.Group("good").Template(t.Context()); !errors.Is(err, asg.ErrBadResponse) {
		t.Errorf("Template: %v", err)
	}
}

// Fresh tokens forever are cut by the page cap.
func TestEndlessPagesAreCapped(t *testing.T) {
	srv, newP := hostileFleet(t)
	p, err := newP(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	srv.SetHostile(asgtest.Hostile{
		Request: func(action string, form url.Values) { form.Del("NextToken") },
		Answer: func(a *asgtest.Answer) {
			if a.Action == "DescribeAutoScalingGroups" {
				n++
				a.Body = []byte(strings.Replace(string(a.Body), "</DescribeAutoScalingGroupsResult>", fmt.Sprintf("<NextToken>t%d</NextToken></DescribeAutoScalingGroupsResult>", n), 1))
			}
		},
	})
	if err := p.ForceRefresh(t.Context()); !errors.Is(err, asg.ErrBadResponse) || !strings.Contains(err.Error(), "pages") {
		t.Fatalf("refresh: %v", err)
	}
	if n > 1001 {
		t.Errorf("%d pages read", n)
	}
	// Two named groups can take at most three pages.
	n = 0
	if _, err := newP(func(c *asg.Config) { c.ClusterName, c.GroupNames = "", []string{"good", "bad"} }); !errors.Is(err, asg.ErrBadResponse) {
		t.Fatalf("New by names: %v", err)
	}
	if n != 3 {
		t.Errorf("%d pages read for two names, want 3", n)
	}
}

// An empty 200 is an error, not "no groups".
func TestEmptyBodyIsAnError(t *testing.T) {
	srv, newP := hostileFleet(t)
	p, err := newP(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetHostile(asgtest.EmptyBody("DescribeAutoScalingGroups"))
	if err := p.ForceRefresh(t.Context()); !errors.Is(err, asg.ErrBadResponse) {
		t.Fatalf("refresh: %v", err)
	}
	if gs, _ := p.NodeGroups(t.Context()); len(gs) != 2 {
		t.Errorf("an empty answer emptied the cache: %d groups", len(gs))
	}
	if _, err := newP(nil); !errors.Is(err, asg.ErrBadResponse) {
		t.Errorf("New: %v", err)
	}
	srv.SetHostile(asgtest.EmptyBody("DescribeInstanceTypes"))
	if _, err := p.Group("good").Template(t.Context()); !errors.Is(err, asg.ErrBadResponse) {
		t.Errorf("Template: %v", err)
	}
}

// A named group the cloud does not return is an error naming it; the
// others are read.
func TestMissingNamedGroupIsAnError(t *testing.T) {
	_, newP := hostileFleet(t)
	p, err := newP(func(c *asg.Config) { c.ClusterName, c.GroupNames = "", []string{"good", "gone"} })
	if !errors.Is(err, nodegroup.ErrNotFound) || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("New: %v", err)
	}
	if p == nil || p.Group("good") == nil || p.Group("gone") != nil {
		t.Fatalf("provider %v", p)
	}
}

// Instance types with absurd numbers are refused with the type's name.
func TestAbsurdInstanceTypesAreRefused(t *testing.T) {
	for _, tc := range []struct{ field, value string }{
		{"defaultVCpus", "-4"}, {"defaultVCpus", "0"}, {"defaultVCpus", "2000000"},
		{"sizeInMiB", "-1"}, {"sizeInMiB", "9223372036854775807"},
		{"maximumNetworkInterfaces", "-2"}, {"ipv4AddressesPerInterface", "100000"},
	} {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			srv, newP := hostileFleet(t)
			p, err := newP(nil)
			if err != nil {
				t.Fatal(err)
			}
			srv.SetHostile(asgtest.SetField("DescribeInstanceTypes", tc.field, tc.value))
			_, err = p.Group("good").Template(t.Context())
			if !errors.Is(err, asg.ErrBadInstanceType) || !strings.Contains(err.Error(), "m5.large") {
				t.Fatalf("Template: %v", err)
			}
			// Not cached: once the answers are sane, the template is built.
			srv.SetHostile(asgtest.Hostile{})
			if _, err := p.Group("good").Template(t.Context()); err != nil {
				t.Errorf("after recovery: %v", err)
			}
		})
	}
}
