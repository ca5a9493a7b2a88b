package schedule

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidCron wraps every problem with a cron expression.
	ErrInvalidCron = errors.New("invalid cron expression")
	// ErrUnknownZone is returned for a time zone missing from the shipped tz database.
	ErrUnknownZone = errors.New("unknown time zone")
	// ErrInvalidSchedule wraps every problem Validate finds in a Spec.
	ErrInvalidSchedule = errors.New("invalid schedule")
	// ErrInvalidPolicy is returned by Compose and Policy.Validate for a
	// policy they do not know.
	ErrInvalidPolicy = errors.New("unknown composition policy")
	// ErrInvalidBounds is returned by Compose and Bounds.Validate for
	// negative bounds or a minimum above the maximum; New wraps it too.
	ErrInvalidBounds = errors.New("invalid bounds")
	// ErrInvalidRecommendation is returned by Compose for a negative
	// recommendation.
	ErrInvalidRecommendation = errors.New("invalid recommendation")
)
