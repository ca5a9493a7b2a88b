package asg_test

import (
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
