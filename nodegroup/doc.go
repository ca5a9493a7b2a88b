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
// Node-template tags (cluster-autoscaler's k8s.io/cluster-autoscaler/
// node-template/label/, /taint/, /resources/ and autoscaling-options/ keys)
// are read by ApplyTemplateTags and OptionsFromTags, shared by the AWS and
// Alibaba Cloud providers. Where cluster-autoscaler skips a malformed tag
// with a log line, these refuse it with a *TagError naming the tag's key
// (errors.Is(err, ErrInvalidTag)) and change nothing: labels and taints
// follow the API server's rules for a Node, quantities must parse, be
// non-negative, at most 2^53 in their unit and whole for pods and extended
// resources, thresholds lie in [0, 1] and durations are not negative.
//
// Implementations: nodegroup/fake (in memory, virtual clock, failure
// injection, event log). Every implementation must pass the contract suite
// in nodegroup/nodegrouptest. Per-group option overrides are an optional
// interface (OptionsProvider), detected with a type assertion.
//
// The package holds only types and pure functions: no clock, no goroutines.
package nodegroup
