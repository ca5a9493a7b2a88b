// Package asg is a nodegroup.Provider for AWS EC2 Auto Scaling groups,
// built on github.com/aws/aws-sdk-go-v2. It passes nodegrouptest's contract
// suite against the wire-level emulator in cloud/asg/asgtest.
//
// # Entry points
//
// New(ctx, Config{AutoScaling, EC2, …}) builds a Provider from an Auto
// Scaling and an EC2 client (autoscaling.NewFromConfig, ec2.NewFromConfig)
// and reads the groups once. Groups are named (Config.GroupNames) or
// discovered by cluster-autoscaler's tags, k8s.io/cluster-autoscaler/enabled
// and k8s.io/cluster-autoscaler/<ClusterName>. Each *Group is a
// nodegroup.NodeGroup and a nodegroup.OptionsProvider; Templates lists one
// template per instance type of a mixed-instances group.
//
// # API calls (the shipped iam-policy.json, embedded as IAMPolicy)
//
//   - Refresh: DescribeAutoScalingGroups by names in batches of 100, or by
//     tag filters, MaxRecords 100, following NextToken — 5 calls for 500
//     groups — plus DescribeScalingActivities only for groups short of their
//     desired capacity. Refresh skips the calls while the cache is younger
//     than RefreshInterval (1 minute by default).
//   - TargetSize, MinSize, MaxSize, Nodes and NodeGroupForNode read the
//     cache: no call.
//   - IncreaseSize: SetDesiredCapacity(current + delta, HonorCooldown=false).
//   - DeleteNodes: TerminateInstanceInAutoScalingGroup with
//     ShouldDecrementDesiredCapacity=true, one call per instance.
//   - DecreaseTargetSize: DescribeAutoScalingGroups of that one group, then
//     SetDesiredCapacity, so it never acts on a stale instance count.
//   - Template: DescribeLaunchTemplateVersions or DescribeLaunchConfigurations
//     (numbered versions cached for good, $Latest/$Default and launch
//     configurations for 10 minutes) and DescribeInstanceTypes (100 types a
//     call, cached for good).
//
// The code calls AWS only through AutoScalingAPI and EC2API, whose methods
// are exactly the policy's actions; a test keeps the two in sync, and
// another runs the whole flow against the emulator enforcing the policy.
//
// # Where it departs from cluster-autoscaler's AWS provider
//
//   - Allocatable subtracts the kubelet and system reservations and the
//     eviction threshold (Config.Reservations, nodegroup.EKSReservations by
//     default); upstream leaves allocatable equal to capacity.
//   - Max pods come from the instance type's network limits as on EKS,
//     ENIs × (IPv4 addresses per ENI − 1) + 2, not a fixed 110.
//   - Mixed-instances groups: Template is the first override (upstream's
//     choice, and the type Auto Scaling tries first), and Templates exposes
//     every override with its WeightedCapacity.
//   - Capacity type: spot when a mixed-instances policy buys no on-demand
//     capacity above its base (OnDemandPercentageAboveBaseCapacity 0), when
//     the launch template requests the spot market, or when the launch
//     configuration has a SpotPrice.
//   - Ephemeral storage: the resources tag, else the launch template's first
//     block device's volume size, else the instance store.
//   - Failed launches are read from DescribeScalingActivities on every
//     refresh of a group short of capacity: when the newest launch activity
//     failed, its placeholders are Creating with ErrorClass OutOfCapacity
//     (InsufficientInstanceCapacity and kin) or Other, so a stock-out is
//     known within one refresh instead of after max-node-provision-time.
//   - Malformed node-template tags (a taint without a valid effect, an
//     unparsable quantity) are errors naming the tag, not silently dropped.
//
// Tags honoured, with upstream's keys: node-template/label/<k> (labels;
// they win over the built-in ones), node-template/taint/<k> = "value:Effect",
// node-template/resources/<name> (cpu, memory, ephemeral-storage, pods or
// an extended resource, as Kubernetes quantities) and
// node-template/autoscaling-options/<option>.
//
// # Retries and idempotency
//
// Throttling and 5xx answers are retried by the clients' retryer (the SDK's
// standard retryer with backoff; asgtest.Server.AWSConfig shortens it for
// tests). Retries are safe: SetDesiredCapacity sets an absolute value, so a
// retried (even an applied but unanswered) scale-up cannot add capacity
// twice, and a repeated termination of an instance already terminating
// changes nothing. IncreaseSize, DeleteNodes and DecreaseTargetSize of one
// group are serialized. When a fault outlasts the retries, the error is a
// *nodegroup.Error, wrapping nodegroup.ErrThrottled for throttling, and
// always the SDK's error (errors.As with smithy.APIError gives the code).
// DeleteNodes reports each instance it could not terminate in a
// *nodegroup.DeleteError.
//
// # What it does not do
//
// No EKS DescribeNodegroup lookup (labels and taints of managed node groups
// come from tags only), no attribute-based instance selection
// (InstanceRequirements overrides are skipped), no prices, no warm pools or
// lifecycle hooks.
//
// # Time
//
// The cache age is measured with Config.Now (time.Now by default); tests
// share the emulator's virtual clock.
package asg
