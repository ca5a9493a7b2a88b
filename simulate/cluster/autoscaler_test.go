package cluster

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/simulate/autoscaler"
)

// TestPreProvisionGain runs the shipped preprovision scenario with and
// without pre-provisioning: with it, the jump to 40 replicas at 09:00
// finds its nodes Ready (no pod pending at the rise, none ever waiting),
// at the price of a few early node-minutes; without it, cluster-autoscaler
// reacts to the pending pods and they wait for the launch.
func TestPreProvisionGain(t *testing.T) {
	on := mustRun(t, shipped(t, "preprovision"), Options{Check: true})
	p := on.Summary.PreProvision
	if p == nil || len(p.Rises) != 1 {
		t.Fatalf("no pre-provisioning summary: %+v", p)
	}
	rise := p.Rises[0]
	if want := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC); !rise.At.Equal(want) || rise.Replicas != 40 {
		t.Fatalf("rise %+v, want 40 replicas at %s", rise, want)
	}
	if rise.PendingAtRise != 0 || on.Summary.MaxPendingPods != 0 || on.Summary.MaxPodWait != 0 {
		t.Fatalf("pending at the rise %d, max pending %d, max wait %ds; want 0", rise.PendingAtRise, on.Summary.MaxPendingPods, on.Summary.MaxPodWait)
	}
	// 40 pods of 500m on nodes taking 7 each: 6 nodes, one already there.
	if p.Nodes != 5 || rise.ReadyNodes != 6 {
		t.Fatalf("early nodes %d, ready at the rise %d; want 5 and 6", p.Nodes, rise.ReadyNodes)
	}
	// Early by at most the latency floor, start-up with jitter and a scan.
	maxEarly := 5 * (5*time.Minute + 36*time.Second + 10*time.Second).Hours()
	if p.EarlyNodeHours <= 0 || p.EarlyNodeHours > maxEarly+1e-3 || p.EarlyCost <= 0 {
		t.Fatalf("early node-hours %v (max %v), cost %v", p.EarlyNodeHours, maxEarly, p.EarlyCost)
	}
	sc := shipped(t, "preprovision")
	sc.ClusterAutoscaler.PreProvision = false
	off := mustRun(t, sc, Options{})
	if off.Summary.PreProvision != nil {
		t.Fatal("a pre-provisioning summary without pre-provisioning")
	}
	if off.Summary.MaxPendingPods < 30 || off.Summary.PendingPodSeconds <= 0 {
		t.Fatalf("without pre-provisioning: max pending %d, pending pod-seconds %v; want the spike", off.Summary.MaxPendingPods, off.Summary.PendingPodSeconds)
	}
}

type caCall struct {
	Now time.Time
	Obs json.RawMessage
	Act autoscaler.Actions
}

// TestDecisionsReplay checks that the simulator makes exactly the loop's
// decisions: every observation of a run is replayed, through JSON, into a
// fresh autoscaler.Autoscaler with the same Config, and each Step must
// return the actions the simulator carried out.
func TestDecisionsReplay(t *testing.T) {
	for _, name := range []string{"default", "preprovision", "default/provision"} {
		t.Run(name, func(t *testing.T) {
			base, mode, _ := strings.Cut(name, "/")
			sc := shipped(t, base)
			sc.ClusterAutoscaler.ScaleUpMode = mode
			if err := sc.Validate(); err != nil {
				t.Fatal(err)
			}
			s, err := newSim(sc, Options{Duration: 12 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			var calls []caCall
			acted := 0
			s.caTrace = func(now time.Time, obs *autoscaler.Observation, act autoscaler.Actions, err error) {
				if err != nil {
					t.Fatalf("%s: %v", now, err)
				}
				b, err := json.Marshal(obs)
				if err != nil {
					t.Fatal(err)
				}
				calls = append(calls, caCall{now, b, act})
				acted += len(act.Increases) + len(act.Cancels) + len(act.Deletes)
			}
			if _, err := s.run(t.Context()); err != nil {
				t.Fatal(err)
			}
			if acted == 0 {
				t.Fatal("the run decided nothing")
			}
			a, err := autoscaler.New(caConfig(sc))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range calls {
				var obs autoscaler.Observation
				if err := json.Unmarshal(c.Obs, &obs); err != nil {
					t.Fatal(err)
				}
				got, err := a.Step(c.Now, &obs)
				if err != nil {
					t.Fatalf("%s: %v", c.Now, err)
				}
				if !reflect.DeepEqual(norm(got), norm(c.Act)) {
					t.Fatalf("%s: replay decided\n%+v\nthe simulator\n%+v", c.Now, got, c.Act)
				}
			}
		})
	}
}

// norm compares actions through JSON (times in one representation).
func norm(a autoscaler.Actions) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// TestProvisionMode runs the default scenario in Karpenter's mode: every
// scan that scales up raises the groups for all its pending pods at once,
// so no scan after it raises again for pods that were already pending, and
// every pod still finds a node.
func TestProvisionMode(t *testing.T) {
	sc := shipped(t, "default")
	sc.ClusterAutoscaler.ScaleUpMode = "provision"
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := caConfig(sc).ScaleUpMode; got != autoscaler.ScaleUpProvision {
		t.Fatalf("config mode %q", got)
	}
	s, err := newSim(sc, Options{Duration: 12 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ups := 0
	s.caTrace = func(now time.Time, obs *autoscaler.Observation, act autoscaler.Actions, err error) {
		for _, c := range act.Increases {
			if c.Reason == autoscaler.ReasonScaleUp {
				ups++
				if !strings.HasPrefix(c.Message, "provisioned ") {
					t.Errorf("%s: increase %+v does not come from Provision", now, c)
				}
			}
		}
	}
	res, err := s.run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ups == 0 || res.Summary.NodeScaleUps == 0 {
		t.Fatalf("%d scale-ups in the trace, %d in the summary", ups, res.Summary.NodeScaleUps)
	}
	for _, w := range res.Summary.Workloads {
		if w.Unschedulable != "" || w.PendingAtEnd != 0 {
			t.Fatalf("workload %s: unschedulable %q, %d pending at the end", w.Name, w.Unschedulable, w.PendingAtEnd)
		}
	}
	sc.ClusterAutoscaler.ScaleUpMode = "karpenter"
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), "clusterAutoscaler.scaleUpMode") {
		t.Fatalf("an unknown mode: %v", err)
	}
}
