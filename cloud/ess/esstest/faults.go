package esstest

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// Real error codes the emulator injects.
const (
	CodeThrottling         = "Throttling"         // HTTP 400
	CodeThrottlingUser     = "Throttling.User"    // HTTP 400, per-user flow control
	CodeServiceUnavailable = "ServiceUnavailable" // HTTP 503
	CodeInternalError      = "InternalError"      // HTTP 500
	CodeForbiddenRAM       = "Forbidden.RAM"      // HTTP 403
)

// Fault makes matching requests fail.
type Fault struct {
	// Action is "ess:ScaleWithAdjustment", "ecs:DescribeInstanceTypes",
	// ...; empty matches every action.
	Action string
	// InstanceID, when set, matches only requests naming that instance
	// (InstanceId.N), so one RemoveInstances batch can be failed.
	InstanceID string
	// Code and Status of the error; Code defaults to Throttling, Status to
	// 400 for Throttling codes, 403 for Forbidden codes and 503 otherwise.
	Code    string
	Status  int
	Message string
	// Times is how many matching requests fail; 0 or less means forever
	// (until ClearFaults).
	Times int
	// AfterApply lets the action take effect and then fails the response,
	// as a lost response does: a client that retries without a ClientToken
	// applies it twice.
	AfterApply bool
}

func (f *Fault) err() *apiError {
	msg := f.Message
	if msg == "" {
		msg = map[string]string{
			CodeThrottling:     "Request was denied due to request throttling.",
			CodeThrottlingUser: "Request was denied due to user flow control.",
		}[f.Code]
		if msg == "" {
			msg = "The request has failed due to a temporary failure of the server."
		}
	}
	return &apiError{status: f.Status, code: f.Code, message: msg}
}

// InjectFault adds a fault; faults are matched in the order added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Code == "" {
		f.Code = CodeThrottling
	}
	if f.Status == 0 {
		switch {
		case strings.HasPrefix(f.Code, "Throttling"):
			f.Status = 400
		case strings.HasPrefix(f.Code, "Forbidden"):
			f.Status = 403
		case f.Code == CodeInternalError:
			f.Status = 500
		default:
			f.Status = 503
		}
	}
	s.faults = append(s.faults, &f)
}

// Throttle fails the next n calls of action (every action when empty; n <= 0
// forever) with Throttling.
func (s *Server) Throttle(action string, n int) {
	s.InjectFault(Fault{Action: action, Code: CodeThrottling, Times: n})
}

// FailServer fails the next n calls of action with a 503 ServiceUnavailable.
func (s *Server) FailServer(action string, n int) {
	s.InjectFault(Fault{Action: action, Code: CodeServiceUnavailable, Times: n})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLatency delays every response by d of wall time.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

func (s *Server) takeFault(action string, p params) *Fault {
	for i, f := range s.faults {
		if f.Action != "" && f.Action != action {
			continue
		}
		if f.InstanceID != "" && !slices.Contains(p.list("InstanceId"), f.InstanceID) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

// Policy is a RAM policy document: {"Version":"1","Statement":[{"Effect":
// "Allow","Action":["ess:Describe*",...],"Resource":"*"}]}. Actions are
// "<product>:<Action>" patterns with * wildcards; a matching Deny wins over
// any Allow, and an action nothing allows is denied.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Effect   string  `json:"Effect"`
	Action   Actions `json:"Action"`
	Resource Actions `json:"Resource"`
}

// Actions are the Action or Resource of a statement; JSON accepts a string
// or a list of strings, as RAM does.
type Actions []string

func (a *Actions) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("Action/Resource must be a string or a list of strings: %w", err)
	}
	*a = many
	return nil
}

// ParsePolicy parses a RAM policy document.
func ParsePolicy(doc []byte) (*Policy, error) {
	var p Policy
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, fmt.Errorf("esstest: RAM policy: %w", err)
	}
	if len(p.Statement) == 0 {
		return nil, fmt.Errorf("esstest: RAM policy has no statements")
	}
	for i, st := range p.Statement {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("esstest: RAM policy statement %d: Effect %q is neither Allow nor Deny", i, st.Effect)
		}
	}
	return &p, nil
}

// Allows reports whether the policy grants action ("ess:ScaleWithAdjustment").
func (p *Policy) Allows(action string) bool {
	allowed := false
	for _, st := range p.Statement {
		for _, pat := range st.Action {
			if ok, _ := path.Match(strings.ToLower(pat), strings.ToLower(action)); ok || pat == "*" {
				if st.Effect == "Deny" {
					return false
				}
				allowed = true
			}
		}
	}
	return allowed
}

// EnforcePolicy denies, with Forbidden.RAM and HTTP 403, every action the
// policy does not allow; a nil policy turns enforcement off.
func (s *Server) EnforcePolicy(p *Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

// EnforcePolicyFile loads a policy document from a file and enforces it.
func (s *Server) EnforcePolicyFile(name string) error {
	doc, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("esstest: %w", err)
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		return err
	}
	s.EnforcePolicy(p)
	return nil
}
