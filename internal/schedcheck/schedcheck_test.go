package schedcheck_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kscale/kscale/internal/testcluster"
	"github.com/kscale/kscale/simulate"
)

var (
	clusters = flag.Int("schedcheck.clusters", 30, "random clusters to replay")
	seed     = flag.Int64("schedcheck.seed", 1, "seed of the first cluster")
)

func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }

const (
	pinKey     = "schedcheck.kscale.dev/pin"
	clusterKey = "schedcheck.kscale.dev/cluster"
	zoneKey    = "topology.kubernetes.io/zone"
	hostKey    = "kubernetes.io/hostname"
	rackKey    = "rack"
	poolKey    = "pool"
)

// scenario is one random cluster: kwok nodes and pending pods, in creation order.
type scenario struct {
	id    string
	nodes []testcluster.NodeSpec
	pods  []*corev1.Pod // pending, in creation order
	bound []*corev1.Pod // running before the replay
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.Intn(len(xs))] }

func generate(r *rand.Rand, id string) scenario {
	sc := scenario{id: id}
	// Half the clusters lean on inter-pod terms: more pods carry them, with up to three terms.
	every, maxTerms := 4, 2
	if r.Intn(2) == 0 {
		every, maxTerms = 2, 3
	}
	zones := []string{"za", "zb", "zc"}[:1+r.Intn(3)]
	n := 3 + r.Intn(6)
	for i := 0; i < n; i++ {
		labels := map[string]string{
			clusterKey: id,
			zoneKey:    pick(r, zones...),
			poolKey:    pick(r, "general", "general", "compute"),
		}
		// Some nodes lack the rack key: a spread constraint on it leaves them
		// out of every constraint of the pod (nodeLabelsMatchSpreadConstraints).
		if r.Intn(4) != 0 {
			labels[rackKey] = pick(r, "r0", "r1", "r2")
		}
		name := fmt.Sprintf("%s-n%d", id, i)
		spec := testcluster.NodeSpec{
			Name:   name,
			CPU:    resource.MustParse(pick(r, "2", "4", "4", "8")),
			Memory: resource.MustParse(pick(r, "4Gi", "8Gi", "16Gi")),
			Pods:   resource.MustParse(pick(r, "110", "110", "6")),
			Labels: labels,
			Taints: []corev1.Taint{{Key: pinKey, Value: name, Effect: corev1.TaintEffectNoSchedule}},
		}
		switch r.Intn(6) {
		case 0:
			spec.Taints = append(spec.Taints, corev1.Taint{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule})
		case 1:
			spec.Taints = append(spec.Taints, corev1.Taint{Key: "special", Effect: corev1.TaintEffectNoExecute})
		case 2:
			spec.Taints = append(spec.Taints, corev1.Taint{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule})
		}
		sc.nodes = append(sc.nodes, spec)
	}
	apps := []string{"a", "b", "c", "d"}
	sel := func() *metav1.LabelSelector {
		if r.Intn(4) == 0 {
			return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{pick(r, apps...), pick(r, apps...)}}}}
		}
		if r.Intn(5) == 0 {
			return &metav1.LabelSelector{MatchLabels: map[string]string{"tier": pick(r, "web", "db")}}
		}
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": pick(r, apps...)}}
	}
	podTerms := func() []corev1.PodAffinityTerm {
		k := 1
		if r.Intn(3) == 0 {
			k = 2 + r.Intn(maxTerms-1)
		}
		var ts []corev1.PodAffinityTerm
		for j := 0; j < k; j++ {
			ts = append(ts, corev1.PodAffinityTerm{LabelSelector: sel(), TopologyKey: pick(r, hostKey, hostKey, zoneKey)})
		}
		return ts
	}
	mk := func(name string) *corev1.Pod {
		app := pick(r, apps...)
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name,
				Labels: map[string]string{"app": app, "tier": pick(r, "web", "db")}},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{clusterKey: id},
				Containers: []corev1.Container{{Name: "c", Image: "x", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse(pick(r, "100m", "250m", "500m", "1", "1500m")),
						corev1.ResourceMemory: resource.MustParse(pick(r, "128Mi", "512Mi", "1Gi", "2Gi")),
					}}}},
				TerminationGracePeriodSeconds: new(int64),
			},
		}
		if r.Intn(4) == 0 {
			p.Spec.NodeSelector[poolKey] = pick(r, "general", "compute")
		}
		if r.Intn(4) == 0 {
			var terms []corev1.NodeSelectorTerm
			for k := 1 + r.Intn(2); k > 0; k-- {
				t := corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: zoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{pick(r, zones...)}}}}
				if r.Intn(3) == 0 {
					t.MatchExpressions = append(t.MatchExpressions, corev1.NodeSelectorRequirement{Key: rackKey, Operator: corev1.NodeSelectorOpExists})
				}
				terms = append(terms, t)
			}
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
		}
		switch r.Intn(4) {
		case 0:
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule})
		case 1:
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "special", Operator: corev1.TolerationOpExists})
		}
		aff := func() *corev1.Affinity {
			if p.Spec.Affinity == nil {
				p.Spec.Affinity = &corev1.Affinity{}
			}
			return p.Spec.Affinity
		}
		if r.Intn(every) == 0 {
			aff().PodAffinity = &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: podTerms()}
		}
		if r.Intn(every) == 0 {
			aff().PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: podTerms()}
		}
		if r.Intn(3) == 0 {
			// The API server refuses two constraints with the same key and action.
			keys := []string{hostKey, zoneKey, rackKey}
			r.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
			k := 1 + r.Intn(2)
			for j := 0; j < k; j++ {
				c := corev1.TopologySpreadConstraint{
					MaxSkew:           int32(1 + r.Intn(2)),
					TopologyKey:       keys[j],
					WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": pick(r, app, app, pick(r, apps...))}},
				}
				if r.Intn(3) == 0 {
					m := int32(2 + r.Intn(3))
					c.MinDomains = &m
				}
				p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
			}
		}
		return p
	}
	np := 10 + r.Intn(21)
	for i := 0; i < np; i++ {
		sc.pods = append(sc.pods, mk(fmt.Sprintf("p%02d", i)))
	}
	// Pods already running, bound by their creator (spec.nodeName) to a node whose taints
	// they tolerate: their requests, labels and anti-affinity weigh on every placement.
	for i := r.Intn(7); i > 0; i-- {
		p := mk(fmt.Sprintf("r%02d", i))
		var ok []string
		for _, n := range sc.nodes {
			if tolerates(p, n.Taints) {
				ok = append(ok, n.Name)
			}
		}
		if len(ok) > 0 {
			p.Spec.NodeName = pick(r, ok...)
			sc.bound = append(sc.bound, p)
		}
	}
	return sc
}

