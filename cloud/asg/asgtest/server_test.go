package asgtest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/kscale/kscale/cloud/asg/asgtest"
)

func newServer(t *testing.T) (*asgtest.Server, *autoscaling.Client, *ec2.Client) {
	t.Helper()
	s := asgtest.NewServer(asgtest.Config{})
	t.Cleanup(s.Close)
	cfg := s.AWSConfig()
	return s, autoscaling.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestDescribeThroughTheSDK(t *testing.T) {
	s, asc, ec := newServer(t)
	id, _ := s.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large", Spot: true, RootVolumeGB: 50})
	if err := s.AddGroup(asgtest.Group{Name: "g1", Min: 1, Max: 5, Desired: 2, Zones: []string{"us-test-1a", "us-test-1b"},
		LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id, Version: "$Latest"}, Tags: map[string]string{"k8s.io/cluster-autoscaler/enabled": "true"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroup(asgtest.Group{Name: "g2", Max: 5, Zones: []string{"us-test-1a"},
		MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt"}, Overrides: []asgtest.Override{{InstanceType: "m5.xlarge", WeightedCapacity: "2"}, {InstanceType: "m5.large", WeightedCapacity: "1"}}}}); err != nil {
		t.Fatal(err)
	}
	out, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []astypes.Filter{{Name: aws.String("tag-key"), Values: []string{"k8s.io/cluster-autoscaler/enabled"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 || len(out.AutoScalingGroups[0].Instances) != 2 || aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) != 2 ||
		aws.ToString(out.AutoScalingGroups[0].LaunchTemplate.LaunchTemplateId) != id || len(out.AutoScalingGroups[0].Tags) != 1 {
		t.Fatalf("%+v", out.AutoScalingGroups)
	}
	in := out.AutoScalingGroups[0].Instances[0]
	if in.LifecycleState != astypes.LifecycleStateInService || aws.ToString(in.AvailabilityZone) != "us-test-1a" {
		t.Errorf("instance %+v", in)
	}
	all, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"g2"}})
	if err != nil || len(all.AutoScalingGroups) != 1 {
		t.Fatal(all, err)
	}
	mip := all.AutoScalingGroups[0].MixedInstancesPolicy
	if mip == nil || len(mip.LaunchTemplate.Overrides) != 2 || aws.ToString(mip.LaunchTemplate.Overrides[0].WeightedCapacity) != "2" ||
		aws.ToInt32(mip.InstancesDistribution.OnDemandPercentageAboveBaseCapacity) != 0 {
		t.Fatalf("mixed instances policy %+v", mip)
	}

	v, err := ec.DescribeLaunchTemplateVersions(t.Context(), &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"$Latest"}})
	if err != nil {
		t.Fatal(err)
	}
	d := v.LaunchTemplateVersions[0].LaunchTemplateData
	if aws.ToInt64(v.LaunchTemplateVersions[0].VersionNumber) != 1 || d.InstanceType != ec2types.InstanceTypeM5Large || d.InstanceMarketOptions.MarketType != ec2types.MarketTypeSpot ||
		aws.ToInt32(d.BlockDeviceMappings[0].Ebs.VolumeSize) != 50 {
		t.Fatalf("launch template %+v", v.LaunchTemplateVersions[0])
	}
	it, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"m5.large", "g4dn.xlarge"}})
	if err != nil {
		t.Fatal(err)
	}
	if m5, g4 := it.InstanceTypes[0], it.InstanceTypes[1]; len(it.InstanceTypes) != 2 || aws.ToInt32(m5.VCpuInfo.DefaultVCpus) != 2 || aws.ToInt64(m5.MemoryInfo.SizeInMiB) != 8192 ||
		aws.ToInt32(m5.NetworkInfo.MaximumNetworkInterfaces) != 3 || m5.ProcessorInfo.SupportedArchitectures[0] != ec2types.ArchitectureTypeX8664 ||
		aws.ToInt32(g4.GpuInfo.Gpus[0].Count) != 1 || aws.ToInt64(g4.InstanceStorageInfo.TotalSizeInGB) != 125 {
		t.Fatalf("instance types %+v", it.InstanceTypes)
	}
	if _, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"x9.huge"}}); apiCode(err) != "InvalidInstanceType" {
		t.Errorf("unknown type: %v", err)
	}
}

func TestLifecycleAndStockOut(t *testing.T) {
	s, asc, _ := newServer(t)
	s.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "m5.large"})
	if err := s.AddGroup(asgtest.Group{Name: "g", Min: 1, Max: 5, Desired: 1, Zones: []string{"a", "b"}, LaunchConfig: "lc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(6)}); apiCode(err) != "ValidationError" {
		t.Fatalf("above max: %v", err)
	}
	s.StockOut("m5.large", "b", true)
	if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(3), HonorCooldown: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Group("g")
	if st.Desired != 3 || len(st.Instances) != 3 || st.Instances[1].LifecycleState != "Pending" {
		t.Fatalf("after scale-up: %+v", st)
	}
	s.StockOut("m5.large", "a", true)
	if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	acts, err := asc.DescribeScalingActivities(t.Context(), &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("g")})
	if err != nil {
		t.Fatal(err)
	}
	if a := acts.Activities[0]; a.StatusCode != astypes.ScalingActivityStatusCodeFailed || !strings.Contains(aws.ToString(a.StatusMessage), "InsufficientInstanceCapacity") {
		t.Fatalf("latest activity %+v", a)
	}
	s.Settle()
	st, _ = s.Group("g")
	if len(st.Instances) != 3 || st.Instances[2].LifecycleState != "InService" {
		t.Fatalf("after settling: %+v", st)
	}
	out, err := asc.TerminateInstanceInAutoScalingGroup(t.Context(), &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String(st.Instances[0].ID), ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil || !strings.Contains(aws.ToString(out.Activity.Description), st.Instances[0].ID) {
		t.Fatal(out, err)
	}
	if st, _ := s.Group("g"); st.Desired != 3 || st.Instances[0].LifecycleState != "Terminating" {
		t.Fatalf("after terminate: %+v", st)
	}
	if _, err := asc.TerminateInstanceInAutoScalingGroup(t.Context(), &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: aws.String("i-nope"), ShouldDecrementDesiredCapacity: aws.Bool(true)}); apiCode(err) != "ValidationError" {
		t.Fatalf("unknown instance: %v", err)
	}
}

func TestFaultsAndPolicy(t *testing.T) {
	s, asc, ec := newServer(t)
	s.Inject(asgtest.FaultThrottle, "DescribeAutoScalingGroups", -1)
	_, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{})
	if apiCode(err) != "Throttling" || s.Calls()["DescribeAutoScalingGroups"] != 5 {
		t.Fatalf("persistent throttling: %v after %d calls", err, s.Calls()["DescribeAutoScalingGroups"])
	}
	s.ClearFaults()
	s.Inject(asgtest.FaultServerError, "", 2)
	if _, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
		t.Fatalf("two 5xx then success: %v", err)
	}
	if err := s.EnforcePolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["autoscaling:Describe*"],"Resource":"*"}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(1)}); apiCode(err) != "AccessDenied" {
		t.Errorf("denied autoscaling action: %v", err)
	}
	if _, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{}); apiCode(err) != "UnauthorizedOperation" {
		t.Errorf("denied ec2 action: %v", err)
	}
}
