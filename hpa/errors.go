package hpa

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidSpec wraps every problem Validate finds in a Spec.
	ErrInvalidSpec = errors.New("invalid HPA spec")
	// ErrInvalidConfig wraps problems with a Config: a NaN or negative
	// tolerance, a negative duration, a scale-up limit that is not positive
	// (a Config not built from DefaultConfig).
	ErrInvalidConfig = errors.New("invalid HPA config")
	// ErrInvalidInput wraps problems with an Input that make evaluation impossible
	// (for example, fewer MetricInputs than metrics).
	ErrInvalidInput = errors.New("invalid HPA input")
	// ErrInvalidSelector, wrapped in Input.SelectorErr, stops evaluation with
	// ScalingActive=False InvalidSelector.
	ErrInvalidSelector = errors.New("invalid selector")
	// ErrAmbiguousSelector, wrapped in Input.SelectorErr, stops evaluation with
	// ScalingActive=False AmbiguousSelector.
	ErrAmbiguousSelector = errors.New("ambiguous selector")
)
