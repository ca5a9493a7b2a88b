package autoscaler

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
)

// scaleDown tracks unneeded nodes and removes those unneeded long enough,
// unless a delay runs.
func (s *step) scaleDown() error {
	obs := s.obs
	s.countPlaced()
	used, busy := s.used, s.busy
	// Held nodes: the newest of each held group.
	held := map[string]bool{}
	for _, h := range s.st.Holds {
		idx := s.nodes[h.Group]
		n := h.Nodes
		for j := len(idx) - 1; j >= 0 && n > 0; j-- {
			if name := obs.Nodes[idx[j]].Name; !held[name] {
				held[name] = true
				n--
			}
		}
	}
	type cand struct {
		i    int
		util float64
	}
	var cands []cand
	for i := range obs.Nodes {
		n := &obs.Nodes[i]
		gi, ok := s.gidx[n.Group]
		if !ok || held[n.Name] {
			delete(s.st.Unneeded, n.Name)
			continue
		}
		g := &s.groups[gi]
		u := util(n.Allocatable, used[i])
		if u <= s.cfg.ScaleDown.Threshold && g.Target-1 >= g.Min {
			cands = append(cands, cand{i, u})
		} else {
			delete(s.st.Unneeded, n.Name)
		}
	}
	for name := range held {
		s.act.Unremovable = append(s.act.Unremovable, simulate.Unremovable{Node: name, Reason: ReasonPreProvisionHold, Pod: -1,
			Detail: "pre-provisioned for a scheduled rise"})
	}
	sort.Slice(s.act.Unremovable, func(i, j int) bool { return s.act.Unremovable[i].Node < s.act.Unremovable[j].Node })
	if len(cands) == 0 {
		return nil
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].util < cands[j].util })
	sel := make([]bool, len(obs.Nodes))
	nonEmpty := 0
	for _, c := range cands {
		e := busy[c.i] == 0
		if e || nonEmpty < s.cfg.ScaleDownNonEmptyCandidatesCount {
			sel[c.i] = true
			if !e {
				nonEmpty++
			}
		}
	}
	rm := s.st.Removal
	var key uint64
	if obs.Version != 0 {
		key = s.removalKey(sel)
	}
	if rm == nil || obs.Version == 0 || rm.Version != obs.Version || rm.Key != key {
		c, orig := s.downCluster(sel)
		r, err := simulate.ScaleDown(c, s.groups, s.cfg.ScaleDown)
		s.buf.release()
		if err != nil {
			return fmt.Errorf("autoscaler: scale-down: %w", err)
		}
		rm = &Removal{Version: obs.Version, Key: key}
		for _, x := range r.Removable {
			rm.Removable = append(rm.Removable, x.Node)
		}
		for _, x := range r.Unremovable {
			if i, ok := s.nodeIdx[x.Node]; ok && x.Reason == simulate.ReasonScaleDownDisabledAnnotation && !obs.Nodes[i].ScaleDownDisabled {
				continue // not a candidate this loop, not annotated
			}
			if x.Pod >= 0 && x.Pod < len(orig) {
				x.Pod = orig[x.Pod] // an index into the observation's pods
			}
			rm.Unremovable = append(rm.Unremovable, x)
		}
		s.st.Removal = rm
	}
	s.act.Unremovable = append(s.act.Unremovable, rm.Unremovable...)
	removable := map[string]bool{}
	for _, n := range rm.Removable {
		removable[n] = true
	}
	for i := range obs.Nodes {
		n := &obs.Nodes[i]
		if !removable[n.Name] || held[n.Name] {
			delete(s.st.Unneeded, n.Name)
		} else if _, ok := s.st.Unneeded[n.Name]; !ok {
			s.st.Unneeded[n.Name] = s.now
		}
	}
	if why := s.cooldown(); why != "" {
		s.act.ScaleDown = why
		return nil
	}
	total, empties, drains := 0, 0, 0
	for i := range obs.Nodes {
		n := &obs.Nodes[i]
		since, ok := s.st.Unneeded[n.Name]
		if !ok || s.now.Sub(since) < s.cfg.ScaleDownUnneededTime || total >= s.cfg.MaxScaleDownParallelism {
			continue
		}
		e := busy[i] == 0
		if (e && empties >= s.cfg.MaxEmptyBulkDelete) || (!e && drains >= s.cfg.MaxDrainParallelism) {
			continue
		}
		g := &s.groups[s.gidx[n.Group]]
		if g.Target-1 < g.Min {
			continue
		}
		g.Target--
		total++
		if e {
			empties++
		} else {
			drains++
		}
		s.act.Deletes = append(s.act.Deletes, Delete{Group: n.Group, Node: n.Name, ProviderID: n.ProviderID, Empty: e,
			Reason: ReasonScaleDown, Message: fmt.Sprintf("node %s unneeded since %s (%d pod(s) to move)",
				n.Name, since.UTC().Format("15:04:05"), busy[i])})
		s.st.LastScaleDown = s.now
	}
	return nil
}

