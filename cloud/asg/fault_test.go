package asg_test

import (
	"errors"
	"testing"

	"github.com/kscale/kscale/cloud/asg"
	"github.com/kscale/kscale/cloud/asg/asgtest"
	"github.com/kscale/kscale/nodegroup"
)

// faultEnv is one group "g" (min 1, max 10, 3 running m5.large) behind the
// emulator, with the SDK's standard retryer (5 attempts, 1 ms backoff).
func faultEnv(t *testing.T) (*asgtest.Server, *asg.Provider, nodegroup.NodeGroup) {
	t.Helper()
	srv, asc, ec := newServer(t)
	id, _ := srv.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt", InstanceType: "m5.large"})
	if err := srv.AddGroup(asgtest.Group{Name: "g", Min: 1, Max: 10, Desired: 3, Zones: []string{"us-test-1a", "us-test-1b"},
		LaunchTemplate: &asgtest.LaunchTemplateRef{ID: id}, Tags: discoveryTags(nil)}); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, srv, asc, ec, nil)
	return srv, p, p.Group("g")
}

func desired(t *testing.T, srv *asgtest.Server) int {
	t.Helper()
	st, _ := srv.Group("g")
	return st.Desired
}

func TestTransientFaultsEndInTheRightState(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind asgtest.FaultKind
	}{{"throttling", asgtest.FaultThrottle}, {"5xx", asgtest.FaultServerError}, {"lost response", asgtest.FaultLostResponse}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, g := faultEnv(t)
			// Scale-up: SetDesiredCapacity is absolute, so a retry of an
			// applied call (lost response) cannot add capacity twice.
			srv.Inject(tc.kind, "SetDesiredCapacity", 2)
			if err := g.IncreaseSize(t.Context(), 2); err != nil {
				t.Fatal(err)
			}
			if got := desired(t, srv); got != 5 {
				t.Fatalf("desired %d after a faulted +2 from 3, want 5", got)
			}
			if n, _ := g.TargetSize(t.Context()); n != 5 {
				t.Errorf("target %d, want 5", n)
			}
			if c := srv.Calls()["SetDesiredCapacity"]; c != 3 {
				t.Errorf("%d SetDesiredCapacity calls, want 3 (2 faulted + 1)", c)
			}
			// Scale-down: no deletion lost, none doubled.
			srv.Settle()
			ns, _ := g.Nodes(t.Context())
			srv.Inject(tc.kind, "TerminateInstanceInAutoScalingGroup", 2)
			if err := g.DeleteNodes(t.Context(), []string{ns[0].ProviderID}); err != nil {
				t.Fatal(err)
			}
			st, _ := srv.Group("g")
			if st.Desired != 4 || st.Instances[0].LifecycleState != "Terminating" {
				t.Fatalf("after a faulted delete: desired %d, %+v", st.Desired, st.Instances[0])
			}
		})
	}
}

func TestPersistentFaultsReturnErrors(t *testing.T) {
	srv, p, g := faultEnv(t)
	srv.Inject(asgtest.FaultThrottle, "SetDesiredCapacity", -1)
	err := g.IncreaseSize(t.Context(), 1)
	if !errors.Is(err, nodegroup.ErrThrottled) {
		t.Fatalf("persistent throttling: %v", err)
	}
	if c := srv.Calls()["SetDesiredCapacity"]; c != 5 {
		t.Errorf("%d attempts, want the retryer's 5", c)
	}
	if n, _ := g.TargetSize(t.Context()); n != 3 || desired(t, srv) != 3 {
		t.Errorf("a failed increase changed the target: cache %d, AWS %d", n, desired(t, srv))
	}
	srv.ClearFaults()

	srv.Inject(asgtest.FaultServerError, "DescribeAutoScalingGroups", -1)
	srv.Settle()
	err = p.Refresh(t.Context())
	if err == nil || errors.Is(err, nodegroup.ErrThrottled) {
		t.Fatalf("persistent 5xx: %v", err)
	}
	if gs, _ := p.NodeGroups(t.Context()); len(gs) != 1 {
		t.Errorf("a failed refresh dropped the cache: %v", gs)
	}
	srv.ClearFaults()
	if err := p.Refresh(t.Context()); err != nil {
		t.Fatalf("after the fault cleared: %v", err)
	}
}

func TestPartialDeleteFailureIsReportedPerNode(t *testing.T) {
	srv, _, g := faultEnv(t)
	ns, _ := g.Nodes(t.Context())
	// The first instance's call is throttled on every attempt; the second goes through.
	srv.Inject(asgtest.FaultThrottle, "TerminateInstanceInAutoScalingGroup", 5)
	err := g.DeleteNodes(t.Context(), []string{ns[0].ProviderID, ns[1].ProviderID})
	de, ok := errors.AsType[*nodegroup.DeleteError](err)
	if !ok {
		t.Fatalf("want a *DeleteError, got %v", err)
	}
	if len(de.Failed) != 1 || de.Failed[ns[0].ProviderID] == nil || !errors.Is(err, nodegroup.ErrThrottled) {
		t.Fatalf("failed %v", de.Failed)
	}
	if n, _ := g.TargetSize(t.Context()); n != 2 || desired(t, srv) != 2 {
		t.Errorf("target: cache %d, AWS %d; want 2 (one removed)", n, desired(t, srv))
	}
	after, _ := g.Nodes(t.Context())
	if after[0].State != nodegroup.InstanceRunning || after[1].State != nodegroup.InstanceDeleting {
		t.Errorf("nodes after a partial delete: %+v", after)
	}
}

func TestLatencyDoesNotBreakCalls(t *testing.T) {
	srv, _, g := faultEnv(t)
	srv.SetLatency(5e6) // 5 ms per call
	if err := g.IncreaseSize(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if desired(t, srv) != 4 {
		t.Errorf("desired %d", desired(t, srv))
	}
}
