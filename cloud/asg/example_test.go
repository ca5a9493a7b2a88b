package asg_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/nodegroup"
)

// Discover the cluster's groups by tag, scale one up and watch the launch
// through the emulator. Against AWS, build the clients from
// config.LoadDefaultConfig instead of srv.AWSConfig.
func ExampleNew() {
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "workers", InstanceType: "m5.large"})
	_ = srv.AddGroup(asgtest.Group{Name: "workers-a", Min: 1, Max: 10, Desired: 2, Zones: []string{"us-test-1a"},
		LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id, Version: "$Latest"},
		Tags:           map[string]string{asg.TagEnabled: "true", asg.TagClusterPrefix + "prod": "owned"}})

	ctx := context.Background()
	cfg := srv.AWSConfig()
	p, err := asg.New(ctx, asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg),
		ClusterName: "prod", Now: srv.Now})
	if err != nil {
		log.Fatal(err)
	}
	g := p.Group("workers-a")
	if err := g.IncreaseSize(ctx, 1); err != nil {
		log.Fatal(err)
	}
	n, _ := g.TargetSize(ctx)
	fmt.Println("target", n)

	srv.Settle() // the instance boots; the provider sees it on its next refresh
	if err := p.Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	nodes, _ := g.Nodes(ctx)
	for _, in := range nodes {
		fmt.Println(in.ProviderID, in.State)
	}
	// Output:
	// target 3
	// aws:///us-test-1a/i-00000000000000001 Running
	// aws:///us-test-1a/i-00000000000000002 Running
	// aws:///us-test-1a/i-00000000000000003 Running
}

// The node a scale-from-zero would add: allocatable subtracts the EKS
// kubelet reservations, and taints come from the group's tags.
func ExampleGroup_Template() {
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "gpu", InstanceType: "m5.xlarge", Spot: true, RootVolumeGB: 50})
	_ = srv.AddGroup(asgtest.Group{Name: "batch", Max: 10, Zones: []string{"us-test-1b"}, LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id},
		Tags: map[string]string{asg.TagTaintPrefix + "batch": "true:NoSchedule"}})

	ctx := context.Background()
	cfg := srv.AWSConfig()
	p, err := asg.New(ctx, asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), GroupNames: []string{"batch"}})
	if err != nil {
		log.Fatal(err)
	}
	t, err := p.Group("batch").Template(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s in %s\n", t.InstanceType, t.Labels[nodegroup.LabelCapacityType], t.Labels[nodegroup.LabelZone])
	fmt.Printf("capacity cpu %dm memory %dMi pods %d\n", t.Capacity.MilliCPU, t.Capacity.Memory>>20, t.Capacity.Pods)
	fmt.Printf("allocatable cpu %dm memory %dMi\n", t.Allocatable.MilliCPU, t.Allocatable.Memory>>20)
	fmt.Println("taints", t.Taints)
	// Output:
	// m5.xlarge spot in us-test-1b
	// capacity cpu 4000m memory 16384Mi pods 58
	// allocatable cpu 3920m memory 15391Mi
	// taints [{batch true NoSchedule}]
}

// A stock-out shows up as out-of-capacity placeholders within one refresh,
// so an autoscaler can back off the group and try another.
func ExampleGroup_Nodes_stockOut() {
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "spot", InstanceType: "m5.large", Spot: true})
	_ = srv.AddGroup(asgtest.Group{Name: "spot", Max: 10, Zones: []string{"us-test-1a"}, LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id}})
	srv.StockOut("m5.large", "us-test-1a", true)

	ctx := context.Background()
	cfg := srv.AWSConfig()
	p, err := asg.New(ctx, asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), GroupNames: []string{"spot"}, Now: srv.Now})
	if err != nil {
		log.Fatal(err)
	}
	g := p.Group("spot")
	_ = g.IncreaseSize(ctx, 1)
	srv.Advance(p.RefreshInterval())
	if err := p.Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	nodes, _ := g.Nodes(ctx)
	fmt.Println(nodes[0].State, nodes[0].ErrorClass)

	// An instance the group does not own is refused with a typed error.
	err = g.DeleteNodes(ctx, []string{"aws:///us-test-1a/i-not-mine"})
	fmt.Println(errors.Is(err, nodegroup.ErrNotFound))
	// Output:
	// Creating OutOfCapacity
	// true
}

// A weighted mixed-instances group is sized in nodes: AWS counts MinSize,
// MaxSize and DesiredCapacity in capacity units (here 2 per instance), the
// provider in nodes, and converts both ways.
func ExampleGroup_TargetSize_weighted() {
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt"})
	_ = srv.AddGroup(asgtest.Group{Name: "vcpus", Min: 2, Max: 9, Desired: 4, Zones: []string{"us-test-1a"},
		MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt"},
			Overrides: []asgtest.Override{{InstanceType: "m5.large", WeightedCapacity: "2"}, {InstanceType: "c5.large", WeightedCapacity: "2"}}}})

	ctx := context.Background()
	cfg := srv.AWSConfig()
	p, err := asg.New(ctx, asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), GroupNames: []string{"vcpus"}, Now: srv.Now})
	if err != nil {
		log.Fatal(err)
	}
	g := p.Group("vcpus")
	n, _ := g.TargetSize(ctx)
	fmt.Printf("nodes: min %d, max %d, target %d\n", g.MinSize(), g.MaxSize(), n)
	if err := g.IncreaseSize(ctx, 1); err != nil {
		log.Fatal(err)
	}
	st, _ := srv.Group("vcpus")
	fmt.Printf("AWS: desired %d units, %d instances\n", st.Desired, len(st.Instances))
	// Output:
	// nodes: min 1, max 4, target 2
	// AWS: desired 6 units, 3 instances
}
