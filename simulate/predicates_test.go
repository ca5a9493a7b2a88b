package simulate

import (
	"testing"

	"github.com/kscale/kscale/nodegroup"
)

// reasonFor is why p (pending) does not fit node with others already
// bound, "" when it fits.
func reasonFor(t *testing.T, nodes []Node, others []Pod, p Pod, node string) string {
	t.Helper()
	c := &Cluster{Nodes: nodes, Pods: append(append([]Pod(nil), others...), p)}
	s, err := newSnapshot(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := s.pegs[s.podPeg[len(c.Pods)-1]]
	n := s.nodes[s.byName[node]]
	r := s.reason(g, n)
	if (r == "") != (s.fits(g, n, 1) == 1) {
		t.Fatalf("reason %q disagrees with fits", r)
	}
	return r
}

func node(name, zone string, cpu int64, labels ...string) Node {
	l := map[string]string{nodegroup.LabelZone: zone, LabelHostname: name}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return Node{Name: name, Labels: l, Allocatable: nodegroup.Resources{MilliCPU: cpu, Memory: 4 * gib, Pods: 3}}
}

func pod(name string, cpu int64, on string, labels ...string) Pod {
	l := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return Pod{Namespace: "default", Name: name, NodeName: on, Labels: l, Requests: nodegroup.Resources{MilliCPU: cpu, Memory: gib}}
}

func TestPredicates(t *testing.T) {
	n1, n2, n3 := node("n1", "a", 2000, "tier", "web", "gen", "5"), node("n2", "a", 2000), node("n3", "b", 2000)
	n1.Allocatable.Extended = map[string]int64{"nvidia.com/gpu": 1}
	nodes := []Node{n1, n2, n3}
	web := Selector{MatchLabels: map[string]string{"app": "web"}}
	with := func(p Pod, f func(*Pod)) Pod { f(&p); return p }
	cases := []struct {
		name   string
		others []Pod
		p      Pod
		node   string
		want   string
	}{
		{"fits", nil, pod("p", 500, ""), "n1", ""},
		{"cpu", []Pod{pod("o", 1800, "n1")}, pod("p", 500, ""), "n1", "Insufficient cpu"},
		{"memory", nil, with(pod("p", 1, ""), func(p *Pod) { p.Requests.Memory = 5 * gib }), "n1", "Insufficient memory"},
		{"max pods", []Pod{pod("a", 1, "n1"), pod("b", 1, "n1"), pod("c", 1, "n1")}, pod("p", 1, ""), "n1", ReasonTooManyPods},
		{"extended", []Pod{with(pod("o", 1, "n1"), func(p *Pod) { p.Requests.Extended = map[string]int64{"nvidia.com/gpu": 1} })},
			with(pod("p", 1, ""), func(p *Pod) { p.Requests.Extended = map[string]int64{"nvidia.com/gpu": 1} }), "n1", "Insufficient nvidia.com/gpu"},
		{"node selector match", nil, with(pod("p", 1, ""), func(p *Pod) { p.NodeSelector = map[string]string{"tier": "web"} }), "n1", ""},
		{"node selector miss", nil, with(pod("p", 1, ""), func(p *Pod) { p.NodeSelector = map[string]string{"tier": "web"} }), "n2", ReasonNodeAffinity},
		{"affinity In", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "tier", Operator: OpIn, Values: []string{"db", "web"}}}}}
		}), "n1", ""},
		{"affinity NotIn", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "tier", Operator: OpNotIn, Values: []string{"web"}}}}}
		}), "n1", ReasonNodeAffinity},
		{"affinity NotIn missing key passes", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "tier", Operator: OpNotIn, Values: []string{"web"}}}}}
		}), "n2", ""},
		{"affinity Exists", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "tier", Operator: OpExists}}}}
		}), "n2", ReasonNodeAffinity},
		{"affinity DoesNotExist", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "tier", Operator: OpDoesNotExist}}}}
		}), "n2", ""},
		{"affinity Gt", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "gen", Operator: OpGt, Values: []string{"4"}}}}}
		}), "n1", ""},
		{"affinity Lt", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "gen", Operator: OpLt, Values: []string{"5"}}}}}
		}), "n1", ReasonNodeAffinity},
		{"affinity terms are ORed", nil, with(pod("p", 1, ""), func(p *Pod) {
			p.NodeAffinity = []NodeSelectorTerm{{Labels: []Requirement{{Key: "tier", Operator: OpIn, Values: []string{"db"}}}},
				{Fields: []Requirement{{Key: "metadata.name", Operator: OpIn, Values: []string{"n2"}}}}}
		}), "n2", ""},
		{"host port clash", []Pod{with(pod("o", 1, "n1"), func(p *Pod) { p.HostPorts = []HostPort{{Port: 80, IP: "10.0.0.1"}} })},
			with(pod("p", 1, ""), func(p *Pod) { p.HostPorts = []HostPort{{Port: 80}} }), "n1", ReasonPorts},
		{"host port other protocol", []Pod{with(pod("o", 1, "n1"), func(p *Pod) { p.HostPorts = []HostPort{{Port: 80}} })},
			with(pod("p", 1, ""), func(p *Pod) { p.HostPorts = []HostPort{{Port: 80, Protocol: "UDP"}} }), "n1", ""},
		{"host port other address", []Pod{with(pod("o", 1, "n1"), func(p *Pod) { p.HostPorts = []HostPort{{Port: 80, IP: "10.0.0.1"}} })},
			with(pod("p", 1, ""), func(p *Pod) { p.HostPorts = []HostPort{{Port: 80, IP: "10.0.0.2"}} }), "n1", ""},
		{"anti-affinity hostname", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, ""), func(p *Pod) { p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: web}} }), "n1", ReasonAntiAffinity},
		{"anti-affinity hostname other node", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, ""), func(p *Pod) { p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: web}} }), "n2", ""},
		{"anti-affinity zone", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, ""), func(p *Pod) { p.AntiAffinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: web}} }), "n2", ReasonAntiAffinity},
		{"anti-affinity other namespace", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, ""), func(p *Pod) {
				p.AntiAffinity = []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: web, Namespaces: []string{"other"}}}
			}), "n1", ""},
		{"existing pod's anti-affinity", []Pod{with(pod("o", 1, "n1"), func(p *Pod) {
			p.AntiAffinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: web}}
		})}, pod("p", 1, "", "app", "web"), "n2", ReasonExistingAnti},
		{"affinity zone satisfied", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, ""), func(p *Pod) { p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: web}} }), "n2", ""},
		{"affinity zone unsatisfied", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, ""), func(p *Pod) { p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: web}} }), "n3", ReasonAffinity},
		{"affinity first pod of a self-affine set", nil,
			with(pod("p", 1, "", "app", "web"), func(p *Pod) { p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: web}} }), "n3", ""},
		{"affinity with no match and no self match", nil,
			with(pod("p", 1, ""), func(p *Pod) { p.Affinity = []PodAffinityTerm{{TopologyKey: nodegroup.LabelZone, Selector: web}} }), "n3", ReasonAffinity},
		{"spread hostname within skew", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, "", "app", "web"), func(p *Pod) {
				p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: web}}
			}), "n2", ""},
		{"spread hostname over skew", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, "", "app", "web"), func(p *Pod) {
				p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: web}}
			}), "n1", ReasonSpread},
		{"spread zone counts the domain", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, "", "app", "web"), func(p *Pod) {
				p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: web}}
			}), "n2", ReasonSpread},
		{"spread only on nodes the pod may use", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, "", "app", "web"), func(p *Pod) {
				p.NodeSelector = map[string]string{"tier": "web"}
				p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: web}}
			}), "n1", ""},
		{"spread minDomains", []Pod{pod("o", 1, "n1", "app", "web")},
			with(pod("p", 1, "", "app", "web"), func(p *Pod) {
				p.NodeSelector = map[string]string{"tier": "web"}
				p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: LabelHostname, Selector: web, MinDomains: 2}}
			}), "n1", ReasonSpread},
		{"spread missing key", nil,
			with(pod("p", 1, ""), func(p *Pod) { p.Spread = []SpreadConstraint{{MaxSkew: 1, TopologyKey: "rack", Selector: web}} }), "n1", ReasonSpreadMissingKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := reasonFor(t, nodes, tc.others, tc.p, tc.node); got != tc.want {
				t.Fatalf("reason %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTaints(t *testing.T) {
	tainted := func(effect string) []Node {
		n := node("n1", "a", 1000)
		n.Taints = []nodegroup.Taint{{Key: "dedicated", Value: "gpu", Effect: effect}}
		return []Node{n}
	}
	tol := func(ts ...Toleration) Pod { p := pod("p", 1, ""); p.Tolerations = ts; return p }
	cases := []struct {
		name   string
		effect string
		p      Pod
		want   bool
	}{
		{"NoSchedule blocks", "NoSchedule", tol(), false},
		{"NoExecute blocks", "NoExecute", tol(), false},
		{"PreferNoSchedule does not", "PreferNoSchedule", tol(), true},
		{"Equal with value", "NoSchedule", tol(Toleration{Key: "dedicated", Value: "gpu"}), true},
		{"Equal wrong value", "NoSchedule", tol(Toleration{Key: "dedicated", Value: "cpu"}), false},
		{"Exists", "NoExecute", tol(Toleration{Key: "dedicated", Operator: "Exists"}), true},
		{"wrong effect", "NoExecute", tol(Toleration{Key: "dedicated", Operator: "Exists", Effect: "NoSchedule"}), false},
		{"empty key Exists tolerates all", "NoSchedule", tol(Toleration{Operator: "Exists"}), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := reasonFor(t, tainted(tc.effect), nil, tc.p, "n1")
			if (r == "") != tc.want {
				t.Fatalf("reason %q, want fit %v", r, tc.want)
			}
		})
	}
	cordoned := node("n1", "a", 1000)
	cordoned.Unschedulable = true
	if r := reasonFor(t, []Node{cordoned}, nil, pod("p", 1, ""), "n1"); r != ReasonUnschedulable {
		t.Fatalf("cordoned: %q", r)
	}
}
