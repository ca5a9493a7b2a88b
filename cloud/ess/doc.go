// Package ess is a nodegroup.Provider for Alibaba Cloud Auto Scaling (ESS)
// scaling groups, built on github.com/aliyun/alibaba-cloud-sdk-go.
//
// Groups come from explicit IDs or tag discovery (DiscoveryTags), read in
// batches (DescribeScalingGroups, 20 IDs per call) and cached for
// RefreshInterval: TargetSize, MinSize, MaxSize, Nodes and Template read the
// cache, never the API. Instances come from DescribeScalingInstances (50 per
// page); a group short of its desired capacity gets one placeholder
// instance per missing node, marked OutOfCapacity on the first refresh
// after a failed scaling activity (a stock-out).
//
// Templates are built from the active scaling configuration, the ECS
// instance types (ecs:DescribeInstanceTypes, cached) and the
// cluster-autoscaler tag conventions, read from the group's and the
// configuration's tags:
//
//	k8s.io/cluster-autoscaler/node-template/label/<key>     = <value>
//	k8s.io/cluster-autoscaler/node-template/taint/<key>     = <value>:<Effect>
//	k8s.io/cluster-autoscaler/node-template/resources/<res> = <quantity>
//	k8s.io/cluster-autoscaler/node-template/autoscaling-options/<opt> = <value>
//
// Templates carry zone, region, instance type, arch, os and capacity type
// (spot/on-demand) labels, taints, and allocatable after the kubelet
// reservations (Config.Reservations). With several instance types the
// capacity is the element-wise minimum over them.
//
// What the cloud answers is distrusted. A 200 with an empty body, without a
// RequestId or carrying an error Code is an error wrapping
// ErrInvalidResponse, never "no groups"; the first two are retried like a
// 5xx, an error Code as its code says (Throttling codes are throttling).
// Listings end at the TotalCount of their answers; a TotalCount beyond what
// the listing can hold (MaxGroupSize groups, a group's size plus slack for
// its instances), a PageNumber other than the one asked for, or a page that
// only repeats earlier items is an error after a bounded number of calls. A
// group reporting impossible sizes (negative, above MaxGroupSize, MinSize >
// MaxSize, DesiredCapacity outside [MinSize, MaxSize]) or whose instance
// listing is garbage, and a named group the cloud does not return
// (nodegroup.ErrNotFound), is dropped from NodeGroups and its handle returns
// the error, while Refresh updates the other groups and returns one
// *nodegroup.Error per bad group; New refuses to start with any.
// Placeholders are bounded by MaxSize, so a reported size never drives an
// allocation. Instance types with vCPUs, memory or GPUs out of range fail
// the templates that use them, naming the type.
//
// Size changes: IncreaseSize and DecreaseTargetSize set an absolute
// desired capacity, with ScaleWithAdjustment (AdjustmentType TotalCapacity)
// or, with ScaleMode ScalingRules, by modifying and executing one
// TotalCapacity scaling rule per group. Being absolute and carrying a
// ClientToken, they are safe to retry: a retry after a lost response cannot
// scale up twice. DeleteNodes uses RemoveInstances with
// DecreaseDesiredCapacity in batches of 20 and returns every per-instance
// failure in a *nodegroup.DeleteError. Throttling (Throttling,
// Throttling.User) and 5xx are retried with exponential backoff; when they
// persist the error wraps nodegroup.ErrThrottled (for throttling); RAM
// denials wrap ErrAccessDenied. ProviderIDs are <region>.<instance-id>.
//
// The RAM policies the provider needs ship beside the code:
// ram-policy.json (the default mode) and ram-policy-rules.json (ScaleMode
// ScalingRules). Tests run the real SDK against the esstest emulator with
// the policies enforced, so both are known to be sufficient and minimal.
//
// The policy cluster-autoscaler's Alibaba Cloud documentation gives
// (ess:Describe*, ess:CreateScalingRule, ess:ModifyScalingRule,
// ess:ExecuteScalingRule, ess:RemoveInstances, ess:DetachInstances,
// ecs:DescribeInstanceTypes) does not grant ess:ScaleWithAdjustment, the
// default mode's call. Under it, a size change fails with a
// *ScaleModeError naming the denied action and the ScalingRules
// alternative; set ScaleMode to ScalingRules, grant
// ess:ScaleWithAdjustment, or set FallbackToScalingRules to switch modes on
// the first denial (Provider.ScaleMode reports the mode in use). Both ways
// are tested under that exact policy.
//
// Endpoints are explicit: Endpoint(product, region) unless ESSEndpoint and
// ECSEndpoint override them; the SDK's location-service lookup is never
// used.
package ess
