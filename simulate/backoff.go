package simulate

import "time"

// Backoff is per-group scale-up backoff after failures, as a value owned by
// the caller (cluster-autoscaler's exponential backoff): the first failure
// backs a group off for Initial; a failure after that backoff expired
// doubles it, up to Max; a failure during a backoff keeps it; a group
// without a failure for Reset is forgotten. The zero value uses
// cluster-autoscaler's defaults (5 min, 30 min, 3 h). Not safe for
// concurrent use; it is JSON-serialisable.
type Backoff struct {
	Initial time.Duration           `json:"initial,omitempty"`
	Max     time.Duration           `json:"max,omitempty"`
	Reset   time.Duration           `json:"reset,omitempty"`
	Groups  map[string]BackoffEntry `json:"groups,omitempty"`
}

// BackoffEntry is one group's backoff.
type BackoffEntry struct {
	Duration   time.Duration `json:"duration"`
	Until      time.Time     `json:"until"`
	LastFailed time.Time     `json:"lastFailed"`
	Reason     string        `json:"reason,omitempty"`
}

func (b *Backoff) params() (initial, maxd, reset time.Duration) {
	initial, maxd, reset = b.Initial, b.Max, b.Reset
	if initial <= 0 {
		initial = 5 * time.Minute
	}
	if maxd <= 0 {
		maxd = 30 * time.Minute
	}
	if reset <= 0 {
		reset = 3 * time.Hour
	}
	return initial, maxd, reset
}

// Fail records a failed scale-up of group at now and returns when its
// backoff ends.
func (b *Backoff) Fail(group string, now time.Time, reason string) time.Time {
	initial, maxd, reset := b.params()
	if b.Groups == nil {
		b.Groups = map[string]BackoffEntry{}
	}
	d := initial
	if e, ok := b.Groups[group]; ok && now.Before(e.LastFailed.Add(reset)) {
		if e.Until.After(now) {
			d = e.Duration // concurrent failures do not compound
		} else {
			d = min(2*e.Duration, maxd)
		}
	}
	until := now.Add(d)
	b.Groups[group] = BackoffEntry{Duration: d, Until: until, LastFailed: now, Reason: reason}
	return until
}

// Active reports whether group is backed off at now, and until when.
func (b *Backoff) Active(group string, now time.Time) (time.Time, bool) {
	e, ok := b.Groups[group]
	if !ok || !now.Before(e.Until) {
		return time.Time{}, false
	}
	return e.Until, true
}

// Succeed forgets group's backoff (its nodes registered).
func (b *Backoff) Succeed(group string) { delete(b.Groups, group) }

// Prune forgets groups whose last failure is Reset or more before now.
func (b *Backoff) Prune(now time.Time) {
	_, _, reset := b.params()
	for g, e := range b.Groups {
		if !now.Before(e.LastFailed.Add(reset)) {
			delete(b.Groups, g)
		}
	}
}
