package nodegroup

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors callers branch on with errors.Is; providers wrap them in *Error.
var (
	ErrNotFound      = errors.New("not found")
	ErrAtMax         = errors.New("group at its maximum size")
	ErrAtMin         = errors.New("group at its minimum size")
	ErrThrottled     = errors.New("throttled by the cloud API")
	ErrOutOfCapacity = errors.New("out of capacity")
)

// Error is a failed group operation.
type Error struct {
	Op    string // "IncreaseSize", "DeleteNodes", ...
	Group string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("nodegroup %s: %s: %v", e.Group, e.Op, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// DeleteError reports the instances DeleteNodes could not remove, each with
// its own error; errors.Is sees through to every one of them.
type DeleteError struct {
	Failed map[string]error // by provider ID
}

func (e *DeleteError) Error() string {
	ids := make([]string, 0, len(e.Failed))
	for id := range e.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + ": " + e.Failed[id].Error()
	}
	return fmt.Sprintf("%d instance(s) not removed: %s", len(ids), strings.Join(parts, "; "))
}

// Unwrap returns the per-instance errors.
func (e *DeleteError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}
