package simulate

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kscale/kscale/nodegroup"
)

// Annotations the converters read.
const (
	AnnotationSafeToEvict             = "cluster-autoscaler.kubernetes.io/safe-to-evict"
	AnnotationSafeToEvictLocalVolumes = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
	AnnotationScaleDownDisabled       = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
	annotationMirror                  = "kubernetes.io/config.mirror"
)

// ConvertOptions are what PodFromV1 needs beyond the pod.
type ConvertOptions struct {
	// Now decides whether a deleted pod is past its grace period (+30 s,
	// as cluster-autoscaler); the zero time treats every deleted pod as
	// still terminating normally.
	Now time.Time
	// Volume resolves a PersistentVolumeClaim to its bound volume, whose
	// required node affinity pins the pod (zonal disks); nil, or a nil
	// result, reports the claim as unmodeled.
	Volume func(namespace, claim string) *corev1.PersistentVolume
}

// PodFromV1 converts a core/v1 Pod. What the simulator does not model —
// preferred terms, ScheduleAnyway spread, namespace selectors, DRA claims,
// unresolved volumes — is listed in Pod.Unmodeled, never dropped silently.
func PodFromV1(p *corev1.Pod, o ConvertOptions) (Pod, error) {
	if p == nil {
		return Pod{}, fmt.Errorf("%w: nil pod", ErrInvalidInput)
	}
	out := Pod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, NodeName: p.Spec.NodeName,
		NodeSelector: p.Spec.NodeSelector, SafeToEvict: p.Annotations[AnnotationSafeToEvict]}
	if out.Namespace == "" {
		out.Namespace = metav1.NamespaceDefault
	}
	if p.Spec.Priority != nil {
		out.Priority = *p.Spec.Priority
	}
	req, err := podRequests(&p.Spec)
	if err != nil {
		return Pod{}, fmt.Errorf("%w: pod %s/%s: %w", ErrInvalidInput, out.Namespace, p.Name, err)
	}
	out.Requests = req
	note := func(format string, args ...any) { out.Unmodeled = append(out.Unmodeled, fmt.Sprintf(format, args...)) }
	if ref := metav1.GetControllerOf(p); ref != nil {
		out.Owner = &Owner{Kind: ref.Kind, Name: ref.Name, UID: string(ref.UID)}
	}
	_, out.Mirror = p.Annotations[annotationMirror]
	out.Terminal = p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	out.Deleting = p.DeletionTimestamp != nil
	if dt := p.DeletionTimestamp; dt != nil && !o.Now.IsZero() {
		grace := int64(30)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		out.Terminating = o.Now.After(dt.Add(time.Duration(grace+30) * time.Second))
	}
	for _, t := range p.Spec.Tolerations {
		out.Tolerations = append(out.Tolerations, Toleration{Key: t.Key, Operator: string(t.Operator), Value: t.Value, Effect: string(t.Effect)})
	}
	ports := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, cp := range c.Ports {
				if cp.HostPort > 0 {
					out.HostPorts = append(out.HostPorts, HostPort{Port: cp.HostPort, Protocol: string(cp.Protocol), IP: cp.HostIP})
				}
			}
		}
	}
	ports(p.Spec.InitContainers)
	ports(p.Spec.Containers)
	if a := p.Spec.Affinity; a != nil {
		if na := a.NodeAffinity; na != nil {
			if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
				for _, t := range r.NodeSelectorTerms {
					out.NodeAffinity = append(out.NodeAffinity, termFromV1(t))
				}
			}
			if len(na.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
				note("preferred node affinity (soft, not simulated)")
			}
		}
		if pa := a.PodAffinity; pa != nil {
			out.Affinity = podTermsFromV1(pa.RequiredDuringSchedulingIgnoredDuringExecution, p.Labels, note)
			if len(pa.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
				note("preferred pod affinity (soft, not simulated)")
			}
		}
		if pa := a.PodAntiAffinity; pa != nil {
			out.AntiAffinity = podTermsFromV1(pa.RequiredDuringSchedulingIgnoredDuringExecution, p.Labels, note)
			if len(pa.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
				note("preferred pod anti-affinity (soft, not simulated)")
			}
		}
	}
	for _, c := range p.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			note("topology spread on %s with ScheduleAnyway (soft, not simulated)", c.TopologyKey)
			continue
		}
		if c.NodeAffinityPolicy != nil && *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyIgnore {
			note("topology spread on %s: nodeAffinityPolicy Ignore simulated as Honor", c.TopologyKey)
		}
		if c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
			note("topology spread on %s: nodeTaintsPolicy Honor simulated as Ignore", c.TopologyKey)
		}
		sc := SpreadConstraint{MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, Selector: selectorFromV1(c.LabelSelector, c.MatchLabelKeys, p.Labels)}
		if c.MinDomains != nil {
			sc.MinDomains = *c.MinDomains
		}
		out.Spread = append(out.Spread, sc)
	}
	if len(p.Spec.ResourceClaims) > 0 {
		note("dynamic resource claims (not simulated)")
	}
	safeLocal := strings.Split(p.Annotations[AnnotationSafeToEvictLocalVolumes], ",")
	for _, v := range p.Spec.Volumes {
		switch {
		case v.HostPath != nil, v.EmptyDir != nil && v.EmptyDir.Medium != corev1.StorageMediumMemory:
			if !contains(safeLocal, v.Name) {
				out.LocalStorage = append(out.LocalStorage, v.Name)
			}
		case v.PersistentVolumeClaim != nil:
			var pv *corev1.PersistentVolume
			if o.Volume != nil {
				pv = o.Volume(out.Namespace, v.PersistentVolumeClaim.ClaimName)
			}
			if pv == nil {
				note("volume %s: claim %s not resolved (its zone is not simulated)", v.Name, v.PersistentVolumeClaim.ClaimName)
				continue
			}
			if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
				var terms []NodeSelectorTerm
				for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
					terms = append(terms, termFromV1(t))
				}
				out.NodeAffinity = andTerms(out.NodeAffinity, terms)
			}
		}
	}
	if err := out.validate(); err != nil {
		return Pod{}, fmt.Errorf("%w: pod %s/%s: %w", ErrInvalidInput, out.Namespace, p.Name, err)
	}
	return out, nil
}

