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
