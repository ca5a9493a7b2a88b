// Package nodegroup is the contract between node autoscaling and clouds: a
// NodeGroup is a set of identical nodes resized as one (an AWS Auto Scaling
// Group, an Alibaba Cloud ESS scaling group), a Provider is a set of groups.
// It is cluster-autoscaler's NodeGroup cut down to what an autoscaler needs,
// with typed errors (ErrNotFound, ErrAtMax, ErrAtMin, ErrThrottled,
// ErrOutOfCapacity inside *Error; per-instance failures in *DeleteError),
// per-instance state with an error class, and a Template — the node a
// scale-up would add — whose Allocatable subtracts kubelet and system
// reservations and the eviction threshold (see EKSReservations), which
// cluster-autoscaler's AWS and Alibaba templates leave out.
//
// Implementations: nodegroup/fake (in memory, virtual clock, failure
// injection, event log). Every implementation must pass the contract suite
// in nodegroup/nodegrouptest. Per-group option overrides are an optional
// interface (OptionsProvider), detected with a type assertion.
//
// The package holds only types and pure functions: no clock, no goroutines.
package nodegroup
