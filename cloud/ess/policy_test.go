package ess_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
)

// flow drives every call the adapter makes: discovery, templates, a
// scale-up, a stock-out noticed from the scaling activities, cancelling the
// unfulfilled capacity, and a deletion. It returns the first error.
func flow(ctx context.Context, srv *esstest.Server, clock *fakeClock, cfg ess.Config) error {
	p, err := ess.New(ctx, cfg)
	if err != nil {
		return err
	}
	gs, err := p.NodeGroups(ctx)
	if err != nil || len(gs) != 1 {
		return fmt.Errorf("NodeGroups: %d groups, %v", len(gs), err)
	}
	g := gs[0]
	if _, err := g.Template(ctx); err != nil {
		return err
	}
	if err := g.IncreaseSize(ctx, 1); err != nil {
		return err
	}
	srv.SetStockOut("ecs.g7.large", "cn-hangzhou-a", true)
	if err := g.IncreaseSize(ctx, 1); err != nil {
		return err
	}
	srv.Settle()
	clock.Advance(time.Hour)
	if err := p.Refresh(ctx); err != nil {
		return err
	}
	ns, err := g.Nodes(ctx)
	if err != nil {
		return err
	}
	var running string
	stockOuts := 0
	for _, n := range ns {
		if n.ErrorClass == nodegroup.OutOfCapacity {
			stockOuts++
		}
		if n.State == nodegroup.InstanceRunning {
			running = n.ProviderID
		}
	}
	if stockOuts != 1 {
		return fmt.Errorf("%d out-of-capacity instances, want 1: %+v", stockOuts, ns)
	}
	if err := g.DecreaseTargetSize(ctx, 1); err != nil {
		return err
	}
	return g.DeleteNodes(ctx, []string{running})
}

func policyEnv(t *testing.T, p *esstest.Policy) (*esstest.Server, *fakeClock, string) {
	srv := newServer(t, esstest.Config{})
	id := srv.AddGroup(esstest.Group{MinSize: 1, MaxSize: 10, Size: 3,
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	srv.EnforcePolicy(p)
	return srv, newClock(), id
}

func loadPolicy(t *testing.T, file string) *esstest.Policy {
	t.Helper()
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := esstest.ParsePolicy(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var policyVariants = []struct {
	file string
	mode ess.ScaleMode
}{
	{"ram-policy.json", ess.ScaleWithAdjustment},
	{"ram-policy-rules.json", ess.ScalingRules},
}

// The shipped policies allow the whole flow, and every action they list is
// used: nothing more, nothing less.
func TestPolicySufficientAndMinimal(t *testing.T) {
	for _, v := range policyVariants {
		t.Run(v.file, func(t *testing.T) {
			pol := loadPolicy(t, v.file)
			srv, clock, id := policyEnv(t, pol)
			cfg := config(srv, clock, id)
			cfg.ScaleMode = v.mode
			if err := flow(t.Context(), srv, clock, cfg); err != nil {
				t.Fatalf("flow under %s: %v", v.file, err)
			}
			used := slices.Sorted(maps.Keys(srv.Calls()))
			listed := slices.Sorted(slices.Values(pol.Statement[0].Action))
			if !slices.Equal(used, listed) {
				t.Errorf("actions used %v\n policy lists %v", used, listed)
			}
		})
	}
}

// Taking any one action out of a shipped policy makes the flow fail with
// the denial, surfaced as ErrAccessDenied.
func TestPolicyEachActionNeeded(t *testing.T) {
	for _, v := range policyVariants {
		full := loadPolicy(t, v.file)
		for _, drop := range full.Statement[0].Action {
			t.Run(v.file+"/without "+drop, func(t *testing.T) {
				pol := &esstest.Policy{Version: "1", Statement: []esstest.Statement{{Effect: "Allow", Resource: esstest.Actions{"*"},
					Action: slices.DeleteFunc(slices.Clone(full.Statement[0].Action), func(a string) bool { return a == drop })}}}
				srv, clock, id := policyEnv(t, pol)
				cfg := config(srv, clock, id)
				cfg.ScaleMode = v.mode
				err := flow(t.Context(), srv, clock, cfg)
				if !errors.Is(err, ess.ErrAccessDenied) {
					t.Fatalf("flow without %s: %v, want ErrAccessDenied", drop, err)
				}
			})
		}
	}
}

// The custom policy commonly granted to self-built clusters (ess:Describe*,
// the rule actions, RemoveInstances, DetachInstances and
// ecs:DescribeInstanceTypes) is enough in ScalingRules mode and not in the
// default mode.
func TestPolicyCommonCustom(t *testing.T) {
	doc := `{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*","Action":["ess:Describe*",
		"ess:CreateScalingRule","ess:ModifyScalingRule","ess:ExecuteScalingRule","ess:RemoveInstances",
		"ess:DetachInstances","ecs:DescribeInstanceTypes"]}]}`
	pol, err := esstest.ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []ess.ScaleMode{ess.ScalingRules, ess.ScaleWithAdjustment} {
		srv, clock, id := policyEnv(t, pol)
		cfg := config(srv, clock, id)
		cfg.ScaleMode = mode
		err := flow(t.Context(), srv, clock, cfg)
		if mode == ess.ScalingRules && err != nil {
			t.Errorf("%s: %v", mode, err)
		}
		if mode == ess.ScaleWithAdjustment && !errors.Is(err, ess.ErrAccessDenied) {
			t.Errorf("%s: %v, want ErrAccessDenied", mode, err)
		}
	}
}