// andTerms is (a1 ∨ a2 …) ∧ (b1 ∨ b2 …) as a disjunction of terms.
func andTerms(a, b []NodeSelectorTerm) []NodeSelectorTerm {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	var out []NodeSelectorTerm
	for _, x := range a {
		for _, y := range b {
			out = append(out, NodeSelectorTerm{
				Labels: append(append([]Requirement(nil), x.Labels...), y.Labels...),
				Fields: append(append([]Requirement(nil), x.Fields...), y.Fields...),
			})
		}
	}
	return out
}

func termFromV1(t corev1.NodeSelectorTerm) NodeSelectorTerm {
	var out NodeSelectorTerm
	for _, e := range t.MatchExpressions {
		out.Labels = append(out.Labels, Requirement{Key: e.Key, Operator: Operator(e.Operator), Values: e.Values})
	}
	for _, e := range t.MatchFields {
		out.Fields = append(out.Fields, Requirement{Key: e.Key, Operator: Operator(e.Operator), Values: e.Values})
	}
	return out
}

func podTermsFromV1(ts []corev1.PodAffinityTerm, own map[string]string, note func(string, ...any)) []PodAffinityTerm {
	var out []PodAffinityTerm
	for _, t := range ts {
		if t.NamespaceSelector != nil {
			note("pod affinity term on %s with a namespace selector (simulated as the listed namespaces only)", t.TopologyKey)
		}
		sel := selectorFromV1(t.LabelSelector, t.MatchLabelKeys, own)
		for _, k := range t.MismatchLabelKeys {
			if v, ok := own[k]; ok {
				sel.Match = append(sel.Match, Requirement{Key: k, Operator: OpNotIn, Values: []string{v}})
			}
		}
		out = append(out, PodAffinityTerm{Selector: sel, Namespaces: t.Namespaces, TopologyKey: t.TopologyKey})
	}
	return out
}

