package ess

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/kscale/kscale/nodegroup"
)

// ruleRef is a group's TotalCapacity scaling rule (ScalingRules mode).
type ruleRef struct{ id, ari string }

// clientToken is a fresh idempotency token: ESS answers a repeated
// request carrying the same token with the first request's result, so a
// retry after a lost response does not act twice.
func clientToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "kscale-" + hex.EncodeToString(b[:])
}

// setTotal sets a group's desired capacity to total. Both paths set an
// absolute value (AdjustmentType TotalCapacity), so repeating the call —
// which the retry loop does on throttling and 5xx — can never scale twice;
// the ClientToken makes the repeat return the first activity besides.
//
// A RAM denial of the mode's action is a *ScaleModeError; with
// FallbackToScalingRules a denied ScaleWithAdjustment switches the
// provider to ScalingRules and the change is made that way (the denied
// call changed nothing, so this cannot apply it twice).
func (p *Provider) setTotal(ctx context.Context, group string, total int) error {
	var err error
	mode := p.ScaleMode()
	if mode == ScalingRules {
		err = p.setTotalByRule(ctx, group, total)
	} else {
		req := ess.CreateScaleWithAdjustmentRequest()
		req.ScalingGroupId = group
		req.AdjustmentType = "TotalCapacity"
		req.AdjustmentValue = requests.NewInteger(total)
		req.ClientToken = clientToken()
		req.ActivityMetadata = `{"managedBy":"kscale"}`
		_, err = call(ctx, p.api, "ess:ScaleWithAdjustment", req, p.api.ess.ScaleWithAdjustment)
		if errors.Is(err, ErrAccessDenied) && p.cfg.FallbackToScalingRules {
			p.mu.Lock()
			p.mode = ScalingRules
			p.mu.Unlock()
			mode = ScalingRules
			err = p.setTotalByRule(ctx, group, total)
		}
	}
	if denied := (*deniedAction)(nil); errors.As(err, &denied) {
		alt := ScalingRules
		if mode == ScalingRules {
			alt = ScaleWithAdjustment
		}
		return &ScaleModeError{Mode: mode, Action: denied.action, Alternative: alt, Err: err}
	}
	switch code := errorCode(err); {
	case err == nil:
		return nil
	case strings.HasPrefix(code, "IncorrectCapacity.MaxSize"):
		return fmt.Errorf("%w: %w", nodegroup.ErrAtMax, err)
	case strings.HasPrefix(code, "IncorrectCapacity.MinSize"):
		return fmt.Errorf("%w: %w", nodegroup.ErrAtMin, err)
	}
	return err
}

func (p *Provider) setTotalByRule(ctx context.Context, group string, total int) error {
	r, err := p.rule(ctx, group)
	if err != nil {
		return err
	}
	mod := ess.CreateModifyScalingRuleRequest()
	mod.ScalingRuleId = r.id
	mod.AdjustmentType = "TotalCapacity"
	mod.AdjustmentValue = requests.NewInteger(total)
	if _, err := call(ctx, p.api, "ess:ModifyScalingRule", mod, p.api.ess.ModifyScalingRule); err != nil {
		if strings.Contains(errorCode(err), "NotFound") { // deleted behind our back
			p.mu.Lock()
			delete(p.rules, group)
			p.mu.Unlock()
		}
		return err
	}
	exe := ess.CreateExecuteScalingRuleRequest()
	exe.ScalingRuleAri = r.ari
	exe.ClientToken = clientToken()
	_, err = call(ctx, p.api, "ess:ExecuteScalingRule", exe, p.api.ess.ExecuteScalingRule)
	return err
}

// rule finds or creates the group's rule named RuleName.
func (p *Provider) rule(ctx context.Context, group string) (ruleRef, error) {
	p.mu.Lock()
	r, ok := p.rules[group]
	p.mu.Unlock()
	if ok {
		return r, nil
	}
	find := func() (ruleRef, bool, error) {
		req := ess.CreateDescribeScalingRulesRequest()
		req.ScalingGroupId = group
		req.ScalingRuleName = &[]string{RuleName}
		resp, err := call(ctx, p.api, "ess:DescribeScalingRules", req, p.api.ess.DescribeScalingRules)
		if err != nil {
			return ruleRef{}, false, err
		}
		for _, sr := range resp.ScalingRules.ScalingRule {
			if sr.ScalingRuleName == RuleName && sr.ScalingGroupId == group {
				return ruleRef{id: sr.ScalingRuleId, ari: sr.ScalingRuleAri}, true, nil
			}
		}
		return ruleRef{}, false, nil
	}
	r, ok, err := find()
	if err != nil {
		return r, err
	}
	if !ok {
		req := ess.CreateCreateScalingRuleRequest()
		req.ScalingGroupId = group
		req.ScalingRuleName = RuleName
		req.ScalingRuleType = "SimpleScalingRule"
		req.AdjustmentType = "TotalCapacity"
		req.AdjustmentValue = requests.NewInteger(0)
		resp, err := call(ctx, p.api, "ess:CreateScalingRule", req, p.api.ess.CreateScalingRule)
		switch {
		case err == nil:
			r = ruleRef{id: resp.ScalingRuleId, ari: resp.ScalingRuleAri}
		case strings.Contains(errorCode(err), "Duplicate"):
			// An earlier attempt created it and its response was lost.
			if r, ok, err = find(); err != nil || !ok {
				return r, fmt.Errorf("scaling rule %s: created but not found: %w", RuleName, err)
			}
		default:
			return r, err
		}
	}
	p.mu.Lock()
	p.rules[group] = r
	p.mu.Unlock()
	return r, nil
}

// removeInstances removes one batch (≤ 20) with DecreaseDesiredCapacity,
// carrying a ClientToken so that a retry after a lost response is answered
// with the first result instead of failing on instances already Removing.
func (p *Provider) removeInstances(ctx context.Context, group string, ids []string) error {
	req := ess.CreateRemoveInstancesRequest()
	req.ScalingGroupId = group
	list := append([]string(nil), ids...)
	req.InstanceId = &list
	req.DecreaseDesiredCapacity = requests.NewBoolean(true)
	req.ClientToken = clientToken()
	_, err := call(ctx, p.api, "ess:RemoveInstances", req, p.api.ess.RemoveInstances)
	return err
}
