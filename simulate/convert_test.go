package simulate

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kscale/kscale/nodegroup"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestPodFromV1(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	prio := int32(100)
	grace := int64(10)
	ctrl := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web", "rev": "7"},
			Annotations:     map[string]string{AnnotationSafeToEvict: "false", AnnotationSafeToEvictLocalVolumes: "cache"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7", UID: "u1", Controller: &ctrl}}},
		Spec: corev1.PodSpec{
			Priority:     &prio,
			NodeSelector: map[string]string{"tier": "web"},
			InitContainers: []corev1.Container{
				{Name: "sidecar", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: rl("cpu", "100m", "memory", "64Mi")}},
				{Name: "migrate", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "2", "memory", "32Mi")}},
			},
			Containers: []corev1.Container{
				{Name: "app", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "500m", "memory", "256Mi", "nvidia.com/gpu", "1")},
					Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}},
			},
			Overhead:    rl("cpu", "10m"),
			Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			Affinity: &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}}}},
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1}}},
				PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
					{TopologyKey: LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, MatchLabelKeys: []string{"rev"}}}},
			},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{
				{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
				{MaxSkew: 1, TopologyKey: LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway},
			},
			Volumes: []corev1.Volume{
				{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-1"}}},
				{Name: "other", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "unknown"}}},
			},
		},
	}
	p.DeletionGracePeriodSeconds = &grace
	pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
		{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: nodegroup.LabelZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"eu-1a"}}}}}}}}}
	got, err := PodFromV1(p, ConvertOptions{Volume: func(ns, claim string) *corev1.PersistentVolume {
		if ns == "shop" && claim == "data-web-1" {
			return pv
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := Pod{
		Namespace: "shop", Name: "web-1", Labels: p.Labels, Priority: 100,
		// max(app 500m + sidecar 100m, migrate 2 + sidecar 100m) + overhead 10m;
		// memory max(256+64, 32+64) Mi.
		Requests:     nodegroup.Resources{MilliCPU: 2110, Memory: 320 << 20, Extended: map[string]int64{"nvidia.com/gpu": 1}},
		NodeSelector: map[string]string{"tier": "web"},
		NodeAffinity: []NodeSelectorTerm{{Labels: []Requirement{{Key: "arch", Operator: OpIn, Values: []string{"arm64"}}, {Key: nodegroup.LabelZone, Operator: OpIn, Values: []string{"eu-1a"}}}}},
		Tolerations:  []Toleration{{Key: "dedicated", Operator: "Exists", Effect: "NoSchedule"}},
		HostPorts:    []HostPort{{Port: 8080}},
		AntiAffinity: []PodAffinityTerm{{TopologyKey: LabelHostname, Selector: Selector{MatchLabels: map[string]string{"app": "web"},
			Match: []Requirement{{Key: "rev", Operator: OpIn, Values: []string{"7"}}}}}},
		Spread:       []SpreadConstraint{{MaxSkew: 1, TopologyKey: nodegroup.LabelZone, Selector: Selector{MatchLabels: map[string]string{"app": "web"}}}},
		Owner:        &Owner{Kind: "ReplicaSet", Name: "web-7", UID: "u1"},
		SafeToEvict:  "false",
		LocalStorage: []string{"scratch"},
		Unmodeled: []string{
			"preferred node affinity (soft, not simulated)",
			"topology spread on kubernetes.io/hostname with ScheduleAnyway (soft, not simulated)",
			"volume other: claim unknown not resolved (its zone is not simulated)",
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("PodFromV1 (-want +got):\n%s", d)
	}
}

func TestPodFromV1Rejects(t *testing.T) {
	if _, err := PodFromV1(nil, ConvertOptions{}); err == nil {
		t.Fatal("nil pod accepted")
	}
	bad := &corev1.Pod{Spec: corev1.PodSpec{TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 0, TopologyKey: "k", WhenUnsatisfiable: corev1.DoNotSchedule}}}}
	if _, err := PodFromV1(bad, ConvertOptions{}); err == nil {
		t.Fatal("maxSkew 0 accepted")
	}
}

func TestNodeFromV1(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{AnnotationScaleDownDisabled: "true"}},
		Spec:   corev1.NodeSpec{Unschedulable: true, Taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}}},
		Status: corev1.NodeStatus{Allocatable: rl("cpu", "3920m", "memory", "15Gi", "pods", "58", "nvidia.com/gpu", "1"), Capacity: rl("cpu", "4", "memory", "16Gi", "pods", "58")}}
	got, err := NodeFromV1(n, "gpu")
	if err != nil {
		t.Fatal(err)
	}
	want := Node{Name: "n1", Labels: n.Labels, Group: "gpu", Unschedulable: true, ScaleDownDisabled: true,
		Taints:      []nodegroup.Taint{{Key: "k", Value: "v", Effect: "NoExecute"}},
		Allocatable: nodegroup.Resources{MilliCPU: 3920, Memory: 15 << 30, Pods: 58, Extended: map[string]int64{"nvidia.com/gpu": 1}},
		Capacity:    nodegroup.Resources{MilliCPU: 4000, Memory: 16 << 30, Pods: 58}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("NodeFromV1 (-want +got):\n%s", d)
	}
}