// selectorFromV1 converts a label selector; matchLabelKeys add the pod's
// own values, as the API server does. A nil selector selects nothing, which
// a requirement no label meets expresses.
func selectorFromV1(s *metav1.LabelSelector, keys []string, own map[string]string) Selector {
	if s == nil {
		return Selector{Match: []Requirement{{Key: "kscale.io/never", Operator: OpExists}}}
	}
	out := Selector{MatchLabels: map[string]string{}}
	for k, v := range s.MatchLabels {
		out.MatchLabels[k] = v
	}
	for _, e := range s.MatchExpressions {
		out.Match = append(out.Match, Requirement{Key: e.Key, Operator: Operator(e.Operator), Values: e.Values})
	}
	for _, k := range keys {
		if v, ok := own[k]; ok {
			out.Match = append(out.Match, Requirement{Key: k, Operator: OpIn, Values: []string{v}})
		}
	}
	return out
}

// podRequests are the pod's effective requests, as the scheduler computes
// them: pod-level resources when set; otherwise the larger of the regular
// containers plus sidecars and each init container plus the sidecars
// started before it; plus the pod overhead.
func podRequests(spec *corev1.PodSpec) (nodegroup.Resources, error) {
	var r nodegroup.Resources
	if spec.Resources != nil && len(spec.Resources.Requests) > 0 {
		r = ResourcesFromV1(spec.Resources.Requests)
	} else {
		var sum, sidecars nodegroup.Resources
		var initMax nodegroup.Resources
		for _, c := range spec.InitContainers {
			cr := ResourcesFromV1(c.Resources.Requests)
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				addRes(&sidecars, cr)
				continue
			}
			during := sidecars
			addRes(&during, cr)
			maxRes(&initMax, during)
		}
		for _, c := range spec.Containers {
			addRes(&sum, ResourcesFromV1(c.Resources.Requests))
		}
		addRes(&sum, sidecars)
		maxRes(&sum, initMax)
		r = sum
	}
	addRes(&r, ResourcesFromV1(spec.Overhead))
	r.Pods = 0
	return r, nil
}

func addRes(a *nodegroup.Resources, b nodegroup.Resources) {
	a.MilliCPU += b.MilliCPU
	a.Memory += b.Memory
	a.EphemeralStorage += b.EphemeralStorage
	a.Pods += b.Pods
	for k, v := range b.Extended {
		if a.Extended == nil {
			a.Extended = map[string]int64{}
		}
		a.Extended[k] += v
	}
}

func maxRes(a *nodegroup.Resources, b nodegroup.Resources) {
	a.MilliCPU = max(a.MilliCPU, b.MilliCPU)
	a.Memory = max(a.Memory, b.Memory)
	a.EphemeralStorage = max(a.EphemeralStorage, b.EphemeralStorage)
	for k, v := range b.Extended {
		if a.Extended == nil {
			a.Extended = map[string]int64{}
		}
		a.Extended[k] = max(a.Extended[k], v)
	}
}

// ResourcesFromV1 converts a resource list: cpu in millicores, memory and
// ephemeral storage in bytes, pods as a count; every other scalar resource
// (nvidia.com/gpu, hugepages-2Mi, ...) is extended.
func ResourcesFromV1(l corev1.ResourceList) nodegroup.Resources {
	var r nodegroup.Resources
	for name, q := range l {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU = q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory = q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage = q.Value()
		case corev1.ResourcePods:
			r.Pods = q.Value()
		default:
			if r.Extended == nil {
				r.Extended = map[string]int64{}
			}
			r.Extended[string(name)] = q.Value()
		}
	}
	return r
}

