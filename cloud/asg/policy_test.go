package asg_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/nodegroup"
)

func policyActions(t *testing.T, doc []byte) []string {
	t.Helper()
	var d struct {
		Statement []struct {
			Effect string
			Action []string
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	sort.Strings(out)
	return out
}

func withoutAction(t *testing.T, action string) []byte {
	t.Helper()
	var actions []string
	for _, a := range policyActions(t, asg.IAMPolicy) {
		if a != action {
			actions = append(actions, a)
		}
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17",
		"Statement": []map[string]any{{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
	return doc
}

// The policy lists exactly the methods of the interfaces the provider
// calls AWS through, so it cannot drift from the code.
func TestPolicyMatchesTheAPIInterfaces(t *testing.T) {
	var want []string
	for prefix, typ := range map[string]reflect.Type{
		"autoscaling:": reflect.TypeFor[asg.AutoScalingAPI](), "ec2:": reflect.TypeFor[asg.EC2API]()} {
		for i := range typ.NumMethod() {
			want = append(want, prefix+typ.Method(i).Name)
		}
	}
	sort.Strings(want)
	if got := policyActions(t, asg.IAMPolicy); !slices.Equal(got, want) {
		t.Errorf("iam-policy.json actions %v, interfaces %v", got, want)
	}
}

// policyFleet has one group per template source, all discovered by tags.
func policyFleet(t *testing.T, srv *asgtest.Server) {
	t.Helper()
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
	srv.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "c5.large"})
	for _, g := range []asgtest.Group{
		{Name: "lt-group", Min: 1, Max: 5, Desired: 2, LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id, Version: "1"}},
		{Name: "lc-group", Max: 5, Desired: 1, LaunchConfig: "lc"},
		{Name: "mixed-group", Max: 5, MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt"},
			Overrides: []asgtest.Override{{InstanceType: "m5.xlarge"}, {InstanceType: "m5.2xlarge"}}}},
	} {
		g.Zones, g.Tags = []string{"us-test-1a"}, discoveryTags(nil)
		if err := srv.AddGroup(g); err != nil {
			t.Fatal(err)
		}
	}
}

// The full adapter flow under the shipped policy: every call is allowed,
// and every action in the policy is used.
func TestPolicyAllowsTheFullFlow(t *testing.T) {
	srv, asc, ec := newServer(t)
	policyFleet(t, srv)
	if err := srv.EnforcePolicy(asg.IAMPolicy); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, srv, asc, ec, nil)
	ctx := t.Context()
	gs, _ := p.NodeGroups(ctx)
	for _, g := range gs {
		if _, err := g.Template(ctx); err != nil {
			t.Fatalf("%s: %v", g.Id(), err)
		}
	}
	g := p.Group("lt-group")
	srv.StockOut("m5.large", "us-test-1a", true)
	if err := g.IncreaseSize(ctx, 2); err != nil {
		t.Fatal(err)
	}
	srv.Settle()
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ns, _ := g.Nodes(ctx)
	if ns[len(ns)-1].ErrorClass != nodegroup.OutOfCapacity {
		t.Fatalf("stock-out not reported: %+v", ns)
	}
	if err := g.DecreaseTargetSize(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := g.DeleteNodes(ctx, []string{ns[0].ProviderID}); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	for _, a := range policyActions(t, asg.IAMPolicy) {
		if calls[a[strings.Index(a, ":")+1:]] == 0 {
			t.Errorf("%s is in the policy but the flow never called it", a)
		}
	}
}

func TestPolicyMissingActionIsAnError(t *testing.T) {
	for _, tc := range []struct {
		action, code string
		run          func(t *testing.T, p *asg.Provider) error
	}{
		{"autoscaling:SetDesiredCapacity", "AccessDenied", func(t *testing.T, p *asg.Provider) error {
			return p.Group("lt-group").IncreaseSize(t.Context(), 1)
		}},
		{"ec2:DescribeInstanceTypes", "UnauthorizedOperation", func(t *testing.T, p *asg.Provider) error {
			_, err := p.Group("lt-group").Template(t.Context())
			return err
		}},
		{"autoscaling:DescribeLaunchConfigurations", "AccessDenied", func(t *testing.T, p *asg.Provider) error {
			_, err := p.Group("lc-group").Template(t.Context())
			return err
		}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			srv, asc, ec := newServer(t)
			policyFleet(t, srv)
			if err := srv.EnforcePolicy(withoutAction(t, tc.action)); err != nil {
				t.Fatal(err)
			}
			p := newProvider(t, srv, asc, ec, nil)
			err := tc.run(t, p)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("without %s: %v, want %s", tc.action, err, tc.code)
			}
			if _, ok := errors.AsType[*nodegroup.Error](err); !ok {
				t.Errorf("not a *nodegroup.Error: %T", err)
			}
		})
	}
}
