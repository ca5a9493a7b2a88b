package ess_test

import (
	"fmt"
	"testing"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
)

// BenchmarkRefresh refreshes 500 groups with 20 000 instances (40 each)
// through the emulator, once per RefreshInterval, and reports the API calls
// per refresh. In steady state a refresh costs 25 DescribeScalingGroups
// (20 IDs each) + 500 DescribeScalingInstances (50 per page) + 50
// DescribeScalingConfigurations every TemplateRefreshInterval; instance
// types are read once. cluster-autoscaler's alicloud provider reads 10
// instances per page (2 000 calls for this fleet) and re-reads the group on
// every TargetSize and IncreaseSize. Compare runs with
// benchstat: go test -run '^$' -bench Refresh -count 10 ./cloud/ess.
func BenchmarkRefresh(b *testing.B) {
	const groups, perGroup = 500, 40
	srv := newServer(b, esstest.Config{})
	types := []string{"ecs.g7.large", "ecs.g7.xlarge", "ecs.c7.large", "ecs.g8y.large"}
	ids := make([]string, groups)
	for i := range groups {
		ids[i] = srv.AddGroup(esstest.Group{MinSize: 0, MaxSize: 100, Size: perGroup,
			Zone: fmt.Sprintf("cn-hangzhou-%c", 'a'+i%3),
			Configuration: esstest.Configuration{InstanceTypes: []string{types[i%len(types)]},
				Tags: map[string]string{ess.TagLabelPrefix + "pool": fmt.Sprint("pool-", i)}}})
	}
	clock := newClock()
	p := newProvider(b, config(srv, clock, ids...))
	if got := p.LastLoad(); got.Groups != groups || got.Instances != groups*perGroup {
		b.Fatalf("loaded %+v", got)
	}
	cold := srv.TotalCalls()
	srv.ResetCalls()
	n := 0
	for b.Loop() {
		clock.Advance(ess.DefaultRefreshInterval)
		if err := p.Refresh(b.Context()); err != nil {
			b.Fatal(err)
		}
		if got := p.LastLoad(); got.Instances != groups*perGroup {
			b.Fatalf("refresh saw %d instances", got.Instances)
		}
		n++
	}
	b.ReportMetric(float64(srv.TotalCalls())/float64(n), "calls/op")
	b.ReportMetric(float64(cold), "cold-calls")
	b.ReportMetric(groups, "groups")
	b.ReportMetric(groups*perGroup, "instances")
}
