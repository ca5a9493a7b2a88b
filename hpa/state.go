package hpa

import "time"

// State is the memory an HPA carries from one evaluation to the next: the
// recent recommendations (for stabilization) and the recent scale events (for
// rate-limiting policies). Upstream keeps these in controller memory and loses
// them on restart; here the caller owns the value and can persist it as JSON.
//
// The zero State is an HPA seen for the first time. A State is a plain value:
// it is not safe for concurrent use, and one State belongs to one HPA.
type State struct {
	Recommendations []Recommendation `json:"recommendations,omitempty"`
	ScaleUpEvents   []ScaleEvent     `json:"scaleUpEvents,omitempty"`
	ScaleDownEvents []ScaleEvent     `json:"scaleDownEvents,omitempty"`
}

// Recommendation is one past desired replica count.
type Recommendation struct {
	Replicas  int32     `json:"replicas"`
	Timestamp time.Time `json:"timestamp"`
}

// ScaleEvent is one past rescale: the size of the change (always positive) and when.
type ScaleEvent struct {
	Change    int32     `json:"change"`
	Timestamp time.Time `json:"timestamp"`
	Outdated  bool      `json:"outdated,omitempty"`
}
