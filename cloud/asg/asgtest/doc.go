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
// and tag:<key>, MaxRecords ≤ 100, NextToken), SetDesiredCapacity,
// TerminateInstanceInAutoScalingGroup, DescribeScalingActivities,
// DescribeLaunchConfigurations, DescribeAutoScalingInstances; EC2
// DescribeLaunchTemplateVersions and DescribeInstanceTypes (paginated).
// Anything else is answered with InvalidAction.
//
// State: groups with desired capacity and instances whose lifecycle runs
// Pending → InService → Terminating → gone on a virtual clock (Advance,
// Settle); launches pick instance types (mixed-instances overrides in order)
// and zones round-robin, and a stock-out of a type in a zone (StockOut) makes
// a launch fail with a Failed scaling activity whose StatusMessage carries
// InsufficientInstanceCapacity, as AWS reports it, and no instance.
//
// Faults: throttling (HTTP 400, code Throttling), 5xx (HTTP 500,
// InternalFailure) either before or after the action is applied (a lost
// response), latency, and enforcement of an IAM policy document
// (EnforcePolicy): an action the policy does not allow is denied with
// AccessDenied (Auto Scaling) or UnauthorizedOperation (EC2), HTTP 403.
// Calls counts every request by action.
//
// What it does not model: cooldowns, lifecycle hooks, warm pools, health
// checks, instance refresh, AZ rebalancing, spot interruptions, real
// termination policies (it removes the newest instances first), and
// request signing (any credentials are accepted).
//
// A Server is safe for concurrent use.
package asgtest
