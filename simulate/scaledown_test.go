package simulate

import "testing"

func TestDrainRules(t *testing.T) {
	rs := &Owner{Kind: "ReplicaSet", Name: "rs"}
	base := func() Pod { p := pod("p", 100, "n1"); p.Owner = rs; return p }
	with := func(f func(*Pod)) Pod { p := base(); f(&p); return p }
	cases := []struct {
		name   string
		p      Pod
		pdbs   []PDB
		opts   func(*ScaleDownOptions)
		reason string // "" removable
	}{
		{"replicated pod moves", base(), nil, nil, ""},
		{"mirror pod stays", with(func(p *Pod) { p.Owner = nil; p.Mirror = true }), nil, nil, ""},
		{"DaemonSet pod stays", with(func(p *Pod) { p.Owner = &Owner{Kind: "DaemonSet", Name: "ds"} }), nil, nil, ""},
		{"long-terminating pod skipped", with(func(p *Pod) { p.Owner = nil; p.Terminating = true }), nil, nil, ""},
		{"safe-to-evict true overrides", with(func(p *Pod) { p.Owner = nil; p.LocalStorage = []string{"v"}; p.SafeToEvict = "true" }), nil, nil, ""},
		{"finished pod", with(func(p *Pod) { p.Owner = nil; p.Terminal = true }), nil, nil, ""},
		{"safe-to-evict false", with(func(p *Pod) { p.SafeToEvict = "false" }), nil, nil, ReasonNotSafeToEvictAnnotation},
		{"on-completion", with(func(p *Pod) { p.SafeToEvict = "on-completion" }), nil, nil, ReasonNotSafeToEvictAnnotation},
		{"no controller", with(func(p *Pod) { p.Owner = nil }), nil, nil, ReasonNotReplicated},
		{"custom controller", with(func(p *Pod) { p.Owner = &Owner{Kind: "Rollout", Name: "r"} }), nil, nil, ReasonNotReplicated},
		{"custom controller allowed", with(func(p *Pod) { p.Owner = &Owner{Kind: "Rollout", Name: "r"} }), nil,
			func(o *ScaleDownOptions) { o.AllowCustomControllers = true }, ""},
		{"kube-system without PDB", with(func(p *Pod) { p.Namespace = "kube-system" }), nil, nil, ReasonUnmovableKubeSystemPod},
		{"kube-system with PDB", with(func(p *Pod) { p.Namespace = "kube-system"; p.Labels = map[string]string{"k": "dns"} }),
			[]PDB{{Namespace: "kube-system", Name: "dns", Selector: Selector{MatchLabels: map[string]string{"k": "dns"}}, DisruptionsAllowed: 1}}, nil, ""},
		{"local storage", with(func(p *Pod) { p.LocalStorage = []string{"scratch"} }), nil, nil, ReasonLocalStorageRequested},
		{"local storage allowed", with(func(p *Pod) { p.LocalStorage = []string{"scratch"} }), nil,
			func(o *ScaleDownOptions) { o.AllowLocalStorage = true }, ""},
		{"PDB exhausted", with(func(p *Pod) { p.Labels = map[string]string{"app": "db"} }),
			[]PDB{{Namespace: "default", Name: "db", Selector: Selector{MatchLabels: map[string]string{"app": "db"}}}}, nil, ReasonNotEnoughPdb},
		{"PDB in another namespace", with(func(p *Pod) { p.Labels = map[string]string{"app": "db"} }),
			[]PDB{{Namespace: "other", Name: "db", Selector: Selector{MatchLabels: map[string]string{"app": "db"}}}}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Cluster{Nodes: []Node{node("n1", "a", 4000), node("n2", "a", 4000)}, Pods: []Pod{tc.p}, PDBs: tc.pdbs}
			c.Nodes[0].Group = "g" // n2 is unmanaged: the destination
			o := DefaultScaleDown()
			if tc.opts != nil {
				tc.opts(&o)
			}
			r, err := ScaleDown(c, []Group{{ID: "g", Max: 5, Target: 1}}, o)
			if err != nil {
				t.Fatal(err)
			}
			var got *Unremovable
			removed := false
			for _, rm := range r.Removable {
				removed = removed || rm.Node == "n1"
			}
			for i := range r.Unremovable {
				if r.Unremovable[i].Node == "n1" {
					got = &r.Unremovable[i]
				}
			}
			switch {
			case tc.reason == "" && !removed:
				t.Fatalf("n1 not removable: %+v", got)
			case tc.reason != "" && (got == nil || got.Reason != tc.reason || got.Pod != 0):
				t.Fatalf("n1: %+v, want %s blocked by pod 0", got, tc.reason)
			}
		})
	}
}

