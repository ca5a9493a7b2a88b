package fake_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/fake"
	"github.com/kscale/kscale/nodegroup/nodegrouptest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type env struct{ p *fake.Provider }

func (e env) Provider() nodegroup.Provider        { return e.p }
func (e env) Settle(t *testing.T)                 { e.p.Advance(10 * time.Minute) }
func (e env) StockOut(t *testing.T, group string) { e.p.SetOutOfCapacity(group, true) }

func template(instanceType, zone string) nodegroup.Template {
	capacity := nodegroup.Resources{MilliCPU: 2000, Memory: 8 << 30, EphemeralStorage: 20 << 30, Pods: 29}
	return nodegroup.Template{InstanceType: instanceType, Capacity: capacity,
		Allocatable: nodegroup.Allocatable(capacity, nodegroup.EKSReservations(capacity)),
		Labels: map[string]string{nodegroup.LabelZone: zone, nodegroup.LabelRegion: "region-1", nodegroup.LabelInstanceType: instanceType,
			nodegroup.LabelArch: "amd64", nodegroup.LabelOS: "linux", nodegroup.LabelCapacityType: nodegroup.CapacityOnDemand}}
}

func TestContract(t *testing.T) {
	nodegrouptest.Run(t, func(t *testing.T, f nodegrouptest.Fixture) nodegrouptest.Env {
		var cfgs []fake.GroupConfig
		for _, g := range f.Groups {
			cfgs = append(cfgs, fake.GroupConfig{ID: g.ID, Min: g.Min, Max: g.Max, Size: g.Size, Zone: g.Zone,
				LaunchDelay: 2 * time.Minute, Template: template(g.InstanceType, g.Zone)})
		}
		return env{fake.New(t0, cfgs...)}
	})
}

func TestLaunchDelayAndEvents(t *testing.T) {
	p := fake.New(t0, fake.GroupConfig{ID: "g", Max: 5, LaunchDelay: 90 * time.Second, Template: template("t", "z")})
	gs, _ := p.NodeGroups(t.Context())
	g := gs[0]
	if err := g.IncreaseSize(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	p.Advance(89 * time.Second)
	if ns, _ := g.Nodes(t.Context()); ns[0].State != nodegroup.InstanceCreating {
		t.Fatalf("running before the launch delay: %+v", ns)
	}
	p.Advance(time.Second)
	if ns, _ := g.Nodes(t.Context()); ns[0].State != nodegroup.InstanceRunning || ns[1].State != nodegroup.InstanceRunning {
		t.Fatalf("not running after the launch delay: %+v", ns)
	}
	boom := errors.New("throttled")
	p.FailNext("IncreaseSize", boom)
	if err := g.IncreaseSize(t.Context(), 1); !errors.Is(err, boom) {
		t.Fatalf("injected failure: %v", err)
	}
	if n, _ := g.TargetSize(t.Context()); n != 2 {
		t.Errorf("a failed call changed the target to %d", n)
	}
	if err := g.IncreaseSize(t.Context(), 1); err != nil {
		t.Fatalf("the failure is one-shot: %v", err)
	}
	ev := p.Events()
	if len(ev) != 3 || ev[0].Op != "IncreaseSize" || ev[0].Delta != 2 || !ev[0].Time.Equal(t0) || ev[1].Err == "" || ev[2].Time != t0.Add(90*time.Second) {
		t.Errorf("events %+v", ev)
	}
}

func TestDeleteErrorUnwrapsEveryFailure(t *testing.T) {
	err := &nodegroup.DeleteError{Failed: map[string]error{
		"a": &nodegroup.Error{Op: "DeleteNodes", Group: "g", Err: nodegroup.ErrThrottled},
		"b": errors.New("gone")}}
	if !errors.Is(err, nodegroup.ErrThrottled) || err.Error() != "2 instance(s) not removed: a: nodegroup g: DeleteNodes: throttled by the cloud API; b: gone" {
		t.Errorf("%v", err)
	}
}
