package asgtest

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// policy is the part of an IAM policy document the emulator enforces:
// statements with Effect Allow or Deny and Action patterns ("service:Name",
// with * and ? wildcards, case-insensitive). Resources and conditions are
// not modelled: every statement applies to every resource.
type policy struct {
	allow, deny []string
}

type policyDoc struct {
	Version   string
	Statement []struct {
		Effect string
		Action stringOrList
	}
}

type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("policy: Action is neither a string nor a list of strings: %w", err)
	}
	*l = many
	return nil
}

func parsePolicy(doc []byte) (*policy, error) {
	var d policyDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("asgtest: policy: %w", err)
	}
	if len(d.Statement) == 0 {
		return nil, fmt.Errorf("asgtest: policy has no statements")
	}
	p := &policy{}
	for i, st := range d.Statement {
		for _, a := range st.Action {
			a = strings.ToLower(a)
			if _, err := path.Match(a, ""); err != nil {
				return nil, fmt.Errorf("asgtest: policy statement %d: action %q: %w", i, a, err)
			}
			switch st.Effect {
			case "Allow":
				p.allow = append(p.allow, a)
			case "Deny":
				p.deny = append(p.deny, a)
			default:
				return nil, fmt.Errorf("asgtest: policy statement %d: effect %q", i, st.Effect)
			}
		}
	}
	return p, nil
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, action); ok {
			return true
		}
	}
	return false
}

// allows reports whether action ("autoscaling:SetDesiredCapacity") is
// allowed: some Allow matches and no Deny does.
func (p *policy) allows(action string) bool {
	a := strings.ToLower(action)
	return matchAny(p.allow, a) && !matchAny(p.deny, a)
}

// EnforcePolicy makes the server deny every action the IAM policy document
// does not allow: AccessDenied for Auto Scaling, UnauthorizedOperation for
// EC2, both HTTP 403. A nil document turns enforcement off.
func (s *Server) EnforcePolicy(doc []byte) error {
	var p *policy
	if doc != nil {
		var err error
		if p, err = parsePolicy(doc); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
	return nil
}
