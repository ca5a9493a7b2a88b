// Package asgtest is an in-process emulator of the AWS Auto Scaling and EC2
// APIs, in the way net/http/httptest is an in-process HTTP server: NewServer
// listens on loopback, URL is ready for the real SDK clients (set as their
// BaseEndpoint, with any static credentials), and Close shuts it down.
//
// It speaks the wire format the SDK speaks: the AWS Query protocol, a POST of
// form-encoded Action=…&Version=… parameters answered with XML. Requests with
// Version 2011-01-01 are Auto Scaling (namespace
// http://autoscaling.amazonaws.com/doc/2011-01-01/, errors as
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>),
// requests with Version 2016-11-15 are EC2 (namespace
// http://ec2.amazonaws.com/doc/2016-11-15/, errors as
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>).
//
// Actions: DescribeAutoScalingGroups (names, tag filters tag-key, tag-value
// and tag:<key> — values of one filter OR'ed, different filters AND'ed, as
// AWS does — MaxRecords ≤ 100, NextToken), SetDesiredCapacity,
// TerminateInstanceInAutoScalingGroup, DescribeScalingActivities,
// DescribeLaunchConfigurations, DescribeAutoScalingInstances; EC2
// DescribeLaunchTemplateVersions and DescribeInstanceTypes (InstanceTypes
// and Filters — instance-type, current-generation,
// processor-info.supported-architecture, vcpu-info.default-vcpus,
// memory-info.size-in-mib, network-info.maximum-network-interfaces,
// network-info.ipv4-addresses-per-interface, instance-storage-supported,
// instance-storage-info.total-size-in-gb, supported-usage-class,
// gpu-info.gpus.count, gpu-info.gpus.manufacturer, with * and ? in values;
// an unknown filter is InvalidParameterValue — paginated). Actions whose
// output shape is empty in the service model (SetDesiredCapacity) answer
// with response metadata only, no result element. Anything else is
// answered with InvalidAction.
//
// State: groups with desired capacity and instances whose lifecycle runs
// Pending → InService → Terminating → gone on a virtual clock (Advance,
// Settle); launches pick instance types (mixed-instances overrides in order)
// and zones round-robin, and a stock-out of a type in a zone (StockOut) makes
// a launch fail with a Failed scaling activity whose StatusMessage carries
// InsufficientInstanceCapacity, as AWS reports it, and no instance.
// Weighted groups (every override with a WeightedCapacity of 1–999; AWS
// allows all or none) count MinSize, MaxSize and DesiredCapacity in units:
// launches continue until the instances' weights cover the desired
// capacity, overshooting with the last one if need be; a stock-out of one
// type falls back to the next override and counts its weight; scale-in
// terminates an instance only while the rest still cover the desired
// capacity; TerminateInstanceInAutoScalingGroup with decrement lowers the
// desired capacity by the instance's weight; instances report their
// WeightedCapacity.
//
// Faults, each in the service's own codes: throttling (Auto Scaling HTTP
// 400 Throttling, EC2 HTTP 503 RequestLimitExceeded), 5xx (Auto Scaling
// HTTP 500 InternalFailure, EC2 HTTP 500 InternalError) either before or
// after the action is applied (a lost response), latency, and enforcement
// of an IAM policy document (EnforcePolicy) with IAM's evaluation of
// Action and NotAction, Allow and Deny (an explicit deny wins) and the *
// and ? wildcards: an action the policy does not allow is denied with
// AccessDenied (Auto Scaling) or UnauthorizedOperation (EC2), HTTP 403.
// Resource and Condition are not evaluated. Calls counts every request by
// action.
//
// Hostile mode (SetHostile) makes the server lie, to test a client's
// distrust: a Request hook may change a request's parameters, an Answer
// hook any response's status and XML. Helpers build the usual lies —
// SetField (every element of that name in an action's answers, e.g. a
// DesiredCapacity of 2147483647 or negative vCPUs), SetGroupField (one
// group only), RepeatNextToken (a NextToken that always returns, serving
// the first page again), EmptyBody (HTTP 200 and no body) — and Join
// combines them.
//
// What it does not model: cooldowns, lifecycle hooks, warm pools, health
// checks, instance refresh, AZ rebalancing, spot interruptions, real
// termination policies (it removes the newest instances first), and
// request signing (any credentials are accepted).
//
// A Server is safe for concurrent use.
package asgtest
