package nodegroup_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

// A provider's *Error keeps the sentinel reachable for callers that branch
// on it, through further wrapping, and names the group and operation.
func TestErrorWrapsTheSentinel(t *testing.T) {
	err := fmt.Errorf("scale-up: %w", &nodegroup.Error{Op: "IncreaseSize", Group: "workers", Err: fmt.Errorf("desired 11: %w", nodegroup.ErrAtMax)})
	if !errors.Is(err, nodegroup.ErrAtMax) || errors.Is(err, nodegroup.ErrAtMin) {
		t.Errorf("errors.Is through *Error: %v", err)
	}
	var e *nodegroup.Error
	if !errors.As(err, &e) || e.Group != "workers" || e.Op != "IncreaseSize" {
		t.Fatalf("errors.As: %v", err)
	}
	if got := e.Error(); got != "nodegroup workers: IncreaseSize: desired 11: group at its maximum size" {
		t.Errorf("message %q", got)
	}
}

// DeleteError lists every failed instance in a stable order, and errors.Is
// finds each instance's cause.
func TestDeleteError(t *testing.T) {
	e := &nodegroup.DeleteError{Failed: map[string]error{
		"aws:///us-east-1b/i-2": nodegroup.ErrThrottled,
		"aws:///us-east-1a/i-1": nodegroup.ErrNotFound,
	}}
	want := "2 instance(s) not removed: aws:///us-east-1a/i-1: not found; aws:///us-east-1b/i-2: throttled by the cloud API"
	for range 5 { // map order must not show
		if got := e.Error(); got != want {
			t.Fatalf("message %q, want %q", got, want)
		}
	}
	var err error = &nodegroup.Error{Op: "DeleteNodes", Group: "g", Err: e}
	if !errors.Is(err, nodegroup.ErrThrottled) || !errors.Is(err, nodegroup.ErrNotFound) || errors.Is(err, nodegroup.ErrAtMin) {
		t.Errorf("errors.Is through DeleteError: %v", err)
	}
	var de *nodegroup.DeleteError
	if !errors.As(err, &de) || len(de.Failed) != 2 {
		t.Errorf("errors.As: %v", err)
	}
}

// A *TagError keeps its cause reachable and matches ErrInvalidTag.
func TestTagErrorUnwraps(t *testing.T) {
	err := nodegroup.ApplyTemplateTags(map[string]string{nodegroup.TagTaintPrefix + "k": "v:Sometimes"}, map[string]string{}, new([]nodegroup.Taint), &nodegroup.Resources{})
	var te *nodegroup.TagError
	if !errors.As(err, &te) || te.Unwrap() == nil || !strings.Contains(te.Unwrap().Error(), "Sometimes") || !errors.Is(te, nodegroup.ErrInvalidTag) {
		t.Fatalf("%v", err)
	}
}
