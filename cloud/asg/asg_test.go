package asg_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/nodegrouptest"
)

// env is a provider talking to an emulator through the real SDK clients.
type env struct {
	srv   *asgtest.Server
	p     *asg.Provider
	zones map[string]string // group → zone
	types map[string]string // group → instance type
}

func (e *env) Provider() nodegroup.Provider { return e.p }

// Settle lets launches finish on the emulator's clock, which is also the
// provider's, then refreshes (the interval has passed, so it reads).
func (e *env) Settle(t *testing.T) {
	t.Helper()
	e.srv.Settle()
	if err := e.p.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) StockOut(t *testing.T, group string) {
	e.srv.StockOut(e.types[group], e.zones[group], true)
}

// newServer starts an emulator and builds its clients.
func newServer(t *testing.T) (*asgtest.Server, *autoscaling.Client, *ec2.Client) {
	t.Helper()
	srv := asgtest.NewServer(asgtest.Config{})
	t.Cleanup(srv.Close)
	cfg := srv.AWSConfig()
	return srv, autoscaling.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
}

func newProvider(t *testing.T, srv *asgtest.Server, asc *autoscaling.Client, ec *ec2.Client, mod func(*asg.Config)) *asg.Provider {
	t.Helper()
	cfg := asg.Config{AutoScaling: asc, EC2: ec, ClusterName: "test", Now: srv.Now}
	if mod != nil {
		mod(&cfg)
	}
	p, err := asg.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func discoveryTags(extra map[string]string) map[string]string {
	tags := map[string]string{asg.TagEnabled: "true", asg.TagClusterPrefix + "test": "owned"}
	for k, v := range extra {
		tags[k] = v
	}
	return tags
}

func newEnv(t *testing.T, f nodegrouptest.Fixture) nodegrouptest.Env {
	srv, asc, ec := newServer(t)
	e := &env{srv: srv, zones: map[string]string{}, types: map[string]string{}}
	for _, g := range f.Groups {
		id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt-" + g.ID, InstanceType: g.InstanceType, RootVolumeGB: 20})
		if err := srv.AddGroup(asgtest.Group{Name: g.ID, Min: g.Min, Max: g.Max, Desired: g.Size, Zones: []string{g.Zone},
			LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id, Version: "$Latest"}, Tags: discoveryTags(nil)}); err != nil {
			t.Fatal(err)
		}
		e.zones[g.ID], e.types[g.ID] = g.Zone, g.InstanceType
	}
	e.p = newProvider(t, srv, asc, ec, nil)
	return e
}

func TestContract(t *testing.T) { nodegrouptest.Run(t, newEnv) }

// DecreaseTargetSize re-reads the group: capacity that launched since the
// last refresh is no longer cancellable, and the cache does not know it yet.
func TestDecreaseTargetSizeDoesNotTrustAStaleCache(t *testing.T) {
	srv, _, g := faultEnv(t)
	if err := g.IncreaseSize(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	// The emulator launched both at once; the cache shows placeholders.
	if err := g.DecreaseTargetSize(t.Context(), 1); err == nil {
		t.Fatal("cancelled a launched instance")
	}
	if st, _ := srv.Group("g"); st.Desired != 5 || len(st.Instances) != 5 {
		t.Errorf("a refused decrease changed the group: %+v", st)
	}
	if ns, _ := g.Nodes(t.Context()); len(ns) != 5 || strings.Contains(ns[4].ProviderID, "placeholder") || ns[4].State != nodegroup.InstanceCreating {
		t.Errorf("after the re-read: %+v", ns)
	}
}

// Refresh reports the group's failed activities read and keeps the cache.
func TestRefreshActivitiesFailure(t *testing.T) {
	srv, p, g := faultEnv(t)
	srv.StockOut("m5.large", "us-test-1a", true)
	srv.StockOut("m5.large", "us-test-1b", true)
	if err := g.IncreaseSize(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	srv.Settle()
	if err := p.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Inject(asgtest.FaultThrottle, "DescribeScalingActivities", -1)
	srv.Settle()
	err := p.Refresh(t.Context())
	if !errors.Is(err, nodegroup.ErrThrottled) {
		t.Fatalf("refresh with throttled activities: %v", err)
	}
	if ns, _ := g.Nodes(t.Context()); ns[len(ns)-1].ErrorClass != nodegroup.OutOfCapacity {
		t.Errorf("the known stock-out was forgotten: %+v", ns)
	}
}
