package simulate

import (
	"sort"
	"strconv"
)

// peg is a pod equivalence group: pods whose scheduling-relevant fields are
// identical (namespace, labels, requests, priority, node selection,
// tolerations, host ports, inter-pod terms and spread constraints), so one
// placement check answers for all of them. Names, owners and eviction
// fields do not matter to placement and are not part of the key.
type peg struct {
	id      int
	ex      *Pod
	req     vec
	members []int32 // indices into the pods of the snapshot

	static   []int8 // per node class: 0 unknown, 1 fits, 2 does not
	perNode  bool   // node affinity names fields: no class cache
	aff      []int  // trackers of required affinity terms
	affSelf  bool   // the pod matches every one of its own affinity terms
	anti     []int  // trackers of own anti-affinity terms
	symAnti  []int  // trackers of other pods' anti-affinity terms selecting this pod
	spread   []spreadRef
	contrib  []int // trackers counting pods of this group
	ports    []HostPort
	simple   bool // no inter-pod checks and no ports: bulk placement
	priority int32
}

type spreadRef struct {
	tracker    int
	maxSkew    int32
	minDomains int32
	self       int32
}

// pegKey appends the equivalence key of p to b.
func pegKey(b []byte, p *Pod, scratch []string) ([]byte, []string) {
	str := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	num := func(v int64) {
		b = strconv.AppendInt(b, v, 10)
		b = append(b, ',')
	}
	smap := func(m map[string]string) {
		scratch = scratch[:0]
		for k := range m {
			scratch = append(scratch, k)
		}
		sort.Strings(scratch)
		num(int64(len(scratch)))
		for _, k := range scratch {
			str(k)
			str(m[k])
		}
	}
	reqs := func(rs []Requirement) {
		num(int64(len(rs)))
		for _, r := range rs {
			str(r.Key)
			str(string(r.Operator))
			num(int64(len(r.Values)))
			for _, v := range r.Values {
				str(v)
			}
		}
	}
	sel := func(s *Selector) {
		smap(s.MatchLabels)
		reqs(s.Match)
	}
	terms := func(ts []PodAffinityTerm) {
		num(int64(len(ts)))
		for i := range ts {
			sel(&ts[i].Selector)
			num(int64(len(ts[i].Namespaces)))
			for _, n := range ts[i].Namespaces {
				str(n)
			}
			str(ts[i].TopologyKey)
		}
	}
	str(p.Namespace)
	smap(p.Labels)
	r := &p.Requests
	num(r.MilliCPU)
	num(r.Memory)
	num(r.EphemeralStorage)
	if len(r.Extended) > 0 {
		scratch = scratch[:0]
		for k := range r.Extended {
			scratch = append(scratch, k)
		}
		sort.Strings(scratch)
		for _, k := range scratch {
			str(k)
			num(r.Extended[k])
		}
	}
	b = append(b, '|')
	num(int64(p.Priority))
	smap(p.NodeSelector)
	num(int64(len(p.NodeAffinity)))
	for i := range p.NodeAffinity {
		reqs(p.NodeAffinity[i].Labels)
		reqs(p.NodeAffinity[i].Fields)
	}
	num(int64(len(p.Tolerations)))
	for _, t := range p.Tolerations {
		str(t.Key)
		str(t.Operator)
		str(t.Value)
		str(t.Effect)
	}
	num(int64(len(p.HostPorts)))
	for _, h := range p.HostPorts {
		num(int64(h.Port))
		str(h.Protocol)
		str(h.IP)
	}
	terms(p.Affinity)
	terms(p.AntiAffinity)
	num(int64(len(p.Spread)))
	for i := range p.Spread {
		s := &p.Spread[i]
		num(int64(s.MaxSkew))
		num(int64(s.MinDomains))
		str(s.TopologyKey)
		sel(&s.Selector)
	}
	return b, scratch
}

// groupPods forms the equivalence groups of pods, in order of first
// appearance, and returns each pod's group.
func groupPods(pods []*Pod) (groups [][]int32, of []int32) {
	index := make(map[string]int32, 16)
	of = make([]int32, len(pods))
	var buf []byte
	var scratch []string
	for i := range pods {
		buf, scratch = pegKey(buf[:0], pods[i], scratch)
		g, ok := index[string(buf)]
		if !ok {
			g = int32(len(groups))
			index[string(buf)] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], int32(i))
		of[i] = g
	}
	return groups, of
}