// tolerates reports whether p tolerates every NoSchedule and NoExecute taint but the pin.
func tolerates(p *corev1.Pod, taints []corev1.Taint) bool {
	for _, tn := range taints {
		if tn.Key == pinKey || tn.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		found := false
		for _, tl := range p.Spec.Tolerations {
			// The generator's tolerations name their key and use Equal or Exists.
			if tl.Key == tn.Key && (tl.Effect == "" || tl.Effect == tn.Effect) &&
				(tl.Operator == corev1.TolerationOpExists || tl.Value == tn.Value) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// model builds simulate's view of the scenario from the same v1 objects: the pin taints are
// the replay's device, not part of the cluster, so they are left out.
func model(t *testing.T, nodes []*corev1.Node, pods []*corev1.Pod, ns string) *simulate.Cluster {
	t.Helper()
	c := &simulate.Cluster{}
	for _, n := range nodes {
		n = n.DeepCopy()
		var keep []corev1.Taint
		for _, tn := range n.Spec.Taints {
			if tn.Key != pinKey {
				keep = append(keep, tn)
			}
		}
		n.Spec.Taints = keep
		sn, err := simulate.NodeFromV1(n, "")
		if err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, sn)
	}
	for _, p := range pods {
		p = p.DeepCopy()
		p.Namespace = ns
		sp, err := simulate.PodFromV1(p, simulate.ConvertOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(sp.Unmodeled) > 0 {
			t.Fatalf("generator produced what simulate does not model: pod %s: %v", p.Name, sp.Unmodeled)
		}
		c.Pods = append(c.Pods, sp)
	}
	return c
}

// verdict waits until the scheduler binds the pod or marks it unschedulable.
func verdict(ctx context.Context, c *testcluster.Cluster, ns, name string) (node, msg string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := c.AdminClient().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", "", err
		}
		if p.Spec.NodeName != "" {
			return p.Spec.NodeName, "", nil
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				return "", cond.Message, nil
			}
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("pod %s/%s: no scheduling verdict after 30s", ns, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRunning waits until kwok reports a bound pod Running, which comes after the scheduler's
// informer has seen it bound.
func waitRunning(ctx context.Context, c *testcluster.Cluster, ns, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := c.AdminClient().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase == corev1.PodRunning {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s/%s: not Running after 30s", ns, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type tally struct {
	mu                          sync.Mutex
	placed, held, unsched, kept int
	disagreements               []string
}

func (ty *tally) add(placed, held, unsched, kept int, dis []string) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	ty.placed += placed
	ty.held += held
	ty.unsched += unsched
	ty.kept += kept
	ty.disagreements = append(ty.disagreements, dis...)
}

// TestPlacementsAgainstKubeScheduler replays simulate's placements on random clusters, node by
// node, through the real kube-scheduler, and requires every one to hold and every pod simulate
// calls unschedulable to stay pending.
func TestPlacementsAgainstKubeScheduler(t *testing.T) {
	c := testcluster.Shared(t)
	var all tally
	for i := 0; i < *clusters; i++ {
		s := *seed + int64(i)
		method := "Provision"
		if i%2 == 1 {
			method = "ScaleUp"
		}
		t.Run(fmt.Sprintf("seed%d-%s", s, method), func(t *testing.T) {
			replay(t, c, generate(rand.New(rand.NewSource(s)), fmt.Sprintf("sc%d", s)), method, &all)
		})
	}
	t.Logf("placements held %d/%d; unschedulable agreed %d/%d", all.held, all.placed, all.kept, all.unsched)
	for _, d := range all.disagreements {
		t.Log(d)
	}
}

func replay(t *testing.T, c *testcluster.Cluster, sc scenario, method string, all *tally) {
	ctx := t.Context()
	ns := c.Namespace(t)
	nodes := make([]*corev1.Node, len(sc.nodes))
	errs := make([]error, len(sc.nodes))
	var wg sync.WaitGroup
	for i, spec := range sc.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = c.AddNode(ctx, spec)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, spec := range sc.nodes {
			_ = c.DeleteNode(context.Background(), spec.Name)
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pods := c.AdminClient().CoreV1().Pods(ns)
	for _, p := range sc.bound {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range sc.bound {
		if err := waitRunning(ctx, c, ns, p.Name); err != nil {
			t.Fatal(err)
		}
	}
	cl := model(t, nodes, append(append([]*corev1.Pod(nil), sc.pods...), sc.bound...), ns)

	type place struct {
		pod  int
		node string
	}
	var order []place
	var unsched []int
	switch method {
	case "Provision":
		res, err := simulate.Provision(cl, nil, simulate.ProvisionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Placements {
			order = append(order, place{p.Pod, p.Node})
		}
		for _, u := range res.Unschedulable {
			unsched = append(unsched, u.Pod)
		}
	default:
		res, err := simulate.ScaleUp(cl, nil, simulate.ScaleUpOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Existing {
			order = append(order, place{p.Pod, p.Node})
		}
		for _, u := range res.Unschedulable {
			unsched = append(unsched, u.Pod)
		}
		for _, u := range res.Deferred {
			unsched = append(unsched, u.Pod)
		}
	}
	if len(order)+len(unsched) != len(sc.pods) {
		t.Fatalf("%s accounted for %d placed + %d unschedulable of %d pods", method, len(order), len(unsched), len(sc.pods))
	}
	sort.Ints(unsched)

	var dis []string
	held := 0
	for _, pl := range order {
		p := sc.pods[pl.pod].DeepCopy()
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: pinKey, Operator: corev1.TolerationOpEqual, Value: pl.node, Effect: corev1.TaintEffectNoSchedule})
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		node, msg, err := verdict(ctx, c, ns, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		if node == pl.node {
			held++
			continue
		}
		dis = append(dis, fmt.Sprintf("%s %s: simulate placed pod %s on %s; kube-scheduler: %s\n  pod: %s",
			sc.id, method, p.Name, pl.node, msg, describe(sc.pods[pl.pod])))
		// A refused pod would bind later, when the pods after it change its
		// affinity or spread; take it out so the rest replays simulate's state.
		if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
			t.Fatal(err)
		}
	}
	kept := 0
	for _, i := range unsched {
		p := sc.pods[i].DeepCopy()
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: pinKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		node, _, err := verdict(ctx, c, ns, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		if node == "" {
			kept++
			continue
		}
		dis = append(dis, fmt.Sprintf("%s %s: simulate left pod %s unschedulable; kube-scheduler bound it to %s\n  pod: %s",
			sc.id, method, p.Name, node, describe(sc.pods[i])))
	}
	all.add(len(order), held, len(unsched), kept, dis)
	for _, d := range dis {
		t.Error(d)
	}
}

// describe prints the scheduling-relevant part of a pod in one line.
func describe(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "labels=%v req=%v", p.Labels, p.Spec.Containers[0].Resources.Requests)
	fmt.Fprintf(&b, " nodeSelector=%v", p.Spec.NodeSelector)
	for _, tl := range p.Spec.Tolerations {
		fmt.Fprintf(&b, " tol=%s%s%s:%s", tl.Key, tl.Operator, tl.Value, tl.Effect)
	}
	if a := p.Spec.Affinity; a != nil {
		if a.NodeAffinity != nil {
			for _, tm := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
				fmt.Fprintf(&b, " nodeTerm=%v", tm.MatchExpressions)
			}
		}
		if a.PodAffinity != nil {
			for _, tm := range a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				fmt.Fprintf(&b, " affinity=%s@%s", metav1.FormatLabelSelector(tm.LabelSelector), tm.TopologyKey)
			}
		}
		if a.PodAntiAffinity != nil {
			for _, tm := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				fmt.Fprintf(&b, " anti=%s@%s", metav1.FormatLabelSelector(tm.LabelSelector), tm.TopologyKey)
			}
		}
	}
	for _, sp := range p.Spec.TopologySpreadConstraints {
		md := int32(0)
		if sp.MinDomains != nil {
			md = *sp.MinDomains
		}
		fmt.Fprintf(&b, " spread=%s@%s skew=%d minDomains=%d", metav1.FormatLabelSelector(sp.LabelSelector), sp.TopologyKey, sp.MaxSkew, md)
	}
	return b.String()
}
