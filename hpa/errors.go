package hpa

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrInvalidSpec wraps every problem Validate finds in a Spec.
	ErrInvalidSpec = errors.New("invalid HPA spec")
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
