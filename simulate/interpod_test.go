package simulate

import (
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

// The cases below follow kube-scheduler's interpodaffinity filter
// (filtering.go): for the incoming pod's required affinity, an existing pod
// counts only when it matches every term (podMatchesAllAffinityTerms), and
// then for every term whose key its node has, per (key, value); the node
// must have every term's key and a positive count for each; when some
// count is missing the pod still passes if nothing counted anywhere and it
// matches all its own terms. Anti-affinity, both directions, is per term.

func rackNode(name, zone, rack string) Node {
	n := node(name, zone, 4000)
	if rack != "" {
		n.Labels["rack"] = rack
	}
	n.Allocatable.Pods = 110
	return n
}

func sel(kv ...string) Selector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return Selector{MatchLabels: m}
}

func inNamespace(p Pod, ns string) Pod { p.Namespace = ns; return p }

func TestAffinityEveryTermOnePod(t *testing.T) {
	n1, n2 := rackNode("n1", "a", "r1"), rackNode("n2", "a", "r2")
	nodes := []Node{n1, n2}
	twoTerms := func(p Pod) Pod {
		p.Affinity = []PodAffinityTerm{
			{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "web")},
			{TopologyKey: nodegroup.LabelZone, Selector: sel("tier", "front")},
		}
		return p
	}
	webOnly := pod("w", 100, "n1", "app", "web")
	frontOnly := pod("f", 100, "n1", "tier", "front")
	both := pod("b", 100, "n2", "app", "web", "tier", "front")
	cases := []struct {
		name   string
		others []Pod
		p      Pod
		node   string
		want   string
	}{
		// Term 1 met by one pod, term 2 by another: nobody matches both,
		// and the pod does not match its own terms.
		{"split across pods", []Pod{webOnly, frontOnly}, twoTerms(pod("p", 100, "")), "n1", ReasonAffinity},
		// Same, but the pod matches both its terms and nothing matches all
		// of them: the first pod of its set may go anywhere.
		{"split, self-affine", []Pod{webOnly, frontOnly}, twoTerms(pod("p", 100, "", "app", "web", "tier", "front")), "n1", ""},
		// Another pod matches only one term: it does not count, so the
		// self-affine pod is still the first of its set.
		{"one term matched elsewhere, self-affine", []Pod{webOnly}, twoTerms(pod("p", 100, "", "app", "web", "tier", "front")), "n2", ""},
		// A pod that matches both terms counts for each.
		{"one pod matches both", []Pod{both}, twoTerms(pod("p", 100, "")), "n1", ""},
		// Once something matches all terms, the self-affine exception is
		// gone: a node in another zone is refused.
		{"matched, other zone", []Pod{both}, twoTerms(pod("p", 100, "", "app", "web", "tier", "front")), "n3", ReasonAffinity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all := append(append([]Node(nil), nodes...), rackNode("n3", "b", "r3"))
			if got := reasonFor(t, all, c.others, c.p, c.node); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestAffinityThreeTermsAndKeys(t *testing.T) {
	// Terms on zone, rack and hostname, all selecting app=db.
	terms := []PodAffinityTerm{
		{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db")},
		{TopologyKey: "rack", Selector: sel("app", "db")},
		{TopologyKey: LabelHostname, Selector: sel("app", "db", "role", "primary")},
	}
	with := func(p Pod) Pod { p.Affinity = terms; return p }
	nodes := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "a", "r2"), rackNode("n3", "b", "r1"), rackNode("n4", "a", "")}
	primary := pod("db0", 100, "n1", "app", "db", "role", "primary")
	replica := pod("db1", 100, "n2", "app", "db")
	cases := []struct {
		name   string
		others []Pod
		node   string
		want   string
	}{
		{"all three domains shared", []Pod{primary}, "n1", ""},
		{"zone shared, rack and host not", []Pod{primary}, "n2", ReasonAffinity},
		{"rack shared, zone not", []Pod{primary}, "n3", ReasonAffinity},
		// The replica matches two terms of three: it never counts, even
		// on its own node.
		{"partial match counts nowhere", []Pod{primary, replica}, "n2", ReasonAffinity},
		// A node without one of the keys is refused outright.
		{"missing key", []Pod{primary}, "n4", ReasonAffinity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := reasonFor(t, nodes, c.others, with(pod("p", 100, "")), c.node); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	// Counts are per (key, value): two pods matching all terms, each in
	// its own zone and rack, make a node that shares the zone of one and
	// the rack of the other pass.
	zr := []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db")}, {TopologyKey: "rack", Selector: sel("app", "db")}}
	p := pod("p", 100, "")
	p.Affinity = zr
	nodes = []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2"), rackNode("n3", "a", "r2"), rackNode("n4", "c", "r3")}
	others := []Pod{pod("x", 100, "n1", "app", "db"), pod("y", 100, "n2", "app", "db")}
	if got := reasonFor(t, nodes, others, p, "n3"); got != "" {
		t.Fatalf("zone of one, rack of the other: got %q", got)
	}
	if got := reasonFor(t, nodes, others, p, "n4"); got != ReasonAffinity {
		t.Fatalf("neither: got %q", got)
	}
}

func TestAffinityFirstPodException(t *testing.T) {
	terms := []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db")}, {TopologyKey: "rack", Selector: sel("app", "db")}}
	self := pod("p", 100, "", "app", "db")
	self.Affinity = terms
	// A matching pod on a node with neither key leaves every count empty:
	// the exception holds.
	bare := Node{Name: "bare", Labels: map[string]string{LabelHostname: "bare"}, Allocatable: nodegroup.Resources{MilliCPU: 4000, Memory: 4 * gib, Pods: 110}}
	nodes := []Node{rackNode("n1", "a", "r1"), bare, rackNode("n2", "b", "")}
	if got := reasonFor(t, nodes, []Pod{pod("x", 100, "bare", "app", "db")}, self, "n1"); got != "" {
		t.Fatalf("matching pod on a node without the keys: got %q", got)
	}
	// On a node with one key (zone only), the zone pair is counted: no
	// exception, and the rack count is empty everywhere.
	if got := reasonFor(t, nodes, []Pod{pod("x", 100, "n2", "app", "db")}, self, "n1"); got != ReasonAffinity {
		t.Fatalf("matching pod on a node with one key: got %q", got)
	}
	// The exception needs every key on the candidate node.
	if got := reasonFor(t, nodes, nil, self, "n2"); got != ReasonAffinity {
		t.Fatalf("candidate lacks rack: got %q", got)
	}
}

func TestAffinityNamespaces(t *testing.T) {
	nodes := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2")}
	term := PodAffinityTerm{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db")}
	p := pod("p", 100, "")
	p.Affinity = []PodAffinityTerm{term}
	dbOther := inNamespace(pod("db", 100, "n1", "app", "db"), "other")
	// Without namespaces the term looks in the pod's own namespace only.
	if got := reasonFor(t, nodes, []Pod{dbOther}, p, "n1"); got != ReasonAffinity {
		t.Fatalf("pod in another namespace counted: %q", got)
	}
	p.Affinity[0].Namespaces = []string{"other"}
	if got := reasonFor(t, nodes, []Pod{dbOther}, p, "n1"); got != "" {
		t.Fatalf("listed namespace not counted: %q", got)
	}
	// Two terms in different namespaces: one pod cannot match both, so
	// nothing counts even with a match for each.
	p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db"), Namespaces: []string{"other"}},
		{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db")}}
	dbHere := pod("db2", 100, "n1", "app", "db")
	if got := reasonFor(t, nodes, []Pod{dbOther, dbHere}, p, "n1"); got != ReasonAffinity {
		t.Fatalf("terms in two namespaces: got %q", got)
	}
	// The first-pod exception needs the pod's own namespace in every
	// term: a self-selecting pod whose term names another namespace is
	// refused when nothing matches.
	self := pod("s", 100, "", "app", "db")
	self.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "db"), Namespaces: []string{"other"}}}
	if got := reasonFor(t, nodes, nil, self, "n1"); got != ReasonAffinity {
		t.Fatalf("self-affine across namespaces: got %q", got)
	}
}

func TestAntiAffinityPerTerm(t *testing.T) {
	nodes := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "a", "r2"), rackNode("n3", "b", "r3"), rackNode("n4", "c", "r4")}
	p := pod("p", 100, "")
	p.AntiAffinity = []PodAffinityTerm{
		{TopologyKey: LabelHostname, Selector: sel("app", "a")},
		{TopologyKey: nodegroup.LabelZone, Selector: sel("app", "b")},
		{TopologyKey: "rack", Selector: sel("app", "c")},
	}
	others := []Pod{pod("a", 100, "n2", "app", "a"), pod("b", 100, "n3", "app", "b"), pod("c", 100, "n4", "app", "c")}
	for node, want := range map[string]string{
		"n1": "",                 // zone a holds no app=b, host n1 no app=a, rack r1 no app=c
		"n2": ReasonAntiAffinity, // hostname term
		"n3": ReasonAntiAffinity, // zone term
		"n4": ReasonAntiAffinity, // rack term
	} {
		if got := reasonFor(t, nodes, others, p, node); got != want {
			t.Fatalf("%s: got %q, want %q", node, got, want)
		}
	}
	// Symmetric: an existing pod's terms, each on its own, against the
	// incoming pod, in the existing pod's namespace unless listed.
	guard := pod("g", 100, "n1", "app", "guard")
	guard.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: sel("app", "x")}, {TopologyKey: nodegroup.LabelZone, Selector: sel("app", "y")}}
	y := pod("y", 100, "", "app", "y")
	if got := reasonFor(t, nodes, []Pod{guard}, y, "n2"); got != ReasonExistingAnti {
		t.Fatalf("second term of an existing pod: got %q", got)
	}
	if got := reasonFor(t, nodes, []Pod{guard}, y, "n3"); got != "" {
		t.Fatalf("other zone: got %q", got)
	}
	if got := reasonFor(t, nodes, []Pod{guard}, inNamespace(y, "other"), "n2"); got != "" {
		t.Fatalf("incoming pod in another namespace: got %q", got)
	}
	guard.AntiAffinity[1].Namespaces = []string{"other"}
	if got := reasonFor(t, nodes, []Pod{guard}, inNamespace(y, "other"), "n2"); got != ReasonExistingAnti {
		t.Fatalf("listed namespace: got %q", got)
	}
}
