package schedule

import (
	"fmt"
	"sort"
	"time"
)

// State is what a schedule says at one instant.
type State struct {
	// At is the instant asked about.
	At time.Time `json:"at"`
	// Rule is the rule in force ("" when none is).
	Rule string   `json:"rule,omitempty"`
	Kind RuleKind `json:"kind,omitempty"`
	// Since is when that rule took force (its start, less the lead time).
	Since time.Time `json:"since,omitzero"`
	// Bounds are the rule's bounds; zero when no rule is in force.
	Bounds Bounds `json:"bounds"`
	// Next is the next instant at which the rule in force or its bounds
	// change, for requeueing; zero when nothing changes within the search
	// horizon.
	Next time.Time `json:"next,omitzero"`
	// Message explains the state in a sentence.
	Message string `json:"message"`
}

// Active reports whether a rule is in force.
func (st State) Active() bool { return st.Rule != "" }

// winner is the rule in force at u, if any, and since when.
func (s *Schedule) winner(u int64) (*rule, int64) {
	var best *rule
	var bestSince int64
	for i := range s.rules {
		r := &s.rules[i]
		since, ok := s.inForce(r, u)
		if !ok {
			continue
		}
		if best == nil || beats(r, since, best, bestSince) {
			best, bestSince = r, since
		}
	}
	return best, bestSince
}

// beats orders rules in force: priority, then kind, then the latest start
// (the last fired job wins), then the name for determinism.
func beats(r *rule, since int64, o *rule, oSince int64) bool {
	switch {
	case r.priority != o.priority:
		return r.priority > o.priority
	case r.kind.rank() != o.kind.rank():
		return r.kind.rank() > o.kind.rank()
	case since != oSince:
		return since > oSince
	}
	return r.name < o.name
}

// At reports the rule in force at t, its bounds, and the next transition.
func (s *Schedule) At(t time.Time) State {
	u := t.Unix()
	st := s.stateAt(u)
	st.At = t
	if n, ok := s.nextTransition(u); ok {
		st.Next = time.Unix(n, 0).In(s.loc)
	}
	return st
}

func (s *Schedule) stateAt(u int64) State {
	r, since := s.winner(u)
	if r == nil {
		return State{Message: "no rule is in force"}
	}
	st := State{Rule: r.name, Kind: r.kind, Since: time.Unix(since, 0).In(s.loc), Bounds: r.bounds}
	st.Message = fmt.Sprintf("%s %q in force since %s: %s", r.kind, r.name, st.Since.Format(time.RFC3339), r.bounds)
	return st
}

// sameState reports whether two states hold the same rule with the same bounds.
func sameState(a, b State) bool {
	return a.Rule == b.Rule && a.Bounds.equal(b.Bounds)
}

// horizon bounds the search for the next transition.
const horizon = 2 * 366 * 24 * 3600

// candidates are the instants after u at which some rule starts or ends.
func (s *Schedule) candidates(u int64, buf []int64) []int64 {
	for i := range s.rules {
		r := &s.rules[i]
		lead := int64(r.lead / time.Second)
		add := func(x int64, ok bool) {
			if ok && x > u {
				buf = append(buf, x)
			}
		}
		switch r.kind {
		case KindJob:
			if r.cron == nil {
				add(r.at.Unix()-lead, true)
				continue
			}
			f, ok := s.nextCounting(r, r.cron, max(u+lead, r.notBefore.Unix()-1))
			add(f-lead, ok && (r.notAfter.IsZero() || f <= r.notAfter.Unix()))
		case KindWindow:
			f, ok := s.nextCounting(r, r.start, u+lead)
			add(f-lead, ok)
			if r.end != nil {
				add(r.end.next(u))
			} else if st, ok := s.lastStart(r, u+lead); ok {
				add(st+int64(r.dur/time.Second), true)
			}
		case KindRange:
			add(r.from.Unix()-lead, true)
			if !r.to.IsZero() {
				add(r.to.Unix(), true)
			}
		}
	}
	return buf
}

// nextTransition is the first instant after u at which the state changes.
func (s *Schedule) nextTransition(u int64) (int64, bool) {
	cur := s.stateAt(u)
	var buf [16]int64
	at := u
	for at-u < horizon {
		cands := s.candidates(at, buf[:0])
		if len(cands) == 0 {
			return 0, false
		}
		next := cands[0]
		for _, c := range cands[1:] {
			next = min(next, c)
		}
		if !sameState(s.stateAt(next), cur) {
			return next, true
		}
		at = next
	}
	return 0, false
}

// Transition is a change of the schedule's state.
type Transition struct {
	At     time.Time `json:"at"`
	Rule   string    `json:"rule,omitempty"`
	Bounds Bounds    `json:"bounds"`
	// Message says what happens, e.g. `Window "business-hours" in force …`.
	Message string `json:"message"`
}

// Preview lists the next n transitions of s after from, for people and CLIs.
func Preview(s *Schedule, from time.Time, n int) []Transition {
	var out []Transition
	u := from.Unix()
	for len(out) < n {
		next, ok := s.nextTransition(u)
		if !ok {
			break
		}
		st := s.stateAt(next)
		out = append(out, Transition{At: time.Unix(next, 0).In(s.loc), Rule: st.Rule, Bounds: st.Bounds, Message: st.Message})
		u = next
	}
	return out
}

// overlapYear is where New looks for windows that can be in force together:
// the leap year 2024 in the schedule's zone (plus the span of every range).
const overlapYear = 2024

// checkOverlaps refuses two windows or ranges of equal priority that can be
// in force at the same time.
func (s *Schedule) checkOverlaps() error {
	var spans [][2]int64
	spans = append(spans, [2]int64{
		time.Date(overlapYear, 1, 1, 0, 0, 0, 0, s.loc).Unix(),
		time.Date(overlapYear+1, 1, 1, 0, 0, 0, 0, s.loc).Unix()})
	for _, r := range s.rules {
		if r.kind == KindRange {
			end := r.to.Unix()
			if r.to.IsZero() {
				end = r.from.Unix() + 7*24*3600
			}
			spans = append(spans, [2]int64{r.from.Unix() - int64(r.lead/time.Second) - 1, end})
		}
	}
	for _, sp := range spans {
		var buf [16]int64
		points := []int64{sp[0]}
		for at := sp[0]; at < sp[1] && len(points) < 100_000; {
			cands := s.candidates(at, buf[:0])
			if len(cands) == 0 {
				break
			}
			sort.Slice(cands, func(i, j int) bool { return cands[i] < cands[j] })
			at = cands[0]
			points = append(points, at)
		}
		for _, p := range points {
			if err := s.overlapAt(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Schedule) overlapAt(u int64) error {
	for i := range s.rules {
		a := &s.rules[i]
		if a.kind == KindJob {
			continue
		}
		if _, ok := s.inForce(a, u); !ok {
			continue
		}
		for j := i + 1; j < len(s.rules); j++ {
			b := &s.rules[j]
			if b.kind == KindJob || b.priority != a.priority {
				continue
			}
			if _, ok := s.inForce(b, u); ok {
				return fmt.Errorf("%w: rules %q and %q are both in force at %s with priority %d; give one a higher priority",
					ErrInvalidSchedule, a.name, b.name, time.Unix(u, 0).In(s.loc).Format(time.RFC3339), a.priority)
			}
		}
	}
	return nil
}