func TestScaleDownNodeRules(t *testing.T) {
	mk := func() *Cluster {
		c := &Cluster{Nodes: []Node{node("n1", "a", 1000), node("n2", "a", 1000), node("n3", "a", 1000), node("free", "a", 1000)}}
		for i := range c.Nodes[:3] {
			c.Nodes[i].Group = "g"
		}
		rs := &Owner{Kind: "ReplicaSet", Name: "rs"}
		for _, p := range []Pod{pod("a", 600, "n1"), pod("b", 300, "n2"), pod("c", 200, "n3")} {
			p.Owner = rs
			c.Pods = append(c.Pods, p)
		}
		return c
	}
	gs := []Group{{ID: "g", Min: 1, Max: 5, Target: 3}}
	r, err := ScaleDown(mk(), gs, DefaultScaleDown())
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, u := range r.Unremovable {
		reasons[u.Node] = u.Reason
	}
	// n1 (0.6 cpu) is over the threshold and "free" belongs to no group.
	// n3 (0.2) goes first, its pod to n1, the most utilized destination;
	// then n2 (0.3), whose pod no longer fits n1 and lands on "free".
	if reasons["n1"] != ReasonNotUnderutilized || reasons["free"] != ReasonNotAutoscaled {
		t.Fatalf("%+v", r.Unremovable)
	}
	if len(r.Removable) != 2 || r.Removable[0].Node != "n3" || r.Removable[1].Node != "n2" || r.Removable[0].Moves[0].Node != "n1" {
		t.Fatalf("removable %+v", r.Removable)
	}
	// Minimum size: with min 2 only one node may go.
	r, _ = ScaleDown(mk(), []Group{{ID: "g", Min: 2, Max: 5, Target: 3}}, DefaultScaleDown())
	if len(r.Removable) != 1 {
		t.Fatalf("min size: %+v", r.Removable)
	}
	found := false
	for _, u := range r.Unremovable {
		found = found || (u.Node == "n2" && u.Reason == ReasonNodeGroupMinSizeReached)
	}
	if !found {
		t.Fatalf("no min-size reason: %+v", r.Unremovable)
	}
	// Annotation.
	c := mk()
	c.Nodes[2].ScaleDownDisabled = true
	r, _ = ScaleDown(c, gs, DefaultScaleDown())
	for _, u := range r.Unremovable {
		if u.Node == "n3" && u.Reason != ReasonScaleDownDisabledAnnotation {
			t.Fatal(u)
		}
	}
	// No room: n1 is full (900m); n2's pod moves to n3, then n3's two pods
	// fit nowhere.
	c = mk()
	c.Pods[2].Requests.MilliCPU = 450
	c.Nodes[0].Allocatable.MilliCPU = 1000
	c.Pods[0].Requests.MilliCPU = 900
	c.Nodes = c.Nodes[:3]
	r, _ = ScaleDown(c, gs, ScaleDownOptions{Threshold: 0.5})
	blocked := map[string]Unremovable{}
	for _, u := range r.Unremovable {
		blocked[u.Node] = u
	}
	if len(r.Removable) != 1 || r.Removable[0].Node != "n2" || blocked["n3"].Reason != ReasonNoPlaceToMovePods {
		t.Fatalf("removable %+v, unremovable %+v", r.Removable, r.Unremovable)
	}
}

func TestUtilization(t *testing.T) {
	n := node("n1", "a", 2000)
	n.Group = "g"
	ds := pod("ds", 1000, "n1")
	ds.Owner = &Owner{Kind: "DaemonSet", Name: "ds"}
	app := pod("app", 200, "n1")
	app.Requests.Memory = 2 * gib // half of 4 GiB
	c := &Cluster{Nodes: []Node{n}, Pods: []Pod{ds, app}}
	r, _ := ScaleDown(c, []Group{{ID: "g", Max: 1, Target: 1}}, DefaultScaleDown())
	u := r.Utilization[0]
	if u.CPU != 0.6 || u.Memory != 0.75 || u.Utilization != 0.75 || u.Resource != "memory" {
		t.Fatalf("%+v", u)
	}
	o := DefaultScaleDown()
	o.IgnoreDaemonSetsUtilization = true
	r, _ = ScaleDown(c, []Group{{ID: "g", Max: 1, Target: 1}}, o)
	if u := r.Utilization[0]; u.CPU != 0.1 || u.Utilization != 0.5 {
		t.Fatalf("%+v", u)
	}
	gpu := node("g1", "a", 2000)
	gpu.Group = "g"
	gpu.Allocatable.Extended = map[string]int64{"nvidia.com/gpu": 1}
	gp := pod("train", 1900, "g1")
	gp.Requests.Extended = map[string]int64{"nvidia.com/gpu": 0}
	r, _ = ScaleDown(&Cluster{Nodes: []Node{gpu}, Pods: []Pod{gp}}, []Group{{ID: "g", Max: 1, Target: 1}}, DefaultScaleDown())
	if u := r.Utilization[0]; u.Resource != "gpu" || u.Utilization != 0 {
		t.Fatalf("gpu node: %+v", u)
	}
}
