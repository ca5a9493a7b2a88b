package nodes_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// replayTrace replays a controller's recorded Steps — the observations it
// made on the real cluster, in order, with their instants — through a
// fresh autoscaler.New of the same loop configuration, Step by Step, and
// fails unless every Step decides exactly the actions the controller
// decided (compared as JSON) and the replayed State ends equal to the
// controller's. The controller and the simulator run one loop, so a
// simulation fed the same observations makes the same decisions.
//
// It holds only for a run where every action the controller carried out
// succeeded (a failed one changes the controller's State through
// IncreaseFailed or DeleteFailed, which the trace does not record). The
// run must be stopped.
//
// To show the comparison can fail, the observations are replayed again with
// the first acting step's observation perturbed: that Step must then decide
// differently.
func replayTrace(t *testing.T, run *runningCA) {
	t.Helper()
	steps := run.Trace.Steps()
	if len(steps) < 3 {
		t.Fatalf("replay: only %d steps recorded", len(steps))
	}
	obs := make([]autoscaler.Observation, len(steps))
	for i, s := range steps {
		if err := json.Unmarshal(s.Obs, &obs[i]); err != nil {
			t.Fatalf("replay: step %d: %v", i, err)
		}
	}
	loop, err := autoscaler.New(run.Loop)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		o := obs[i] // Step reads the observation and keeps no reference
		act, err := loop.Step(s.Now, &o)
		if err != nil {
			t.Fatalf("replay: step %d at %v: %v", i, s.Now, err)
		}
		got, err := json.Marshal(act)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, s.Act) {
			t.Fatalf("replay: step %d at %v decided\n%s\nthe controller decided\n%s", i, s.Now, got, s.Act)
		}
	}
	want, err := json.Marshal(run.CA.State())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(loop.State)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("replay: State after %d steps\n%s\nthe controller's\n%s", len(steps), got, want)
	}
	t.Logf("replay: %d steps, the same actions and State", len(steps))

	// The same replay with the first acting step's observation perturbed
	// (its pending pods and rises dropped, each group's target cut to its
	// registered nodes) decides differently at that step.
	k := slices.IndexFunc(steps, func(s traceStep) bool { return len(s.Actions.Increases) > 0 || len(s.Actions.Upcoming) > 0 })
	if k < 0 {
		t.Fatalf("replay: no step increased a group or saw a launch")
	}
	other, err := autoscaler.New(run.Loop)
	if err != nil {
		t.Fatal(err)
	}
	for i := range k + 1 {
		o := obs[i]
		if i == k {
			var bound []simulate.Pod
			for _, p := range o.Pods {
				if p.NodeName != "" {
					bound = append(bound, p)
				}
			}
			o.Pods, o.Rises, o.Version, o.PodsVersion = bound, nil, 0, 0
			o.Groups = slices.Clone(o.Groups)
			for j := range o.Groups {
				n := 0
				for _, nd := range o.Nodes {
					if nd.Group == o.Groups[j].ID {
						n++
					}
				}
				o.Groups[j].Target, o.Groups[j].Instances = min(o.Groups[j].Target, n), nil
			}
		}
		act, err := other.Step(steps[i].Now, &o)
		if err != nil {
			t.Fatalf("perturbed replay: step %d: %v", i, err)
		}
		got, _ := json.Marshal(act)
		if i == k && bytes.Equal(got, steps[i].Act) {
			t.Errorf("perturbed replay: step %d decided what the controller did: %s", i, got)
		}
	}
}
