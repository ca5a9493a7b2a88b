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
)