// NodeFromV1 converts a core/v1 Node; group is the id of the node group
// owning it ("" for an unmanaged node).
func NodeFromV1(n *corev1.Node, group string) (Node, error) {
	if n == nil {
		return Node{}, fmt.Errorf("%w: nil node", ErrInvalidInput)
	}
	out := Node{Name: n.Name, Labels: n.Labels, Group: group, Unschedulable: n.Spec.Unschedulable,
		Allocatable: ResourcesFromV1(n.Status.Allocatable), Capacity: ResourcesFromV1(n.Status.Capacity),
		ScaleDownDisabled: n.Annotations[AnnotationScaleDownDisabled] == "true"}
	for _, t := range n.Spec.Taints {
		out.Taints = append(out.Taints, nodegroup.Taint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
	}
	return out, nil
}

// GroupFromNodeGroup reads a node group's bounds, target and template.
func GroupFromNodeGroup(ctx context.Context, ng nodegroup.NodeGroup) (Group, error) {
	target, err := ng.TargetSize(ctx)
	if err != nil {
		return Group{}, fmt.Errorf("simulate: target size of %s: %w", ng.Id(), err)
	}
	t, err := ng.Template(ctx)
	if err != nil {
		return Group{}, fmt.Errorf("simulate: template of %s: %w", ng.Id(), err)
	}
	return Group{ID: ng.Id(), Min: ng.MinSize(), Max: ng.MaxSize(), Target: target, Template: *t}, nil
}

// PDBFromV1 converts a policy/v1 PodDisruptionBudget: its selector (a nil
// selector selects no pod, as policy/v1 defines) and the disruptions its
// status allows now. A negative allowance is refused.
func PDBFromV1(p *policyv1.PodDisruptionBudget) (PDB, error) {
	if p == nil {
		return PDB{}, fmt.Errorf("%w: nil PodDisruptionBudget", ErrInvalidInput)
	}
	out := PDB{Namespace: p.Namespace, Name: p.Name, Selector: selectorFromV1(p.Spec.Selector, nil, nil),
		DisruptionsAllowed: p.Status.DisruptionsAllowed}
	if out.Namespace == "" {
		out.Namespace = metav1.NamespaceDefault
	}
	if out.DisruptionsAllowed < 0 {
		return PDB{}, fmt.Errorf("%w: PodDisruptionBudget %s/%s: status.disruptionsAllowed %d is negative",
			ErrInvalidInput, out.Namespace, p.Name, out.DisruptionsAllowed)
	}
	if err := out.Selector.validate(); err != nil {
		return PDB{}, fmt.Errorf("%w: PodDisruptionBudget %s/%s: spec.selector: %w", ErrInvalidInput, out.Namespace, p.Name, err)
	}
	return out, nil
}

// DaemonSetPodFromV1 is the pod a DaemonSet would run on a new node: its
// pod template, named after the DaemonSet and controlled by it, converted
// by PodFromV1.
func DaemonSetPodFromV1(ds *appsv1.DaemonSet, o ConvertOptions) (Pod, error) {
	if ds == nil {
		return Pod{}, fmt.Errorf("%w: nil DaemonSet", ErrInvalidInput)
	}
	return PodFromV1(TemplatePod(&ds.Spec.Template, ds.Namespace, ds.Name, "DaemonSet", ds.Name, string(ds.UID)), o)
}

// TemplatePod is the pod a controller (ownerKind/ownerName) creates from
// a pod template: the template's labels, annotations and spec in
// namespace, named name, unscheduled.
func TemplatePod(t *corev1.PodTemplateSpec, namespace, name, ownerKind, ownerName, ownerUID string) *corev1.Pod {
	yes := true
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: t.Labels, Annotations: t.Annotations,
		OwnerReferences: []metav1.OwnerReference{{Kind: ownerKind, Name: ownerName, UID: types.UID(ownerUID), Controller: &yes}}},
		Spec: *t.Spec.DeepCopy()}
	p.Spec.NodeName = ""
	return p
}
