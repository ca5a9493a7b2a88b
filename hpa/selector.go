package hpa

import "fmt"

// ErrSelectorRequired is the Input.SelectorErr for a scale target whose scale
// subresource reports no selector.
var ErrSelectorRequired = &SelectorError{Reason: ReasonInvalidSelector, Msg: "selector is required"}

// SelectorError is a problem with the target's pod selector, found by the
// caller when it lists the pods. Evaluate turns it into ScalingActive=False
// with Reason. It matches ErrInvalidSelector or ErrAmbiguousSelector under errors.Is.
type SelectorError struct {
	Reason Reason
	Msg    string
}

func (e *SelectorError) Error() string { return e.Msg }

// Is lets errors.Is(err, ErrInvalidSelector) and errors.Is(err, ErrAmbiguousSelector) match.
func (e *SelectorError) Is(target error) bool {
	switch target {
	case ErrInvalidSelector:
		return e.Reason == ReasonInvalidSelector
	case ErrAmbiguousSelector:
		return e.Reason == ReasonAmbiguousSelector
	}
	return false
}

// InvalidSelectorError reports a selector that does not parse, worded as upstream.
func InvalidSelectorError(cause error) error {
	return &SelectorError{Reason: ReasonInvalidSelector,
		Msg: fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", cause)}
}

// AmbiguousSelectorError reports pods that more than one HPA selects, worded as
// upstream (1.37): "pods by selector <sel> are controlled by more than one
// HPA (e.g. [<ns/name> ...])"; hpas are the "namespace/name" keys of the
// HPAs involved, in the order to print them.
func AmbiguousSelectorError(selector string, hpas []string) error {
	return &SelectorError{Reason: ReasonAmbiguousSelector,
		Msg: fmt.Sprintf("pods by selector %v are controlled by more than one HPA (e.g. %v)", selector, hpas)}
}

// selectorCondition is the ScalingActive=False condition for a selector error.
func selectorCondition(err error) Condition {
	c := Condition{Type: ScalingActive, Status: ConditionFalse, Reason: ReasonInvalidSelector, Message: err.Error()}
	if se, ok := err.(*SelectorError); ok {
		c.Reason = se.Reason
		if se == ErrSelectorRequired {
			c.Message = "the HPA target's scale is missing a selector"
		}
	}
	return c
}