// removalKey digests what the removal simulation reads besides the nodes
// and bound pods (which Observation.Version stands for): the selected
// candidates, the groups as this loop sees them, the DaemonSets, the PDBs
// and the options. FNV-1a of a fixed encoding, so a restored State
// compares equal.
func (s *step) removalKey(sel []bool) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i, ok := range sel {
		if ok {
			binary.LittleEndian.PutUint64(b[:], uint64(i))
			h.Write(b[:])
		}
	}
	h.Write([]byte{0xff})
	for _, p := range s.placed {
		binary.LittleEndian.PutUint64(b[:], uint64(p.pod)<<32|uint64(uint32(p.node)))
		h.Write(b[:])
	}
	h.Write([]byte{0xfe})
	for _, v := range []any{s.groups, s.obs.DaemonSets, s.obs.PDBs, s.cfg.ScaleDown} {
		j, err := json.Marshal(v)
		if err != nil {
			j = []byte(err.Error()) // unreachable for these plain values
		}
		h.Write(j)
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// cooldown names the scale-down delay running at now, "" when none.
func (s *step) cooldown() string {
	st, c := s.st, s.cfg
	switch {
	case !st.LastScaleUp.IsZero() && s.now.Sub(st.LastScaleUp) < c.ScaleDownDelayAfterAdd:
		return ReasonScaleDownInCooldown + ": scale-down-delay-after-add " + c.ScaleDownDelayAfterAdd.String()
	case !st.LastScaleDown.IsZero() && s.now.Sub(st.LastScaleDown) < c.ScaleDownDelayAfterDelete:
		return ReasonScaleDownInCooldown + ": scale-down-delay-after-delete " + c.ScaleDownDelayAfterDelete.String()
	case !st.LastScaleDownFailure.IsZero() && s.now.Sub(st.LastScaleDownFailure) < c.ScaleDownDelayAfterFailure:
		return ReasonScaleDownInCooldown + ": scale-down-delay-after-failure " + c.ScaleDownDelayAfterFailure.String()
	}
	return ""
}

// roomNamespace holds the placeholder pods of downCluster.
const roomNamespace = "autoscaler.kscale.io/room"

// downCluster is the snapshot the removal simulation needs: the selected
// candidates with their pods, the other nodes marked not removable. When
// no pod has inter-pod terms, host ports or extended requests and
// utilization counts every pod, the pods of a node that is not a
// candidate matter only as the room they take and the utilization they
// give it (which orders the destinations), so they are replaced by one
// placeholder pod holding their summed requests: the same removals and
// moves from a far smaller snapshot.
func (s *step) downCluster(sel []bool) (*simulate.Cluster, []int) {
	o := &s.cfg.ScaleDown
	if s.interPod || o.IgnoreDaemonSetsUtilization || o.IgnoreMirrorPodsUtilization {
		c, orig := s.cluster(true)
		for i := range c.Nodes {
			if !sel[i] {
				c.Nodes[i].ScaleDownDisabled = true
			}
		}
		if len(s.placed) > 0 {
			if orig == nil { // the observation's slice: copy before adding
				c.Pods = slices.Clone(c.Pods)
				orig = make([]int, len(c.Pods))
				for i := range orig {
					orig[i] = i
				}
			}
			for _, p := range s.placed {
				c.Pods = append(c.Pods, s.obs.Pods[p.pod])
				c.Pods[len(c.Pods)-1].NodeName = s.obs.Nodes[p.node].Name
				orig = append(orig, p.pod)
			}
		}
		return c, orig
	}
	// The snapshot is built in the loop's scratch buffers, which
	// releaseScratch empties once the simulation has run.
	b := s.buf
	b.nodes = slices.Grow(b.nodes[:0], len(s.obs.Nodes))[:len(s.obs.Nodes)]
	c := &simulate.Cluster{Nodes: b.nodes, DaemonSets: s.obs.DaemonSets, PDBs: s.obs.PDBs}
	for i := range s.obs.Nodes {
		n := &c.Nodes[i]
		*n = s.obs.Nodes[i].Node
		if !sel[i] {
			n.ScaleDownDisabled = true
			if k := s.podsOn[i]; k > 0 {
				n.Allocatable.Pods -= int64(k - 1)
			}
		}
	}
	c.Pods = b.pods[:0]
	var orig []int
	if s.memo.indexed {
		for k, j := range s.memo.onNodeIdx { // the candidates' pods, in order
			if sel[j] {
				i := int(s.memo.onNode[k])
				c.Pods = append(c.Pods, s.obs.Pods[i])
				orig = append(orig, i)
			}
		}
	} else {
		last, take := "", false // pods usually come grouped by node
		for i := range s.obs.Pods {
			p := &s.obs.Pods[i]
			if p.NodeName != last {
				last = p.NodeName
				j, ok := s.nodeIdx[last]
				take = ok && sel[j]
			}
			if take {
				c.Pods = append(c.Pods, *p)
				orig = append(orig, i)
			}
		}
	}
	for _, p := range s.placed { // the pending pods placed on candidates
		if sel[p.node] {
			c.Pods = append(c.Pods, s.obs.Pods[p.pod])
			c.Pods[len(c.Pods)-1].NodeName = s.obs.Nodes[p.node].Name
			orig = append(orig, p.pod)
		}
	}
	for i := range s.obs.Nodes { // then one placeholder per other node with pods
		if !sel[i] && s.podsOn[i] > 0 {
			n := &s.obs.Nodes[i]
			c.Pods = append(c.Pods, simulate.Pod{Namespace: roomNamespace, Name: n.Name, NodeName: n.Name, Requests: s.used[i]})
		}
	}
	b.pods = c.Pods
	return c, orig
}

// scratch holds buffers reused from one removal simulation to the next.
type scratch struct {
	nodes []simulate.Node
	pods  []simulate.Pod
	// The per-node tallies with the placed pending pods (countPlaced).
	used   []nodegroup.Resources
	podsOn []int
	busy   []int
}

// release empties the buffers, so the loop keeps no reference into an
// observation between scans.
func (b *scratch) release() {
	clear(b.nodes[:cap(b.nodes)])
	clear(b.pods[:cap(b.pods)])
}

// countPlaced adds the placed pending pods to their nodes' requests and
// pod counts, on copies: the memo's tallies stay those of the bound pods.
func (s *step) countPlaced() {
	if len(s.placed) == 0 {
		return
	}
	b := s.buf // reused from step to step: a copy per scan would be garbage
	b.used = append(b.used[:0], s.used...)
	b.podsOn = append(b.podsOn[:0], s.podsOn...)
	b.busy = append(b.busy[:0], s.busy...)
	s.used, s.podsOn, s.busy = b.used, b.podsOn, b.busy
	for _, p := range s.placed {
		pod := &s.obs.Pods[p.pod]
		u := &s.used[p.node]
		u.MilliCPU += pod.Requests.MilliCPU
		u.Memory += pod.Requests.Memory
		u.EphemeralStorage += pod.Requests.EphemeralStorage
		s.podsOn[p.node]++
		if !pod.DaemonSet() && !pod.Mirror {
			s.busy[p.node]++
		}
	}
}
