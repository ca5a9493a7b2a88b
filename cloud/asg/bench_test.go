package asg_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
)

// BenchmarkRefresh re-reads a fleet of 500 groups with 20 000 instances
// through the emulator (real SDK, real HTTP, XML both ways) and reports
// the API calls one refresh makes. Discovery by tags with MaxRecords 100
// takes 5 DescribeAutoScalingGroups pages; DescribeScalingActivities is
// called only for groups short of their desired capacity (none here).
// Compare runs with benchstat.
func BenchmarkRefresh(b *testing.B) {
	const groups, perGroup = 500, 40
	srv := asgtest.NewServer(asgtest.Config{})
	defer srv.Close()
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
	for i := range groups {
		if err := srv.AddGroup(asgtest.Group{Name: fmt.Sprintf("workers-%03d", i), Max: 100, Desired: perGroup,
			Zones: []string{"us-test-1a", "us-test-1b", "us-test-1c"}, LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id}, Tags: discoveryTags(nil)}); err != nil {
			b.Fatal(err)
		}
	}
	cfg := srv.AWSConfig()
	p, err := asg.New(b.Context(), asg.Config{AutoScaling: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), ClusterName: "test", Now: srv.Now})
	if err != nil {
		b.Fatal(err)
	}
	srv.ResetCalls()
	for b.Loop() {
		srv.Advance(time.Minute)
		if err := p.Refresh(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	gs, _ := p.NodeGroups(b.Context())
	if len(gs) != groups {
		b.Fatalf("%d groups", len(gs))
	}
	instances := 0
	for _, g := range gs {
		ns, _ := g.Nodes(b.Context())
		instances += len(ns)
	}
	if instances != groups*perGroup {
		b.Fatalf("%d instances", instances)
	}
	b.ReportMetric(float64(srv.TotalCalls())/float64(b.N), "calls/op")
	b.ReportMetric(float64(instances), "instances")
}
