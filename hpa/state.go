package hpa

import "time"

// State is the memory an HPA carries from one evaluation to the next: the
// recent recommendations (for stabilization) and the recent scale events (for
// rate-limiting policies). Upstream keeps these in controller memory and loses
// them on restart; here the caller owns the value and can persist it as JSON.
//
// The zero State is an HPA seen for the first time. A State is a plain value:
// it is not safe for concurrent use, and one State belongs to one HPA.
type State struct {
	Recommendations []Recommendation `json:"recommendations,omitempty"`
	ScaleUpEvents   []ScaleEvent     `json:"scaleUpEvents,omitempty"`
	ScaleDownEvents []ScaleEvent     `json:"scaleDownEvents,omitempty"`
}

// Recommendation is one past desired replica count.
type Recommendation struct {
	Replicas  int32     `json:"replicas"`
	Timestamp time.Time `json:"timestamp"`
}

// ScaleEvent is one past rescale: the size of the change (always positive) and when.
type ScaleEvent struct {
	Change    int32     `json:"change"`
	Timestamp time.Time `json:"timestamp"`
	Outdated  bool      `json:"outdated,omitempty"`
}

// observe records {current, now} when the State has no recommendation yet, as
// upstream does at the start of every reconcile.
func (s *State) observe(now time.Time, current int32) {
	if len(s.Recommendations) == 0 {
		s.Recommendations = append(s.Recommendations, Recommendation{Replicas: current, Timestamp: now})
	}
}

// record stores a recommendation by overwriting the entry at old (the last
// one older than every cutoff) or, when there is none (old < 0), appending,
// so the history stays as long as the window holds evaluations.
func (s *State) record(old int, r Recommendation) {
	if old >= 0 {
		s.Recommendations[old] = r
		return
	}
	s.Recommendations = append(s.Recommendations, r)
}

// expired reports whether an entry stamped t has left a window whose cutoff
// is now − window. Upstream stamps each entry with time.Now() when it stores
// it and computes every cutoff from a later time.Now(), so an entry is
// always strictly older than the instant it is compared at: one stamped
// exactly at the cutoff (with a 0 s window, one stored earlier in the same
// reconcile, such as the first recommendation of a fresh HPA) has expired.
// Only entries strictly after the cutoff are in the window.
func expired(t, cutoff time.Time) bool { return !t.After(cutoff) }

// stabilizeLegacy is upstream's stabilizeRecommendation: the highest
// recommendation within the window (and desired itself).
func (s *State) stabilizeLegacy(now time.Time, window time.Duration, desired int32) int32 {
	cutoff := now.Add(-window)
	highest, old := desired, -1
	for i, r := range s.Recommendations {
		if expired(r.Timestamp, cutoff) {
			old = i
		} else if r.Replicas > highest {
			highest = r.Replicas
		}
	}
	s.record(old, Recommendation{Replicas: desired, Timestamp: now})
	return highest
}

// stabilizeWithBehavior is upstream's stabilizeRecommendationWithBehaviors:
// current clamped between the lowest recommendation of the scale-up window
// and the highest of the scale-down window.
func (s *State) stabilizeWithBehavior(now time.Time, upWindow, downWindow time.Duration, current, desired int32) int32 {
	upCut, downCut := now.Add(-upWindow), now.Add(-downWindow)
	up, down, old := desired, desired, -1
	for i, r := range s.Recommendations {
		if r.Timestamp.After(upCut) {
			up = min(up, r.Replicas)
		}
		if r.Timestamp.After(downCut) {
			down = max(down, r.Replicas)
		}
		if expired(r.Timestamp, upCut) && expired(r.Timestamp, downCut) {
			old = i
		}
	}
	s.record(old, Recommendation{Replicas: desired, Timestamp: now})
	return min(max(current, up), down)
}

// RecordRescale stores the scale event of a successful resize from → to at now
// (upstream's storeScaleEvent). Call it after the target was resized to
// Result.DesiredReplicas. It does nothing for an HPA without behavior (b nil),
// whose rate limit does not read events. Events older than the direction's
// longest policy period are reused, so the history stays bounded.
func (s *State) RecordRescale(b *Behavior, now time.Time, from, to int32) {
	if b == nil || from == to {
		return
	}
	b = DefaultBehavior(b)
	if to > from {
		s.ScaleUpEvents = storeEvent(s.ScaleUpEvents, longestPeriod(b.ScaleUp), now, to-from)
	} else {
		s.ScaleDownEvents = storeEvent(s.ScaleDownEvents, longestPeriod(b.ScaleDown), now, from-to)
	}
}

func storeEvent(events []ScaleEvent, longest int32, now time.Time, change int32) []ScaleEvent {
	cutoff := now.Add(-time.Duration(longest) * time.Second)
	old := -1
	for i := range events {
		if expired(events[i].Timestamp, cutoff) {
			events[i].Outdated = true
		}
		if events[i].Outdated {
			old = i
		}
	}
	e := ScaleEvent{Change: change, Timestamp: now}
	if old >= 0 {
		events[old] = e
		return events
	}
	return append(events, e)
}

func longestPeriod(r *ScalingRules) int32 {
	var longest int32
	for _, p := range r.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	return longest
}
