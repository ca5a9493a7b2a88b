package podscale_test

import (
	"errors"
	"testing"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
	"github.com/kscale/kscale/schedule"
)

// FuzzDecide checks Decide's invariants over random counts, usage, bounds
// and policies: no panic; an error only for refused input, leaving the
// state as it was; Rescale exactly when Desired differs from Current; the
// HPA status desiring the final count; and the bounds honoured as the
// policy says.
func FuzzDecide(f *testing.F) {
	f.Add(int32(4), int64(900), int32(-1), int32(6), "", true)
	f.Add(int32(4), int64(500), int32(10), int32(-1), "Floor", true)
	f.Add(int32(4), int64(-1), int32(6), int32(-1), "Clamp", true)
	f.Add(int32(0), int64(100), int32(2), int32(2), "Override", false)
	f.Add(int32(3), int64(100), int32(5), int32(1), "Ceiling", true)
	f.Add(int32(25), int64(2000), int32(-1), int32(-1), "Sometimes", true)
	f.Fuzz(func(t *testing.T, current int32, usage int64, lo, hi int32, policy string, withSpec bool) {
		if current > 50 || current < -1 {
			t.Skip("pods are built per replica")
		}
		var b schedule.Bounds
		if lo >= -1 && lo != -1 {
			b.Min = &lo
		}
		if hi != -1 {
			b.Max = &hi
		}
		if lo < -1 {
			b.Min = &lo // negative: must be refused
		}
		in := podscale.Input{Observation: hpa.Input{Now: t0, SpecReplicas: current}, Bounds: b, Policy: schedule.Policy(policy)}
		if withSpec && current >= 0 {
			in.Spec = cpuSpec(nil)
			in.Observation = observe(current, usage)
		}
		var st hpa.State
		d, err := podscale.Decide(in, &st)
		if err != nil {
			if !errors.Is(err, podscale.ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
			if len(st.Recommendations) != 0 {
				t.Fatal("a refused input changed the state")
			}
			return
		}
		if d.Rescale != (d.Desired != d.Current) || d.Current != current || d.Desired < 0 {
			t.Fatalf("decision %+v", d)
		}
		if d.HPA != nil && !d.HPA.Stopped && d.HPA.DesiredReplicas != d.Desired {
			t.Fatalf("HPA status desires %d, decision %d", d.HPA.DesiredReplicas, d.Desired)
		}
		p := in.Policy
		if p == "" {
			p = schedule.PolicyClamp
		}
		if b.Min != nil && (p == schedule.PolicyClamp || p == schedule.PolicyFloor) && d.Desired < *b.Min {
			t.Fatalf("desired %d under the floor %d (%s)", d.Desired, *b.Min, p)
		}
		if b.Max != nil && (p == schedule.PolicyClamp || p == schedule.PolicyCeiling) && d.Desired > *b.Max {
			t.Fatalf("desired %d over the ceiling %d (%s)", d.Desired, *b.Max, p)
		}
		if d.Reason == "" || d.Message == "" {
			t.Fatalf("decision without a reason: %+v", d)
		}
	})
}
