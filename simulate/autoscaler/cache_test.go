package autoscaler_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// A loop that reuses its work while the observation's versions are
// unchanged decides exactly as a loop that recomputes everything: at each
// scan the cached loop's State, saved without its removal cache and read
// into a new loop, is stepped on the same observation with its versions
// cleared, and both must return the same actions and the same State. The
// sequence keeps the versions while what the removal simulation also
// reads changes (a PDB, a group's size, a hold's node) and changes them
// when pods are created, bound and moved.
func TestCachedStepMatchesFresh(t *testing.T) {
	cached := newLoop(t, autoscaler.Config{})
	base := func() *autoscaler.Observation {
		obs := &autoscaler.Observation{Nodes: []autoscaler.Node{node("n1", "g"), node("n2", "g"), node("n3", "g")},
			Groups: []autoscaler.Group{group("g", 1, 10, 3)}}
		obs.Pods = append(append(pods("busy", 3, 1000, "n1"), pods("small", 1, 500, "n2")...), pods("tiny", 1, 200, "n3")...)
		return obs
	}
	pdb := []simulate.PDB{{Namespace: "default", Name: "small", Selector: simulate.Selector{MatchLabels: map[string]string{"app": "small"}}}}
	type scan struct {
		at  time.Duration
		obs func() *autoscaler.Observation
	}
	v := func(obs *autoscaler.Observation, ver, pods int64) *autoscaler.Observation {
		obs.Version, obs.PodsVersion = ver, pods
		return obs
	}
	scans := []scan{
		{0, func() *autoscaler.Observation { return v(base(), 1, 1) }},
		{10 * time.Second, func() *autoscaler.Observation { return v(base(), 1, 1) }},
		// Same versions, a PDB now forbids moving the small pod.
		{20 * time.Second, func() *autoscaler.Observation { o := v(base(), 1, 1); o.PDBs = pdb; return o }},
		{30 * time.Second, func() *autoscaler.Observation { return v(base(), 1, 1) }},
		// Same versions, the group's minimum now allows one removal only.
		{40 * time.Second, func() *autoscaler.Observation { o := v(base(), 1, 1); o.Groups[0].Min = 2; return o }},
		// Same versions, the group's target rose (a launch not registered).
		{50 * time.Second, func() *autoscaler.Observation { o := v(base(), 1, 1); o.Groups[0].Target = 4; return o }},
		{60 * time.Second, func() *autoscaler.Observation { return v(base(), 1, 1) }},
		// A pending pod: PodsVersion changes, Version does not.
		{70 * time.Second, func() *autoscaler.Observation {
			o := v(base(), 1, 2)
			o.Pods = append(o.Pods, pods("web", 1, 3500, "")...)
			return o
		}},
		{80 * time.Second, func() *autoscaler.Observation { return v(base(), 1, 3) }},
		// The small pod moved to n1: Version changes.
		{90 * time.Second, func() *autoscaler.Observation {
			o := v(base(), 2, 3)
			o.Pods[3].NodeName = "n1"
			return o
		}},
		{100 * time.Second, func() *autoscaler.Observation {
			o := v(base(), 2, 3)
			o.Pods[3].NodeName = "n1"
			return o
		}},
		// n3 left: Version changes and the nodes differ.
		{12 * time.Minute, func() *autoscaler.Observation {
			o := v(base(), 3, 4)
			o.Nodes, o.Pods, o.Groups[0].Target = o.Nodes[:2], o.Pods[:4], 2
			return o
		}},
		{23 * time.Minute, func() *autoscaler.Observation {
			o := v(base(), 3, 4)
			o.Nodes, o.Pods, o.Groups[0].Target = o.Nodes[:2], o.Pods[:4], 2
			return o
		}},
	}
	deletes := 0
	for _, sc := range scans {
		now := t0.Add(sc.at)
		saved := cached.State.Clone()
		saved.Removal = nil
		j, err := json.Marshal(saved)
		if err != nil {
			t.Fatal(err)
		}
		fresh := newLoop(t, autoscaler.Config{})
		if err := json.Unmarshal(j, &fresh.State); err != nil {
			t.Fatal(err)
		}
		obs := sc.obs()
		got := step(t, cached, now, obs)
		plain := sc.obs()
		plain.Version, plain.PodsVersion = 0, 0
		want := step(t, fresh, now, plain)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("+%s: cached loop decided\n%+v\nfresh loop decided\n%+v", sc.at, got, want)
		}
		if cached.State.Removal == nil && len(want.Unremovable)+len(fresh.State.Unneeded) > 0 && got.ScaleDown == "" {
			t.Fatalf("+%s: no removal simulation kept", sc.at)
		}
		a, b := cached.State.Clone(), fresh.State.Clone()
		a.Removal, b.Removal = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("+%s: cached state %+v, fresh state %+v", sc.at, a, b)
		}
		deletes += len(got.Deletes)
	}
	if deletes == 0 {
		t.Fatal("the sequence deleted nothing; it does not reach the removal path")
	}
}
