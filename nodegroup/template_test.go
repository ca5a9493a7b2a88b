package nodegroup_test

import (
	"fmt"
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

const mib = 1 << 20

// The EKS optimized AMI's published kube-reserved values.
func TestEKSReservations(t *testing.T) {
	cases := []struct {
		cores, pods   int64
		wantCPU       int64
		wantMemoryMiB int64
	}{
		{2, 29, 70, 574},     // m5.large
		{4, 58, 80, 893},     // m5.xlarge
		{16, 234, 110, 2829}, // m5.4xlarge
		{96, 737, 310, 8362}, // m5.24xlarge
		{1, 4, 60, 299},
	}
	for _, tc := range cases {
		r := nodegroup.EKSReservations(nodegroup.Resources{MilliCPU: tc.cores * 1000, Memory: 64 << 30, Pods: tc.pods, EphemeralStorage: 100 << 30})
		if r.KubeReserved.MilliCPU != tc.wantCPU || r.KubeReserved.Memory != tc.wantMemoryMiB*mib || r.EvictionMemory != 100*mib || r.EvictionStorage != 10<<30 {
			t.Errorf("%d cores, %d pods: %+v; want %dm, %dMi", tc.cores, tc.pods, r, tc.wantCPU, tc.wantMemoryMiB)
		}
	}
}

func TestAllocatable(t *testing.T) {
	c := nodegroup.Resources{MilliCPU: 2000, Memory: 1000 * mib, EphemeralStorage: 100, Pods: 10, Extended: map[string]int64{"nvidia.com/gpu": 1}}
	r := nodegroup.Reservations{KubeReserved: nodegroup.Resources{MilliCPU: 100, Memory: 200 * mib}, SystemReserved: nodegroup.Resources{MilliCPU: 100, Memory: 900 * mib}, EvictionStorage: 10}
	a := nodegroup.Allocatable(c, r)
	if a.MilliCPU != 1800 || a.Memory != 0 || a.EphemeralStorage != 90 || a.Pods != 10 || a.Extended["nvidia.com/gpu"] != 1 {
		t.Errorf("allocatable %+v", a)
	}
	a.Extended["nvidia.com/gpu"] = 5
	if c.Extended["nvidia.com/gpu"] != 1 {
		t.Error("Allocatable shares the extended map with capacity")
	}
}

// An m5.large as an EKS node: what the scheduler can use is less than the
// instance's capacity.
func ExampleAllocatable() {
	capacity := nodegroup.Resources{MilliCPU: 2000, Memory: 8 << 30, EphemeralStorage: 20 << 30, Pods: 29}
	a := nodegroup.Allocatable(capacity, nodegroup.EKSReservations(capacity))
	fmt.Printf("cpu %dm, memory %dMi, pods %d\n", a.MilliCPU, a.Memory/mib, a.Pods)
	// Output: cpu 1930m, memory 7518Mi, pods 29
}
