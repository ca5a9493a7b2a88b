package asgtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// policy is the part of an IAM identity policy document the emulator
// enforces, with IAM's evaluation logic for actions: a request is allowed
// when some Allow statement matches it and no Deny statement does (an
// explicit deny wins). A statement matches an action when one of its Action
// patterns matches, or, for a NotAction statement, when none of its
// NotAction patterns does. Patterns are "service:Name" with IAM's
// wildcards, * (any run of characters) and ? (one character), compared
// case-insensitively. Resource, NotResource and Condition are not
// modelled: every statement applies to every resource, unconditionally.
type policy struct {
	statements []statement
}

type statement struct {
	deny     bool
	not      bool     // NotAction: matches actions none of the patterns match
	patterns []string // lower case
}

type policyDoc struct {
	Version   string
	Statement statementList
}

type rawStatement struct {
	Sid       string
	Effect    string
	Action    *stringOrList
	NotAction *stringOrList
}

// statementList is IAM's Statement: one statement object or a list of them.
type statementList []rawStatement

func (l *statementList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		var one rawStatement
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = statementList{one}
		return nil
	}
	var many []rawStatement
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("policy: Statement is neither an object nor a list of objects: %w", err)
	}
	*l = many
	return nil
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
	for i, raw := range d.Statement {
		var st statement
		switch raw.Effect {
		case "Allow":
		case "Deny":
			st.deny = true
		default:
			return nil, fmt.Errorf("asgtest: policy statement %d: effect %q (IAM accepts Allow or Deny)", i, raw.Effect)
		}
		var list stringOrList
		switch {
		case raw.Action != nil && raw.NotAction != nil:
			return nil, fmt.Errorf("asgtest: policy statement %d has both Action and NotAction", i)
		case raw.Action != nil:
			list = *raw.Action
		case raw.NotAction != nil:
			list, st.not = *raw.NotAction, true
		default:
			return nil, fmt.Errorf("asgtest: policy statement %d has neither Action nor NotAction", i)
		}
		for _, a := range list {
			if a != "*" && !strings.Contains(a, ":") {
				return nil, fmt.Errorf("asgtest: policy statement %d: action %q is not service:Name", i, a)
			}
			st.patterns = append(st.patterns, strings.ToLower(a))
		}
		p.statements = append(p.statements, st)
	}
	return p, nil
}

// wildcardMatch matches s against an IAM pattern: * is any run of
// characters (':' included), ? is exactly one, everything else is literal.
func wildcardMatch(pattern, s string) bool {
	// Iterative glob with backtracking to the last star: linear in practice.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func (st statement) matches(action string) bool {
	hit := false
	for _, p := range st.patterns {
		if wildcardMatch(p, action) {
			hit = true
			break
		}
	}
	return hit != st.not
}

// allows reports whether action ("autoscaling:SetDesiredCapacity") is
// allowed: some Allow statement matches and no Deny statement does.
func (p *policy) allows(action string) bool {
	a := strings.ToLower(action)
	allowed := false
	for _, st := range p.statements {
		if !st.matches(a) {
			continue
		}
		if st.deny {
			return false
		}
		allowed = true
	}
	return allowed
}

// EnforcePolicy makes the server deny every action the IAM policy document
// does not allow, with IAM's logic for Action and NotAction, Allow and Deny
// (an explicit deny wins) and * and ? wildcards: AccessDenied for Auto
// Scaling, UnauthorizedOperation for EC2, both HTTP 403. Resource and
// Condition elements are accepted and not evaluated. A nil document turns
// enforcement off.
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
