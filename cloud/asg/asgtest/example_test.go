package asgtest_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/kscale/kscale/cloud/asg/asgtest"
)

// Point the real SDK client at the emulator, scale a group and let the
// virtual clock run.
func ExampleServer() {
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	srv.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "m5.large"})
	_ = srv.AddGroup(asgtest.Group{Name: "g", Max: 3, Zones: []string{"us-test-1a"}, LaunchConfig: "lc"})

	client := autoscaling.NewFromConfig(srv.AWSConfig())
	_, err := client.SetDesiredCapacity(context.Background(), &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(2)})
	fmt.Println(err)
	st, _ := srv.Group("g")
	fmt.Println(st.Instances[0].LifecycleState)
	srv.Settle()
	st, _ = srv.Group("g")
	fmt.Println(st.Instances[0].LifecycleState, srv.Calls()["SetDesiredCapacity"])
	// Output:
	// <nil>
	// Pending
	// InService 1
}

// Hostile mode makes the emulator lie, so a client's distrust can be
// tested: here one group's desired capacity is overridden and every page
// of DescribeAutoScalingGroups claims there is another.
func ExampleServer_SetHostile() {
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	srv.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "m5.large"})
	_ = srv.AddGroup(asgtest.Group{Name: "g", Max: 3, Desired: 1, Zones: []string{"us-test-1a"}, LaunchConfig: "lc"})
	srv.SetHostile(asgtest.Join(
		asgtest.SetGroupField("g", "DesiredCapacity", "2147483647"),
		asgtest.RepeatNextToken("DescribeAutoScalingGroups"),
	))

	client := autoscaling.NewFromConfig(srv.AWSConfig())
	in := &autoscaling.DescribeAutoScalingGroupsInput{}
	for page := 1; page <= 3; page++ {
		out, err := client.DescribeAutoScalingGroups(context.Background(), in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(page, aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity), aws.ToString(out.NextToken))
		in.NextToken = out.NextToken
	}
	st, _ := srv.Group("g") // the emulator's own state is unchanged
	fmt.Println(st.Desired)
	// Output:
	// 1 2147483647 asgtest-repeat
	// 2 2147483647 asgtest-repeat
	// 3 2147483647 asgtest-repeat
	// 1
}
