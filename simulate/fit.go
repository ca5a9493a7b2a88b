package simulate

import (
	"errors"
	"fmt"
)

// Reasons a pod does not fit a node, worded as kube-scheduler's filter
// plugins word them.
const (
	ReasonNodeAffinity      = "node(s) didn't match Pod's node affinity/selector"
	ReasonUnschedulable     = "node(s) were unschedulable"
	ReasonPorts             = "node(s) didn't have free ports for the requested pod ports"
	ReasonAffinity          = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinity      = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAnti      = "node(s) didn't satisfy existing pods anti-affinity rules"
	ReasonSpread            = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadMissingKey  = "node(s) didn't match pod topology spread constraints (missing required label)"
	ReasonTooManyPods       = "Too many pods"
	reasonInsufficientStart = "Insufficient "
)

func (p *Pod) validate() error {
	var errs []error
	r := &p.Requests
	if r.MilliCPU < 0 || r.Memory < 0 || r.EphemeralStorage < 0 {
		errs = append(errs, errors.New("negative request"))
	}
	for k, v := range r.Extended {
		if v < 0 {
			errs = append(errs, fmt.Errorf("negative request of %s", k))
		}
	}
	for i := range p.NodeAffinity {
		for j := range p.NodeAffinity[i].Labels {
			if err := p.NodeAffinity[i].Labels[j].validate(false); err != nil {
				errs = append(errs, fmt.Errorf("nodeAffinity[%d]: %w", i, err))
			}
		}
		for j := range p.NodeAffinity[i].Fields {
			if err := p.NodeAffinity[i].Fields[j].validate(true); err != nil {
				errs = append(errs, fmt.Errorf("nodeAffinity[%d]: %w", i, err))
			}
		}
	}
	terms := func(name string, ts []PodAffinityTerm) {
		for i := range ts {
			if ts[i].TopologyKey == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: empty topologyKey", name, i))
			}
			if err := ts[i].Selector.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", name, i, err))
			}
		}
	}
	terms("affinity", p.Affinity)
	terms("antiAffinity", p.AntiAffinity)
	for i := range p.Spread {
		c := &p.Spread[i]
		if c.MaxSkew < 1 {
			errs = append(errs, fmt.Errorf("spread[%d]: maxSkew %d must be at least 1", i, c.MaxSkew))
		}
		if c.MinDomains < 0 {
			errs = append(errs, fmt.Errorf("spread[%d]: negative minDomains", i))
		}
		if c.TopologyKey == "" {
			errs = append(errs, fmt.Errorf("spread[%d]: empty topologyKey", i))
		}
		if err := c.Selector.validate(); err != nil {
			errs = append(errs, fmt.Errorf("spread[%d]: %w", i, err))
		}
	}
	for i, h := range p.HostPorts {
		if h.Port < 1 || h.Port > 65535 {
			errs = append(errs, fmt.Errorf("hostPorts[%d]: port %d out of range", i, h.Port))
		}
	}
	return errors.Join(errs...)
}

// staticReason is why pod p cannot go on node n whatever else runs there
// (node selection, taints, cordon), or "".
func staticReason(p *Pod, n *snode) string {
	if n.cordoned && !tolerates(p.Tolerations, "node.kubernetes.io/unschedulable", "", "NoSchedule") {
		return ReasonUnschedulable
	}
	if !p.nodeMatches(n.name, n.labels) {
		return ReasonNodeAffinity
	}
	for _, t := range n.taints {
		if (t.Effect == "NoSchedule" || t.Effect == "NoExecute") && !tolerates(p.Tolerations, t.Key, t.Value, t.Effect) {
			return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
		}
	}
	return ""
}

// staticOK is staticReason == "" cached per node class.
func (s *snapshot) staticOK(g *peg, n *snode) bool {
	if g.perNode {
		return staticReason(g.ex, n) == ""
	}
	for n.class >= len(g.static) {
		g.static = append(g.static, 0)
	}
	switch g.static[n.class] {
	case 1:
		return true
	case 2:
		return false
	}
	ok := staticReason(g.ex, n) == ""
	if ok {
		g.static[n.class] = 1
	} else {
		g.static[n.class] = 2
	}
	return ok
}

// interReason checks host ports, inter-pod affinity and topology spread for
// one more pod of g on n.
func (s *snapshot) interReason(g *peg, n *snode) string {
	for _, want := range g.ports {
		for _, have := range n.ports {
			if portsConflict(want, have) {
				return ReasonPorts
			}
		}
	}
	if len(g.aff) > 0 {
		ok := true
		for _, ti := range g.aff {
			t := s.trackers[ti]
			if d := n.dom[t.key]; d < 0 || t.counts[d] == 0 {
				ok = false
				break
			}
		}
		if !ok {
			// The first pod of a self-affine set may go anywhere its terms'
			// keys exist when nothing in the cluster matches yet.
			none := g.affSelf
			for _, ti := range g.aff {
				t := s.trackers[ti]
				if t.total > 0 || n.dom[t.key] < 0 {
					none = false
				}
			}
			if !none {
				return ReasonAffinity
			}
		}
	}
	for _, ti := range g.anti {
		t := s.trackers[ti]
		if d := n.dom[t.key]; d >= 0 && t.counts[d] > 0 {
			return ReasonAntiAffinity
		}
	}
	for _, ti := range g.symAnti {
		t := s.trackers[ti]
		if d := n.dom[t.key]; d >= 0 && t.counts[d] > 0 {
			return ReasonExistingAnti
		}
	}
	for _, sp := range g.spread {
		t := s.trackers[sp.tracker]
		d := n.dom[t.key]
		if d < 0 {
			return ReasonSpreadMissingKey
		}
		minv := t.minv
		if t.nelig < sp.minDomains {
			minv = 0
		}
		if t.counts[d]+sp.self-minv > sp.maxSkew {
			return ReasonSpread
		}
	}
	return ""
}

// reason is why one more pod of g does not fit n, or "".
func (s *snapshot) reason(g *peg, n *snode) string {
	if r := staticReason(g.ex, n); r != "" {
		return r
	}
	free := n.free()
	if i := firstShort(&free, &g.req); i >= 0 {
		if i == dimPods {
			return ReasonTooManyPods
		}
		return reasonInsufficientStart + s.d.name(i)
	}
	return s.interReason(g, n)
}

// fits is how many more pods of g fit on n, up to limit: any number for a
// simple group, at most one otherwise (one at a time keeps inter-pod
// counts exact).
func (s *snapshot) fits(g *peg, n *snode, limit int) int {
	if n.removed || !s.staticOK(g, n) {
		return 0
	}
	free := n.free()
	if g.simple {
		return fitCount(&free, &g.req, limit)
	}
	if fitCount(&free, &g.req, 1) == 0 || s.interReason(g, n) != "" {
		return 0
	}
	return 1
}