func TestPodFromV1Deletion(t *testing.T) {
	now := metav1.Now()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", DeletionTimestamp: &now}}
	got, err := PodFromV1(p, ConvertOptions{})
	if err != nil || !got.Deleting || got.Terminating {
		t.Fatalf("%+v %v: want Deleting, not Terminating", got, err)
	}
	p.DeletionTimestamp = nil
	if got, _ := PodFromV1(p, ConvertOptions{}); got.Deleting {
		t.Fatal("no deletion timestamp, Deleting set")
	}
}

func TestPDBFromV1(t *testing.T) {
	one := intstr.FromInt32(1)
	p := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a"}}}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 2}}
	got, err := PDBFromV1(p)
	if err != nil {
		t.Fatal(err)
	}
	want := PDB{Namespace: "shop", Name: "web", DisruptionsAllowed: 2, Selector: Selector{MatchLabels: map[string]string{"app": "web"},
		Match: []Requirement{{Key: "tier", Operator: OpIn, Values: []string{"a"}}}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
	if !got.Selector.matches(map[string]string{"app": "web", "tier": "a"}) || got.Selector.matches(map[string]string{"app": "web"}) {
		t.Fatal("selector does not select as the PDB's")
	}
	// policy/v1: a nil selector selects no pod; an empty one every pod.
	p.Spec.Selector = nil
	got, err = PDBFromV1(p)
	if err != nil || got.Selector.matches(map[string]string{"app": "web"}) || got.Selector.matches(nil) {
		t.Fatalf("nil selector: %+v %v", got, err)
	}
	p.Spec.Selector = &metav1.LabelSelector{}
	if got, err = PDBFromV1(p); err != nil || !got.Selector.matches(map[string]string{"x": "y"}) {
		t.Fatalf("empty selector: %+v %v", got, err)
	}
	for _, bad := range []*policyv1.PodDisruptionBudget{
		nil,
		{ObjectMeta: metav1.ObjectMeta{Name: "neg"}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: -1}},
		{ObjectMeta: metav1.ObjectMeta{Name: "op"}, Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Gt", Values: []string{"1"}}}}}},
	} {
		if _, err := PDBFromV1(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("PDBFromV1(%v) = %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestDaemonSetPodFromV1(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system", UID: "u1"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
			Spec: corev1.PodSpec{NodeName: "stale", Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				Containers: []corev1.Container{{Name: "a", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "100m", "memory", "64Mi")}}}}}}}
	p, err := DaemonSetPodFromV1(ds, ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.DaemonSet() || p.Owner.Name != "agent" || p.Owner.UID != "u1" || p.NodeName != "" || p.Namespace != "kube-system" ||
		p.Requests.MilliCPU != 100 || p.Requests.Memory != 64<<20 || len(p.Tolerations) != 1 || p.Labels["app"] != "agent" {
		t.Fatalf("pod = %+v", p)
	}
	if _, err := DaemonSetPodFromV1(nil, ConvertOptions{}); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
}
