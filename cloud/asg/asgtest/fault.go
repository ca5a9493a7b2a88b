package asgtest

import "time"

// FaultKind is a kind of injected failure.
type FaultKind int

// Fault kinds.
const (
	// FaultThrottle refuses the call without applying it, as AWS does when
	// a rate limit is hit: Auto Scaling answers HTTP 400 Throttling ("Rate
	// exceeded"), EC2 HTTP 503 RequestLimitExceeded.
	FaultThrottle FaultKind = iota + 1
	// FaultServerError answers a 5xx without applying the action: Auto
	// Scaling HTTP 500 InternalFailure, EC2 HTTP 500 InternalError.
	FaultServerError
	// FaultLostResponse applies the action and then answers HTTP 500, as when
	// a response is lost on the way back: a retry repeats an applied call.
	FaultLostResponse
)

type fault struct {
	kind   FaultKind
	action string // "" matches every action
	left   int    // < 0: until cleared
}

// err is the fault's answer in the service's own codes ("autoscaling" or "ec2").
func (f *fault) err(service string) error {
	switch {
	case f.kind == FaultThrottle && service == "ec2":
		return &apiError{status: 503, code: "RequestLimitExceeded", msg: "Request limit exceeded."}
	case f.kind == FaultThrottle:
		return &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}
	case service == "ec2":
		return &apiError{status: 500, code: "InternalError", msg: "An internal error has occurred"}
	default:
		return &apiError{status: 500, code: "InternalFailure", msg: "An internal error occurred."}
	}
}

// Inject makes the next times requests for action ("" for any action) fail
// with kind; times < 0 keeps failing until ClearFaults. Faults are consumed
// in the order they were injected.
func (s *Server) Inject(kind FaultKind, action string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times == 0 {
		return
	}
	s.faults = append(s.faults, &fault{kind: kind, action: action, left: times})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetLatency delays every answer by d of real time (not the virtual clock).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// takeFault consumes the first fault matching action; s.mu is held.
func (s *Server) takeFault(action string) *fault {
	for i, f := range s.faults {
		if f.action != "" && f.action != action {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}
