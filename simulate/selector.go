package simulate

import (
	"fmt"
	"strconv"
)

// matches reports whether labels satisfy the requirement, with the
// semantics of k8s.io/apimachinery/pkg/labels (Gt/Lt compare integers; a
// missing key fails In, Exists, Gt and Lt and passes NotIn, DoesNotExist).
func (r *Requirement) matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case OpIn:
		return ok && contains(r.Values, v)
	case OpNotIn:
		return !ok || !contains(r.Values, v)
	case OpExists:
		return ok
	case OpDoesNotExist:
		return !ok
	case OpGt, OpLt:
		if !ok || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == OpGt {
			return have > want
		}
		return have < want
	}
	return false
}

func (r *Requirement) validate(field bool) error {
	switch r.Operator {
	case OpIn, OpNotIn:
		if len(r.Values) == 0 {
			return fmt.Errorf("requirement %q %s needs values", r.Key, r.Operator)
		}
		if field && len(r.Values) != 1 {
			return fmt.Errorf("field requirement %q %s needs exactly one value", r.Key, r.Operator)
		}
	case OpExists, OpDoesNotExist:
		if field {
			return fmt.Errorf("field requirement %q: operator %s is not allowed", r.Key, r.Operator)
		}
		if len(r.Values) != 0 {
			return fmt.Errorf("requirement %q %s takes no values", r.Key, r.Operator)
		}
	case OpGt, OpLt:
		if field || len(r.Values) != 1 {
			return fmt.Errorf("requirement %q %s needs one integer value", r.Key, r.Operator)
		}
		if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			return fmt.Errorf("requirement %q %s: %q is not an integer", r.Key, r.Operator, r.Values[0])
		}
	default:
		return fmt.Errorf("requirement %q: unknown operator %q", r.Key, r.Operator)
	}
	if field && r.Key != "metadata.name" {
		return fmt.Errorf("field requirement on %q: only metadata.name is supported", r.Key)
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// matches reports whether the selector selects a pod with these labels.
func (s *Selector) matches(labels map[string]string) bool {
	for k, v := range s.MatchLabels {
		if have, ok := labels[k]; !ok || have != v {
			return false
		}
	}
	for i := range s.Match {
		if !s.Match[i].matches(labels) {
			return false
		}
	}
	return true
}

func (s *Selector) validate() error {
	for i := range s.Match {
		r := &s.Match[i]
		if r.Operator == OpGt || r.Operator == OpLt {
			return fmt.Errorf("label selector: operator %s is not allowed", r.Operator)
		}
		if err := r.validate(false); err != nil {
			return err
		}
	}
	return nil
}

// nodeMatches reports whether a node with this name and labels passes the
// pod's nodeSelector and required node affinity.
func (p *Pod) nodeMatches(name string, labels map[string]string) bool {
	for k, v := range p.NodeSelector {
		if have, ok := labels[k]; !ok || have != v {
			return false
		}
	}
	if len(p.NodeAffinity) == 0 {
		return true
	}
	for i := range p.NodeAffinity {
		if p.NodeAffinity[i].matches(name, labels) {
			return true
		}
	}
	return false
}

func (t *NodeSelectorTerm) matches(name string, labels map[string]string) bool {
	if len(t.Labels) == 0 && len(t.Fields) == 0 {
		return false // an empty term matches nothing, as in the scheduler
	}
	for i := range t.Labels {
		if !t.Labels[i].matches(labels) {
			return false
		}
	}
	for i := range t.Fields {
		if !t.Fields[i].matches(map[string]string{"metadata.name": name}) {
			return false
		}
	}
	return true
}

// termNamespaces is the set of namespaces a term applies to.
func termNamespaces(t *PodAffinityTerm, own string) []string {
	if len(t.Namespaces) == 0 {
		return []string{own}
	}
	return t.Namespaces
}

// tolerates reports whether the tolerations admit the taint.
func tolerates(tols []Toleration, key, value, effect string) bool {
	for i := range tols {
		t := &tols[i]
		if t.Effect != "" && t.Effect != effect {
			continue
		}
		if t.Key == "" && t.Operator == "Exists" {
			return true
		}
		if t.Key != key {
			continue
		}
		switch t.Operator {
		case "Exists":
			return true
		case "", "Equal":
			if t.Value == value {
				return true
			}
		}
	}
	return false
}

// portsConflict reports whether two host ports collide: same port and
// protocol, and the same address or either one bound to every address.
func portsConflict(a, b HostPort) bool {
	if a.Port != b.Port || proto(a.Protocol) != proto(b.Protocol) {
		return false
	}
	return wildcard(a.IP) || wildcard(b.IP) || a.IP == b.IP
}

func proto(p string) string {
	if p == "" {
		return "TCP"
	}
	return p
}

func wildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
