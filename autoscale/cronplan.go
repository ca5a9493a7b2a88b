package autoscale

import (
	"fmt"
	"time"

	"github.com/kscale/kscale/schedule"
)

// Cron decision reasons (Event reasons too).
const (
	// ReasonScheduleApplied: the target was resized to the rule in force.
	ReasonScheduleApplied = "ScheduleApplied"
	// ReasonScheduleHeld: the target's count already meets the rule.
	ReasonScheduleHeld = "ScheduleHeld"
	// ReasonNoRuleInForce: no rule is in force; the count is left alone.
	ReasonNoRuleInForce = "NoRuleInForce"
	// ReasonBoundedHPA: an HPA owns the target; its min/max were set to the rule's.
	ReasonBoundedHPA = "BoundedHPA"
	// ReasonRestoredHPA: no rule in force; the HPA's own min/max were restored.
	ReasonRestoredHPA = "RestoredHPA"
)

// HPABounds are an HPA's minReplicas and maxReplicas; they are what a
// CronScaler writes to an HPA that owns its target, and what it records in
// AnnotationOriginalBounds to restore.
type HPABounds struct {
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	MaxReplicas int32  `json:"maxReplicas"`
}

func (b HPABounds) equal(o HPABounds) bool {
	return b.MaxReplicas == o.MaxReplicas && (b.MinReplicas == nil) == (o.MinReplicas == nil) &&
		(b.MinReplicas == nil || *b.MinReplicas == *o.MinReplicas)
}

func (b HPABounds) String() string {
	if b.MinReplicas == nil {
		return fmt.Sprintf("min unset, max %d", b.MaxReplicas)
	}
	return fmt.Sprintf("min %d, max %d", *b.MinReplicas, b.MaxReplicas)
}

// hpaView is what the cron plan needs of one owning HPA.
type hpaView struct {
	Name    string
	Bounds  HPABounds
	Saved   *HPABounds // AnnotationOriginalBounds, when present
	Invalid error      // the annotation could not be read
}

// hpaChange is what to write to one owning HPA.
type hpaChange struct {
	Name   string
	Bounds HPABounds
	// Save records Original in the annotation (first bounding); Restore
	// removes the annotation (the originals are back).
	Save    *HPABounds
	Restore bool
	Reason  string
	Message string
}

// cronPlan is the decision of one CronScaler sync.
type cronPlan struct {
	State schedule.State
	// Direct mode (no HPA owns the target).
	Desired int32
	Rescale bool
	// HPA mode.
	HPAs []hpaChange
	// RequeueAfter is the delay to the next sync: the next transition, or
	// the resync period when that comes first (or there is none).
	RequeueAfter time.Duration
	Reason       string
	Message      string
}

// planCron decides one cron sync. It is pure: the instant, the schedule's
// state at that instant, and what was read of the target (its current
// count, or the HPAs owning it). Missed transitions need no replay: the
// state at now is the rule in force now.
func planCron(now time.Time, st schedule.State, resync time.Duration, current int32, hpas []hpaView) cronPlan {
	p := cronPlan{State: st, Desired: current, RequeueAfter: requeueAfter(now, st.Next, resync)}
	if len(hpas) > 0 {
		planHPAs(&p, st, hpas)
		return p
	}
	if !st.Active() {
		p.Reason, p.Message = ReasonNoRuleInForce, "no rule is in force; the replica count is left as it is"
		return p
	}
	d, err := schedule.Compose(current, st.Bounds, schedule.PolicyClamp)
	if err != nil { // bounds come from a compiled schedule and current from the API server
		p.Reason, p.Message = ReasonFailedSchedule, err.Error()
		return p
	}
	p.Desired, p.Rescale = d.Replicas, d.Replicas != current
	if p.Rescale {
		p.Reason = ReasonScheduleApplied
		p.Message = fmt.Sprintf("rule %q requires %s: %d → %d", st.Rule, st.Bounds, current, d.Replicas)
	} else {
		p.Reason = ReasonScheduleHeld
		p.Message = fmt.Sprintf("rule %q requires %s; %d replicas meet it", st.Rule, st.Bounds, current)
	}
	return p
}

func planHPAs(p *cronPlan, st schedule.State, hpas []hpaView) {
	p.Reason, p.Message = ReasonNoRuleInForce, "no rule is in force and no HPA bounds to restore"
	for _, h := range hpas {
		original := h.Bounds
		if h.Saved != nil {
			original = *h.Saved
		}
		if !st.Active() {
			if h.Saved == nil {
				continue
			}
			c := hpaChange{Name: h.Name, Bounds: original, Restore: true, Reason: ReasonRestoredHPA,
				Message: fmt.Sprintf("no rule is in force: HPA %s restored to its own bounds (%s)", h.Name, original)}
			p.HPAs = append(p.HPAs, c)
			p.Reason, p.Message = c.Reason, c.Message
			continue
		}
		want := bound(original, st.Bounds)
		c := hpaChange{Name: h.Name, Bounds: want, Reason: ReasonBoundedHPA,
			Message: fmt.Sprintf("rule %q requires %s: HPA %s bounded to %s (its own: %s)", st.Rule, st.Bounds, h.Name, want, original)}
		if h.Saved == nil {
			c.Save = &original
		}
		if c.Save != nil || !want.equal(h.Bounds) {
			p.HPAs = append(p.HPAs, c)
		}
		p.Reason, p.Message = c.Reason, c.Message
	}
}

// bound applies a rule's bounds to an HPA's own: the rule's min and max
// replace the HPA's where set, and the other end moves only as far as
// needed to keep min <= max.
func bound(own HPABounds, b schedule.Bounds) HPABounds {
	out := HPABounds{MinReplicas: own.MinReplicas, MaxReplicas: own.MaxReplicas}
	if b.Min != nil {
		v := *b.Min
		out.MinReplicas = &v
		out.MaxReplicas = max(out.MaxReplicas, v)
	}
	if b.Max != nil {
		out.MaxReplicas = *b.Max
		if lo := out.MinReplicas; (lo == nil && *b.Max < 1) || (lo != nil && *lo > *b.Max) {
			v := *b.Max // an unset min is 1
			out.MinReplicas = &v
		}
	}
	return out
}

func requeueAfter(now, next time.Time, resync time.Duration) time.Duration {
	if next.IsZero() {
		return resync
	}
	d := next.Sub(now)
	if d <= 0 {
		return time.Nanosecond // a transition at now: re-evaluate at once
	}
	return min(d, resync)
}
