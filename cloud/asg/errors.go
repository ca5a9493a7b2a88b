package asg

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/kscale/kscale/nodegroup"
)

// Errors callers may branch on with errors.Is; they arrive wrapped in a
// *nodegroup.Error naming the group and the operation.
var (
	// ErrInvalidGroup: the cloud described the group with sizes that cannot
	// be true (a negative desired capacity, MinSize above MaxSize, a desired
	// capacity outside [MinSize, MaxSize] or above Config.MaxGroupSize, a
	// malformed weight). The group stays listed, its real instances stay
	// mapped by NodeGroupForNode, and every sizing call (TargetSize,
	// IncreaseSize, DecreaseTargetSize, DeleteNodes, Nodes) returns the
	// error until a refresh describes it sanely; the other groups keep working.
	ErrInvalidGroup = errors.New("the cloud described an invalid group")

	// ErrUnevenWeights: a mixed-instances group whose instance types (or
	// whose running instances) count for different capacity units
	// (WeightedCapacity). Its desired capacity is in units and the number
	// of nodes a change of it adds depends on which type Auto Scaling
	// picks, so node counts cannot be mapped exactly: TargetSize,
	// IncreaseSize, DecreaseTargetSize and DeleteNodes refuse it. Groups
	// whose overrides all share one weight are supported exactly.
	ErrUnevenWeights = errors.New("instance types count for different capacity units (WeightedCapacity); node counts cannot be mapped exactly")

	// ErrBadResponse: an answer that cannot be trusted — an empty body on
	// success, a NextToken that repeats, more pages than a refresh allows,
	// a group described twice.
	ErrBadResponse = errors.New("untrustworthy response from the cloud API")

	// ErrBadInstanceType: DescribeInstanceTypes reported negative or absurd
	// vCPUs, memory, GPUs, network limits or storage for a type.
	ErrBadInstanceType = errors.New("absurd instance type description")
)

// Error codes AWS uses for rate limiting.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "RequestLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// classify marks a throttling error, which reaches here only once the
// client's retryer has given up, with nodegroup.ErrThrottled; other errors
// pass unchanged (still wrapping the SDK's error for errors.As).
func classify(err error) error {
	if err == nil {
		return nil
	}
	if throttleCodes[apiCode(err)] {
		return fmt.Errorf("%w: %w", nodegroup.ErrThrottled, err)
	}
	return err
}
