package asgtest

import "time"

// FaultKind is a kind of injected failure.
type FaultKind int

// Fault kinds.
const (
	// FaultThrottle answers HTTP 400 with code Throttling ("Rate exceeded"),
	// without applying the action, as AWS does when a rate limit is hit.
	FaultThrottle FaultKind = iota + 1
	// FaultServerError answers HTTP 500 InternalFailure without applying the action.
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

func (f *fault) err() error {
	switch f.kind {
	case FaultThrottle:
		return &apiError{status: 400, code: "Throttling", msg: "Rate exceeded"}
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
