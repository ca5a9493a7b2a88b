package ess_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
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

// caPolicy is the RAM policy cluster-autoscaler's Alibaba Cloud
// documentation tells operators to grant: ess:Describe*, the rule actions,
// RemoveInstances, DetachInstances and ecs:DescribeInstanceTypes, but not
// ess:ScaleWithAdjustment.
const caPolicy = `{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*","Action":["ess:Describe*",
	"ess:CreateScalingRule","ess:ModifyScalingRule","ess:RemoveInstances","ess:ExecuteScalingRule",
	"ess:DetachInstances","ecs:DescribeInstanceTypes"]}]}`

// Under cluster-autoscaler's policy: ScalingRules works; the default mode
// is denied with a *ScaleModeError naming ess:ScaleWithAdjustment and the
// ScalingRules alternative; with FallbackToScalingRules the default mode
// switches to the rules on the first denial and the whole flow works,
// calling the denied action once only.
func TestPolicyClusterAutoscaler(t *testing.T) {
	pol, err := esstest.ParsePolicy([]byte(caPolicy))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ScalingRules", func(t *testing.T) {
		srv, clock, id := policyEnv(t, pol)
		cfg := config(srv, clock, id)
		cfg.ScaleMode = ess.ScalingRules
		if err := flow(t.Context(), srv, clock, cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ScaleWithAdjustment", func(t *testing.T) {
		srv, clock, id := policyEnv(t, pol)
		err := flow(t.Context(), srv, clock, config(srv, clock, id))
		var sme *ess.ScaleModeError
		if !errors.As(err, &sme) || !errors.Is(err, ess.ErrAccessDenied) {
			t.Fatalf("flow: %v, want a *ScaleModeError wrapping ErrAccessDenied", err)
		}
		if sme.Mode != ess.ScaleWithAdjustment || sme.Action != "ess:ScaleWithAdjustment" || sme.Alternative != ess.ScalingRules {
			t.Errorf("ScaleModeError %+v", sme)
		}
		for _, want := range []string{"ess:ScaleWithAdjustment", "ScalingRules", "ess:ModifyScalingRule", "FallbackToScalingRules", "Forbidden.RAM"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message does not name %s: %v", want, err)
			}
		}
		if d := srv.Desired(id); d != 3 {
			t.Errorf("desired %d after a denied scale-up, want 3", d)
		}
	})
	t.Run("fallback", func(t *testing.T) {
		srv, clock, id := policyEnv(t, pol)
		cfg := config(srv, clock, id)
		cfg.FallbackToScalingRules = true
		p := newProvider(t, cfg)
		if p.ScaleMode() != ess.ScaleWithAdjustment {
			t.Fatalf("mode %s before any denial", p.ScaleMode())
		}
		if err := flow(t.Context(), srv, clock, cfg); err != nil {
			t.Fatal(err)
		}
		if n := srv.Calls()["ess:ScaleWithAdjustment"]; n != 1 {
			t.Errorf("ess:ScaleWithAdjustment called %d times, want once (then the rules)", n)
		}
		gs, _ := p.NodeGroups(t.Context())
		if err := gs[0].IncreaseSize(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if p.ScaleMode() != ess.ScalingRules {
			t.Errorf("mode %s after the denial, want ScalingRules", p.ScaleMode())
		}
		if n := srv.Calls()["ess:ScaleWithAdjustment"]; n != 2 {
			t.Errorf("ess:ScaleWithAdjustment called %d times over two providers, want 2", n)
		}
	})
	// The fallback does not hide a policy that allows neither mode.
	t.Run("fallback denied too", func(t *testing.T) {
		only, _ := esstest.ParsePolicy([]byte(`{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*",
			"Action":["ess:Describe*","ecs:DescribeInstanceTypes"]}]}`))
		srv, clock, id := policyEnv(t, only)
		cfg := config(srv, clock, id)
		cfg.FallbackToScalingRules = true
		p := newProvider(t, cfg)
		gs, _ := p.NodeGroups(t.Context())
		err := gs[0].IncreaseSize(t.Context(), 1)
		var sme *ess.ScaleModeError
		if !errors.As(err, &sme) || sme.Mode != ess.ScalingRules || sme.Action != "ess:CreateScalingRule" || sme.Alternative != ess.ScaleWithAdjustment {
			t.Fatalf("IncreaseSize: %v (%+v)", err, sme)
		}
	})
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
