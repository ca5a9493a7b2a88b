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
// and k8s.io/cluster-autoscaler/<ClusterName> (two tag-key filters, which
// AWS ANDs: another cluster's groups are not picked up). Each *Group is a
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
//   - Weighted groups: AWS counts MinSize, MaxSize and DesiredCapacity in
//     capacity units (the overrides' WeightedCapacity); upstream ignores
//     weights and treats units as instances. Here sizes are nodes: when
//     every override and every running instance has the same weight w,
//     MinSize is ceil(min/w), MaxSize floor(max/w), TargetSize
//     ceil(desired/w), IncreaseSize and DecreaseTargetSize set desired to
//     nodes × w, DeleteNodes counts each instance's own weight (AWS lowers
//     the desired capacity by it) and placeholders cover the missing
//     units — exact, since Auto Scaling launches ceil(units/w) instances.
//     When the weights differ, the nodes a change adds depend on which
//     type launches, so TargetSize, IncreaseSize, DecreaseTargetSize and
//     DeleteNodes refuse with ErrUnevenWeights; Nodes, NodeGroupForNode,
//     Templates and Options still work (placeholders counted in the first
//     override's weight).
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
//   - Answers are distrusted (see below); upstream takes them as they come.
//
// # Distrust of the cloud's answers
//
//   - A group described with sizes that cannot be true — a negative size,
//     MinSize above MaxSize, DesiredCapacity outside [MinSize, MaxSize], a
//     desired capacity above Config.MaxGroupSize nodes (100 000 by
//     default), a WeightedCapacity outside 1–999 — is ErrInvalidGroup for
//     that group alone: Refresh (and New, which then still returns the
//     Provider) returns an error naming it, the group stays listed with
//     its instances mapped, its sizing calls and Nodes return the error,
//     and the other groups work. MaxSize is never reported above the cap,
//     and placeholders never exceed it, so no answer makes Nodes allocate
//     more than the cap; a group listing more than twice the cap in
//     instances is invalid and its instances are not kept.
//   - Pagination: a NextToken that repeats, or more than 1 000
//     DescribeAutoScalingGroups pages in one refresh (a page per type for
//     DescribeInstanceTypes), is ErrBadResponse; the cache is kept.
//   - A successful answer with an empty body is ErrBadResponse, not an
//     empty result (the SDK would read it as "no groups"); a body is read
//     up to 64 MiB. A named group the cloud does not return is an error
//     wrapping nodegroup.ErrNotFound that names it; a group returned twice
//     is ErrBadResponse.
//   - An instance type with vCPUs outside 1–8192, memory outside 1 MiB–64
//     TiB, or negative or absurd GPUs, network limits or instance storage
//     is ErrBadInstanceType naming the type, and is not cached.
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
