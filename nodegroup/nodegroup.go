package nodegroup

import "context"

// NodeGroup is a set of identical nodes resized as one: an AWS Auto Scaling
// Group, an Alibaba Cloud ESS scaling group, or a fake. Every call that may
// reach a cloud takes a context. Sizes are instance counts.
type NodeGroup interface {
	// Id identifies the group within its provider.
	Id() string
	// MinSize and MaxSize are the group's bounds; no call moves the target
	// outside them.
	MinSize() int
	MaxSize() int
	// TargetSize is the number of instances the group should have (the
	// desired capacity); it may differ from Nodes while instances launch
	// or terminate.
	TargetSize(ctx context.Context) (int, error)
	// IncreaseSize raises the target by delta > 0. It returns an error
	// wrapping ErrAtMax when the target would pass MaxSize, and changes nothing then.
	IncreaseSize(ctx context.Context, delta int) error
	// DeleteNodes removes the named instances (provider IDs) and lowers the
	// target by as many. Every ID must belong to the group (ErrNotFound
	// otherwise, nothing removed) and the target may not go below MinSize
	// (ErrAtMin). Per-instance failures are returned in a *DeleteError.
	DeleteNodes(ctx context.Context, providerIDs []string) error
	// DecreaseTargetSize lowers the target by delta > 0 without removing
	// any instance: it only cancels capacity not yet launched, and fails
	// (ErrAtMin-free, plain error) if that would require removing a running one.
	DecreaseTargetSize(ctx context.Context, delta int) error
	// Nodes lists the group's instances, including those still launching,
	// with their state and error class.
	Nodes(ctx context.Context) ([]Instance, error)
	// Template is the node a scale-up would add.
	Template(ctx context.Context) (*Template, error)
}

// OptionsProvider is implemented by groups that carry per-group overrides of
// autoscaling options (cluster-autoscaler's GetOptions); callers detect it
// with a type assertion.
type OptionsProvider interface {
	Options(ctx context.Context) (Options, error)
}

// Provider is a set of node groups.
type Provider interface {
	// NodeGroups lists the groups as of the last Refresh.
	NodeGroups(ctx context.Context) ([]NodeGroup, error)
	// NodeGroupForNode is the group owning the instance with this provider
	// ID, or nil (and no error) for an instance no group manages.
	NodeGroupForNode(ctx context.Context, providerID string) (NodeGroup, error)
	// Refresh re-reads the groups from the cloud; implementations may skip
	// it while their cache is fresh.
	Refresh(ctx context.Context) error
}
