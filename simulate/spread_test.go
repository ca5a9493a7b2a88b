package simulate

import (
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

// The cases below follow kube-scheduler's podtopologyspread filter
// (filtering.go, common.go): a node takes part in the counts of a pod's
// constraints only if it passes the pod's node selection and carries the
// keys of all its DoNotSchedule constraints (nodeLabelsMatchSpreadConstraints);
// the global minimum is over those nodes' domains, 0 when fewer than
// minDomains.

func zoneRackSpread(p Pod, minDomains int32) Pod {
	s := sel("app", "s")
	p.Spread = []SpreadConstraint{
		{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: s, MinDomains: minDomains},
		{MaxSkew: 1, TopologyKey: "rack", Selector: s},
	}
	return p
}

func TestSpreadNodeNeedsEveryKey(t *testing.T) {
	// n3 has a zone but no rack: it is left out of the zone counts too, so
	// zone c is no domain and the zone minimum is 1, not 0.
	nodes := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2"), rackNode("n3", "c", "")}
	others := []Pod{pod("s1", 100, "n1", "app", "s"), pod("s2", 100, "n2", "app", "s")}
	p := zoneRackSpread(pod("p", 100, "", "app", "s"), 0)
	if got := reasonFor(t, nodes, others, p, "n1"); got != "" {
		t.Fatalf("n1: got %q, want a fit (zone c is not a domain)", got)
	}
	if got := reasonFor(t, nodes, others, p, "n3"); got != ReasonSpreadMissingKey {
		t.Fatalf("n3: got %q", got)
	}
	// With a rack on n3, zone c is an empty domain and n1 breaks the skew.
	nodes[2] = rackNode("n3", "c", "r3")
	if got := reasonFor(t, nodes, others, p, "n1"); got != ReasonSpread {
		t.Fatalf("n1 with zone c counted: got %q", got)
	}
}

func TestSpreadMinDomainsSeveralConstraints(t *testing.T) {
	// Three zones, one pod each; minDomains 3 on the zone constraint.
	others := []Pod{pod("s1", 100, "n1", "app", "s"), pod("s2", 100, "n2", "app", "s"), pod("s3", 100, "n3", "app", "s")}
	p := zoneRackSpread(pod("p", 100, "", "app", "s"), 3)
	full := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2"), rackNode("n3", "c", "r3")}
	if got := reasonFor(t, full, others, p, "n1"); got != "" {
		t.Fatalf("three eligible zones: got %q", got)
	}
	// n3 without a rack: two eligible zones < minDomains, the minimum
	// drops to 0 and stacking a second pod in zone a breaks the skew.
	short := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2"), rackNode("n3", "c", "")}
	if got := reasonFor(t, short, others, p, "n1"); got != ReasonSpread {
		t.Fatalf("two eligible zones: got %q", got)
	}
}

// A pod with a deletion timestamp is left out of spread counts (upstream:
// "Bypass terminating Pod") but still holds its resources.
func TestSpreadSkipsDeletingPods(t *testing.T) {
	nodes := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2")}
	gone := pod("s0", 100, "n1", "app", "s")
	gone.Deleting = true
	p := pod("p", 100, "", "app", "s")
	p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: sel("app", "s")}}
	others := []Pod{gone, pod("s1", 100, "n1", "app", "s")}
	// Counted: a=1 (s1 only), b=0 → a gets 1+1-0 = 2 > 1; b fits.
	if got := reasonFor(t, nodes, others, p, "n1"); got != ReasonSpread {
		t.Fatalf("n1: got %q", got)
	}
	others[1].Deleting = true
	if got := reasonFor(t, nodes, others, p, "n1"); got != "" {
		t.Fatalf("both deleting: got %q", got)
	}
	big := pod("p2", 3500, "", "app", "t")
	big.Requests.MilliCPU = 3900
	if got := reasonFor(t, nodes, others, big, "n1"); got != "Insufficient cpu" {
		t.Fatalf("a deleting pod keeps its resources: got %q", got)
	}
}

func TestSpreadKeysAndNodeSelection(t *testing.T) {
	// Only nodes passing the pod's node selection count, and among them
	// only those with both keys.
	nodes := []Node{rackNode("n1", "a", "r1"), rackNode("n2", "b", "r2"), rackNode("n3", "c", ""), rackNode("n4", "d", "r4")}
	nodes[3].Labels["pool"] = "other"
	for i := range nodes[:3] {
		nodes[i].Labels["pool"] = "main"
	}
	others := []Pod{pod("s1", 100, "n1", "app", "s"), pod("s2", 100, "n2", "app", "s")}
	p := zoneRackSpread(pod("p", 100, "", "app", "s"), 0)
	p.NodeSelector = map[string]string{"pool": "main"}
	if got := reasonFor(t, nodes, others, p, "n1"); got != "" {
		t.Fatalf("n4 (other pool) and n3 (no rack) must not count: got %q", got)
	}
}
