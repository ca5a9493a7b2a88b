package nodebridge_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/internal/nodebridge"
	"github.com/kscale/kscale/internal/testcluster"
)

// A test raises an Auto Scaling group through the provider and waits for its
// instances to join the test cluster as Nodes. (It needs the control plane, so
// this example only compiles.)
func Example() {
	testScaleUp := func(t *testing.T) {
		c := testcluster.Shared(t)
		ctx := t.Context()
		srv := asgtest.NewServer(asgtest.Config{LaunchDelay: 2 * time.Second, TerminateDelay: time.Second})
		t.Cleanup(srv.Close)
		srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
		if err := srv.AddGroup(asgtest.Group{Name: "workers", Max: 10, Zones: []string{"us-test-1a"},
			LaunchTemplate: &asgtest.LaunchTemplateRef{Name: "lt"}}); err != nil {
			t.Fatal(err)
		}
		aws := srv.AWSConfig()
		p, err := asg.New(ctx, asg.Config{AutoScaling: autoscaling.NewFromConfig(aws), EC2: ec2.NewFromConfig(aws),
			GroupNames: []string{"workers"}})
		if err != nil {
			t.Fatal(err)
		}
		b := nodebridge.Start(ctx, t, nodebridge.Options{Cluster: c, Source: nodebridge.FromASG(srv, p), Prefix: "up-"})
		if err := p.Group("workers").IncreaseSize(ctx, 3); err != nil {
			t.Fatal(err)
		}
		names, err := b.WaitNodes(ctx, 3, time.Minute) // Ready kwok Nodes "up-i-…"
		if err != nil {
			t.Fatal(err)
		}
		t.Log(names)
	}
	_ = testScaleUp
}
