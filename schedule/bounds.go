package schedule

import "fmt"

// Bounds are what a rule imposes on the replica count while it is in force:
// a floor (Min), a ceiling (Max), or both; Min == Max is an exact count.
type Bounds struct {
	Min *int32 `json:"min,omitempty"`
	Max *int32 `json:"max,omitempty"`
}

// Floor is a lower bound of n replicas.
func Floor(n int32) Bounds { return Bounds{Min: &n} }

// Ceiling is an upper bound of n replicas.
func Ceiling(n int32) Bounds { return Bounds{Max: &n} }

// Exact is exactly n replicas.
func Exact(n int32) Bounds { return Bounds{Min: &n, Max: &n} }

// IsZero reports whether b imposes nothing.
func (b Bounds) IsZero() bool { return b.Min == nil && b.Max == nil }

func (b Bounds) equal(o Bounds) bool {
	eq := func(x, y *int32) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(b.Min, o.Min) && eq(b.Max, o.Max)
}

func (b Bounds) String() string {
	switch {
	case b.Min != nil && b.Max != nil && *b.Min == *b.Max:
		return fmt.Sprintf("exactly %d", *b.Min)
	case b.Min != nil && b.Max != nil:
		return fmt.Sprintf("between %d and %d", *b.Min, *b.Max)
	case b.Min != nil:
		return fmt.Sprintf("at least %d", *b.Min)
	case b.Max != nil:
		return fmt.Sprintf("at most %d", *b.Max)
	}
	return "no bounds"
}

// Policy says how a schedule's bounds combine with a metric recommendation.
type Policy string

// Policies.
const (
	// PolicyClamp keeps the recommendation within both bounds (the default).
	PolicyClamp Policy = "Clamp"
	// PolicyFloor applies only the schedule's minimum, as KEDA's cron trigger
	// does through the HPA's maximum over metrics.
	PolicyFloor Policy = "Floor"
	// PolicyCeiling applies only the schedule's maximum.
	PolicyCeiling Policy = "Ceiling"
	// PolicyOverride replaces the recommendation with the schedule's count
	// (its minimum, else its maximum), as cronhpa-controller sets replicas.
	PolicyOverride Policy = "Override"
)

// Decision reasons.
const (
	ReasonRecommendation   = "MetricRecommendation"
	ReasonScheduleFloor    = "ScheduleFloor"
	ReasonScheduleCeiling  = "ScheduleCeiling"
	ReasonScheduleOverride = "ScheduleOverride"
)

// Decision is the final replica count and why.
type Decision struct {
	Replicas int32  `json:"replicas"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
}

// Validate reports bounds Compose and New refuse: a negative replica count
// or a minimum above the maximum. Errors wrap ErrInvalidBounds and name the
// field (min, max). Empty bounds are valid: they impose nothing.
func (b Bounds) Validate() error {
	switch {
	case b.Min != nil && *b.Min < 0:
		return fmt.Errorf("%w: min: %d replicas is negative", ErrInvalidBounds, *b.Min)
	case b.Max != nil && *b.Max < 0:
		return fmt.Errorf("%w: max: %d replicas is negative", ErrInvalidBounds, *b.Max)
	case b.Min != nil && b.Max != nil && *b.Min > *b.Max:
		return fmt.Errorf("%w: min %d is above max %d", ErrInvalidBounds, *b.Min, *b.Max)
	}
	return nil
}

// Validate reports a policy other than Clamp, Floor, Ceiling, Override or
// "" (which means Clamp); the error wraps ErrInvalidPolicy.
func (p Policy) Validate() error {
	switch p {
	case "", PolicyClamp, PolicyFloor, PolicyCeiling, PolicyOverride:
		return nil
	}
	return fmt.Errorf("%w %q: want %s, %s, %s or %s", ErrInvalidPolicy, string(p), PolicyClamp, PolicyFloor, PolicyCeiling, PolicyOverride)
}

// Compose combines a metric recommendation (for example hpa.Result's
// DesiredReplicas) with the bounds in force under policy p ("" is
// PolicyClamp). It mutates nothing: the HPA keeps its own min and max.
//
// It refuses, with an error and a zero Decision, what it cannot combine
// without guessing: an unknown policy (ErrInvalidPolicy), negative bounds or
// a minimum above the maximum (ErrInvalidBounds), and a negative
// recommendation (ErrInvalidRecommendation). Callers branch with errors.Is.
func Compose(recommended int32, b Bounds, p Policy) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, fmt.Errorf("schedule.Compose: policy: %w", err)
	}
	if err := b.Validate(); err != nil {
		return Decision{}, fmt.Errorf("schedule.Compose: bounds: %w", err)
	}
	if recommended < 0 {
		return Decision{}, fmt.Errorf("schedule.Compose: %w: %d replicas is negative", ErrInvalidRecommendation, recommended)
	}
	d := Decision{Replicas: recommended, Reason: ReasonRecommendation,
		Message: fmt.Sprintf("the recommendation of %d is within the schedule's bounds (%s)", recommended, b)}
	useMin := b.Min != nil && p != PolicyCeiling
	useMax := b.Max != nil && p != PolicyFloor
	if p == PolicyOverride && !b.IsZero() {
		n := *pick(b.Min, b.Max)
		return Decision{Replicas: n, Reason: ReasonScheduleOverride,
			Message: fmt.Sprintf("the schedule sets %d replicas (recommendation %d)", n, recommended)}, nil
	}
	switch {
	case useMin && recommended < *b.Min:
		d = Decision{Replicas: *b.Min, Reason: ReasonScheduleFloor,
			Message: fmt.Sprintf("the schedule's floor of %d is above the recommendation of %d", *b.Min, recommended)}
	case useMax && recommended > *b.Max:
		d = Decision{Replicas: *b.Max, Reason: ReasonScheduleCeiling,
			Message: fmt.Sprintf("the schedule's ceiling of %d is below the recommendation of %d", *b.Max, recommended)}
	}
	return d, nil
}

func pick(a, b *int32) *int32 {
	if a != nil {
		return a
	}
	return b
}
