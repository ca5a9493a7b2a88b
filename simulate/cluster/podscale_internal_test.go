package cluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
)

// TestSimulatorAgreesWithPodscale replays every HPA sync of the shipped
// scenario through podscale.Decide on copies of the simulator's input and
// state, and checks that the simulator ended at the decided count with the
// same state: a simulation is what the controller would do.
func TestSimulatorAgreesWithPodscale(t *testing.T) {
	sc := shipped(t, "default")
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := newSim(sc, Options{Duration: 12 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	syncs, rescales, scheduled := 0, 0, 0
	s.onSync = func(w *wl, in podscale.Input) func(podscale.Decision, error) {
		in = cloneInput(in)
		st := cloneState(w.hstate)
		return func(got podscale.Decision, gotErr error) {
			syncs++
			want, err := podscale.Decide(in, &st)
			if err != nil || gotErr != nil {
				t.Fatalf("%s at %v: Decide errors: replay %v, simulator %v", w.spec.Name, in.Observation.Now, err, gotErr)
			}
			want.Succeeded(&st)
			if w.replicas != want.Desired {
				t.Fatalf("%s at %v: simulator has %d replicas, podscale decided %d (%s: %s)",
					w.spec.Name, in.Observation.Now, w.replicas, want.Desired, want.Reason, want.Message)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(podscale.Decision{}), cmpopts.IgnoreFields(hpa.Proposal{}, "Err"),
				cmpopts.IgnoreFields(hpa.Result{}, "Err")); diff != "" {
				t.Fatalf("%s at %v: decision differs (-replay +simulator):\n%s", w.spec.Name, in.Observation.Now, diff)
			}
			if diff := cmp.Diff(st, w.hstate, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%s at %v: state differs (-replay +simulator):\n%s", w.spec.Name, in.Observation.Now, diff)
			}
			if want.Rescale {
				rescales++
			}
			if want.Reason != podscale.ReasonMetrics && want.Reason != podscale.ReasonNoSpec {
				scheduled++
			}
		}
	}
	if _, err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The scenario must exercise both sources of decisions, or the test proves little.
	if syncs == 0 || rescales == 0 || scheduled == 0 {
		t.Fatalf("syncs %d, rescales %d, schedule-decided %d: the scenario no longer covers both the HPA and a schedule", syncs, rescales, scheduled)
	}
}

func cloneInput(in podscale.Input) podscale.Input {
	if in.Spec != nil {
		sp := *in.Spec
		in.Spec = &sp
	}
	o := &in.Observation
	o.Pods = slices.Clone(o.Pods)
	o.Metrics = slices.Clone(o.Metrics)
	for i := range o.Metrics {
		o.Metrics[i].Samples = slices.Clone(o.Metrics[i].Samples)
	}
	return in
}

func cloneState(st hpa.State) hpa.State {
	return hpa.State{Recommendations: slices.Clone(st.Recommendations),
		ScaleUpEvents: slices.Clone(st.ScaleUpEvents), ScaleDownEvents: slices.Clone(st.ScaleDownEvents)}
}
