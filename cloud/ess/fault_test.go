package ess_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
)

type faultEnv struct {
	srv   *esstest.Server
	clock *fakeClock
	p     *ess.Provider
	id    string
	g     nodegroup.NodeGroup
}

func newFaultEnv(t *testing.T, size, minSize, maxSize int, mods ...func(*ess.Config)) *faultEnv {
	t.Helper()
	srv := newServer(t, esstest.Config{LaunchDelay: -1})
	id := srv.AddGroup(esstest.Group{MinSize: minSize, MaxSize: maxSize, Size: size,
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	clock := newClock()
	cfg := config(srv, clock, id)
	for _, m := range mods {
		m(&cfg)
	}
	p := newProvider(t, cfg)
	gs, _ := p.NodeGroups(t.Context())
	return &faultEnv{srv: srv, clock: clock, p: p, id: id, g: gs[0]}
}

func (e *faultEnv) refresh(t *testing.T) {
	t.Helper()
	e.srv.Settle()
	e.clock.Advance(time.Hour)
	if err := e.p.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (e *faultEnv) running(t *testing.T) []string {
	t.Helper()
	ns, err := e.g.Nodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range ns {
		if n.State == nodegroup.InstanceRunning {
			ids = append(ids, n.ProviderID)
		}
	}
	return ids
}

// Transient throttling and 5xx on the scale-up: retried with backoff, the
// group ends exactly one larger.
func TestIncreaseSizeRetriesTransientFaults(t *testing.T) {
	for _, mode := range []ess.ScaleMode{ess.ScaleWithAdjustment, ess.ScalingRules} {
		t.Run(string(mode), func(t *testing.T) {
			e := newFaultEnv(t, 2, 1, 10, func(c *ess.Config) { c.ScaleMode = mode })
			e.srv.Throttle("", 2)
			e.srv.InjectFault(esstest.Fault{Code: esstest.CodeThrottlingUser, Times: 1})
			e.srv.FailServer("", 1)
			if err := e.g.IncreaseSize(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
			if got := e.srv.Desired(e.id); got != 3 {
				t.Errorf("desired %d after a retried scale-up, want 3", got)
			}
			if n, waited := e.clock.Waits(); n != 4 || waited <= 0 {
				t.Errorf("%d backoff waits (%v), want 4", n, waited)
			}
			e.refresh(t)
			if n := len(e.running(t)); n != 3 {
				t.Errorf("%d running, want 3", n)
			}
		})
	}
}

// A scale-up whose response is lost after it applied is retried with the
// same ClientToken and absolute TotalCapacity: no double scale-up.
func TestIncreaseSizeLostResponse(t *testing.T) {
	for _, c := range []struct {
		mode   ess.ScaleMode
		action string
	}{{ess.ScaleWithAdjustment, "ess:ScaleWithAdjustment"}, {ess.ScalingRules, "ess:ExecuteScalingRule"}} {
		t.Run(string(c.mode), func(t *testing.T) {
			e := newFaultEnv(t, 2, 1, 10, func(cfg *ess.Config) { cfg.ScaleMode = c.mode })
			e.srv.InjectFault(esstest.Fault{Action: c.action, Code: esstest.CodeServiceUnavailable, Times: 2, AfterApply: true})
			if err := e.g.IncreaseSize(t.Context(), 2); err != nil {
				t.Fatal(err)
			}
			e.refresh(t)
			if d, n := e.srv.Desired(e.id), len(e.srv.Instances(e.id)); d != 4 || n != 4 {
				t.Errorf("desired %d, %d instances; want 4, 4", d, n)
			}
			if acts := e.srv.Activities(e.id); len(acts) != 1 {
				t.Errorf("%d scaling activities, want 1", len(acts))
			}
		})
	}
}

// A deletion whose response is lost is not lost: the retry carries the
// same ClientToken and is answered with the first result.
func TestDeleteNodesLostResponse(t *testing.T) {
	e := newFaultEnv(t, 3, 1, 10)
	victim := e.running(t)[0]
	e.srv.InjectFault(esstest.Fault{Action: "ess:RemoveInstances", Code: esstest.CodeInternalError, Times: 1, AfterApply: true})
	e.srv.Throttle("ess:RemoveInstances", 1)
	if err := e.g.DeleteNodes(t.Context(), []string{victim}); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.g.TargetSize(t.Context()); n != 2 {
		t.Errorf("cached target %d, want 2", n)
	}
	e.refresh(t)
	if d, n := e.srv.Desired(e.id), len(e.srv.Instances(e.id)); d != 2 || n != 2 {
		t.Errorf("desired %d, %d instances; want 2, 2", d, n)
	}
	for _, id := range e.running(t) {
		if id == victim {
			t.Errorf("%s still running", victim)
		}
	}
}

// Throttling that never stops: an error wrapping ErrThrottled after
// MaxAttempts calls, and nothing changed.
func TestPersistentThrottling(t *testing.T) {
	e := newFaultEnv(t, 2, 1, 10)
	e.srv.ResetCalls()
	e.srv.Throttle("ess:ScaleWithAdjustment", 0)
	err := e.g.IncreaseSize(t.Context(), 1)
	if !errors.Is(err, nodegroup.ErrThrottled) {
		t.Fatalf("IncreaseSize under persistent throttling: %v", err)
	}
	if n := e.srv.Calls()["ess:ScaleWithAdjustment"]; n != 5 {
		t.Errorf("%d attempts, want 5", n)
	}
	e.srv.ClearFaults()
	e.refresh(t)
	if n, _ := e.g.TargetSize(t.Context()); n != 2 || e.srv.Desired(e.id) != 2 {
		t.Errorf("target %d, desired %d; want 2", n, e.srv.Desired(e.id))
	}
}

// Persistent 5xx on the describes: Refresh returns an error (not
// ErrThrottled) and keeps the last good cache.
func TestPersistentServerError(t *testing.T) {
	e := newFaultEnv(t, 2, 1, 10)
	e.srv.FailServer("ess:DescribeScalingGroups", 0)
	e.clock.Advance(time.Hour)
	err := e.p.Refresh(t.Context())
	if err == nil || errors.Is(err, nodegroup.ErrThrottled) {
		t.Fatalf("Refresh under persistent 5xx: %v", err)
	}
	if n, err := e.g.TargetSize(t.Context()); err != nil || n != 2 {
		t.Errorf("cached target %d, %v", n, err)
	}
	e.srv.ClearFaults()
	if err := e.p.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// 25 deletions go in two RemoveInstances batches (20 + 5). One instance is
// refused: its batch is retried one by one, so only that instance fails,
// and it is reported by provider ID.
func TestDeleteNodesPartialFailure(t *testing.T) {
	e := newFaultEnv(t, 30, 0, 40)
	victims := e.running(t)[:25]
	_, bad, _ := cut(victims[7])
	e.srv.InjectFault(esstest.Fault{Action: "ess:RemoveInstances", InstanceID: bad, Code: "IncorrectInstanceStatus", Status: 400})
	err := e.g.DeleteNodes(t.Context(), victims)
	var de *nodegroup.DeleteError
	if !errors.As(err, &de) {
		t.Fatalf("DeleteNodes: %v, want a *DeleteError", err)
	}
	if len(de.Failed) != 1 || de.Failed[victims[7]] == nil {
		t.Fatalf("failed %v, want only %s", de.Failed, victims[7])
	}
	e.refresh(t)
	if d, n := e.srv.Desired(e.id), len(e.srv.Instances(e.id)); d != 6 || n != 6 {
		t.Errorf("desired %d, %d instances; want 6, 6", d, n)
	}
}

// A batch that stays throttled is reported for each of its instances,
// wrapping ErrThrottled; the other batch goes through.
func TestDeleteNodesThrottledBatch(t *testing.T) {
	e := newFaultEnv(t, 30, 0, 40)
	victims := e.running(t)[:25]
	_, inSecond, _ := cut(victims[22])
	e.srv.InjectFault(esstest.Fault{Action: "ess:RemoveInstances", InstanceID: inSecond, Code: esstest.CodeThrottling})
	err := e.g.DeleteNodes(t.Context(), victims)
	var de *nodegroup.DeleteError
	if !errors.As(err, &de) || len(de.Failed) != 5 {
		t.Fatalf("DeleteNodes: %v, want 5 failures", err)
	}
	for _, v := range victims[20:] {
		if !errors.Is(de.Failed[v], nodegroup.ErrThrottled) {
			t.Errorf("%s: %v, want ErrThrottled", v, de.Failed[v])
		}
	}
	if !errors.Is(err, nodegroup.ErrThrottled) {
		t.Error("errors.Is does not see through the DeleteError")
	}
	e.srv.ClearFaults()
	e.refresh(t)
	if d := e.srv.Desired(e.id); d != 10 {
		t.Errorf("desired %d, want 10", d)
	}
}

// A cancelled context stops the retries.
func TestContextCancelled(t *testing.T) {
	e := newFaultEnv(t, 2, 1, 10)
	e.srv.Throttle("", 0)
	ctx, cancel := contextWithCancel(t)
	cancel()
	if err := e.g.IncreaseSize(ctx, 1); err == nil {
		t.Fatal("IncreaseSize with a cancelled context succeeded")
	}
}
