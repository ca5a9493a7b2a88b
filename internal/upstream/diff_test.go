package upstream

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kscale/kscale/hpa"
)

var (
	nScenarios = flag.Int("scenarios", 3000, "how many random scenarios the differential test runs")
	firstSeed  = flag.Int64("seed", 1, "the first scenario's seed")
	showN      = flag.Int("show", 2, "examples printed per disagreement class")
	minReplica = flag.Float64("min-replicas-agreement", 100, "the replicas agreement (percent) below which the test fails")
	minAll     = flag.Float64("min-all-agreement", 100, "the every-field agreement (percent) below which the test fails")
)

// TestDifferential runs random scenarios through upstream's
// HorizontalController and kscale's hpa path from the same objects and
// compares the replicas, status.currentMetrics, the conditions (type,
// status, reason, message), the scale write and the stored history.
func TestDifferential(t *testing.T) {
	n := *nScenarios
	if testing.Short() {
		n = min(n, 300)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctrls := map[Flags]*Controller{}
	var conv hpa.Converter // one for all scenarios: its cache is exercised too
	var agreeReplicas, agreeAll, skipped int
	var rawReplicas, rawAll int // before the documented departures are set aside
	classes := map[string][]string{}
	departures := map[string]int{}
	reasons := map[string]int{} // coverage: how often upstream gave each reason
	for i := range n {
		seed := *firstSeed + int64(i)
		s := Generate(seed, time.Now())
		c := ctrls[s.Flags]
		if c == nil {
			c = NewController(ctx, s.Flags)
			ctrls[s.Flags] = c
		}
		up, _, after := c.Reconcile(s)
		if after.Sub(s.Base) >= time.Second {
			skipped++ // δ too large for the construction's guarantee
			continue
		}
		ks := Kscale(&conv, s)
		if raw := Compare(up, ks); len(raw) == 0 {
			rawAll++
			rawReplicas++
		} else if raw[0].Class != "replicas" {
			rawReplicas++
		}
		var deps []string
		up, deps = Departures(s, up, ks)
		for _, d := range deps {
			departures[d]++
		}
		for _, c := range up.Status.Conditions {
			if c.Status == "True" || c.Type != "ScaledToZero" {
				reasons[c.Reason]++
			}
		}
		if up.Rescale {
			reasons["(rescale)"]++
		}
		diffs := Compare(up, ks)
		if s.Absurd && len(diffs) > 0 {
			// Upstream's int64 sums and int32 conversions wrap on such a
			// sample; kscale saturates (README, "What exact means").
			departures["absurd sample: upstream wraps, kscale saturates"]++
			diffs = nil
			agreeReplicas++
		} else if up.Status.DesiredReplicas == ks.Status.DesiredReplicas && up.Rescale == ks.Rescale && up.Scale == ks.Scale {
			agreeReplicas++
		}
		if len(diffs) == 0 {
			agreeAll++
			continue
		}
		for _, d := range diffs {
			classes[d.Class] = append(classes[d.Class], fmt.Sprintf("seed %d: %s", seed, d.Detail))
		}
	}
	ran := n - skipped
	pr, pa := 100*float64(agreeReplicas)/float64(ran), 100*float64(agreeAll)/float64(ran)
	t.Logf("scenarios %d (skipped %d for δ ≥ 1s): replicas agree %.2f %% (%d), every field agrees %.2f %% (%d)", ran, skipped, pr, agreeReplicas, pa, agreeAll)
	t.Logf("strictly, before setting aside the documented departures: replicas agree %.2f %%, every field %.2f %%",
		100*float64(rawReplicas)/float64(ran), 100*float64(rawAll)/float64(ran))
	t.Logf("coverage (upstream reasons): %v", reasons)
	for d, k := range departures {
		t.Logf("documented departure %q: %d scenarios (counted as agreeing)", d, k)
	}
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ex := classes[k]
		t.Logf("class %q: %d scenarios", k, len(ex))
		for _, e := range ex[:min(len(ex), *showN)] {
			t.Logf("    %s", e)
		}
	}
	if pr < *minReplica || pa < *minAll {
		t.Errorf("agreement below the bar: replicas %.2f %% (want ≥ %.2f), every field %.2f %% (want ≥ %.2f)", pr, *minReplica, pa, *minAll)
	}
	if out := os.Getenv("UPSTREAM_DIFF_SUMMARY"); out != "" {
		_ = os.WriteFile(out, fmt.Appendf(nil, "scenarios=%d replicas=%.2f all=%.2f classes=%d\n", ran, pr, pa, len(classes)), 0o644)
	}
}

var (
	podErr      = regexp.MustCompile(`(missing request for \S+ in container \S+ of Pod|container \S+ not found in Pod|missing pod-level request for \S+ in Pod) \S+`)
	missingReq  = regexp.MustCompile(`missing request for (\S+) in container (\S+) of Pod (\S+)`)
	notFound    = regexp.MustCompile(`container (\S+) not found in Pod (\S+)`)
	missingPodL = regexp.MustCompile(`missing pod-level request for (\S+) in Pod (\S+)`)
)

// podProblemTrue tells whether the pod problem msg names is real in s:
// kscale's message may name another pod than upstream's, never a pod
// without that problem.
func podProblemTrue(s *Scenario, msg string) bool {
	pod := func(name string) *corev1.Pod {
		for _, p := range s.Pods {
			if p.Name == name {
				return p
			}
		}
		return nil
	}
	container := func(p *corev1.Pod, name string) *corev1.Container {
		for _, l := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
			for i := range l {
				if l[i].Name == name {
					return &l[i]
				}
			}
		}
		return nil
	}
	if m := missingReq.FindStringSubmatch(msg); m != nil {
		p := pod(m[3])
		if p == nil {
			return false
		}
		c := container(p, m[2])
		_, ok := corev1.ResourceList{}[corev1.ResourceName(m[1])]
		if c != nil {
			_, ok = c.Resources.Requests[corev1.ResourceName(m[1])]
		}
		return c != nil && !ok
	}
	if m := notFound.FindStringSubmatch(msg); m != nil {
		p := pod(m[2])
		return p != nil && container(p, m[1]) == nil
	}
	if m := missingPodL.FindStringSubmatch(msg); m != nil {
		p := pod(m[2])
		if p == nil || p.Spec.Resources == nil {
			return false
		}
		_, ok := p.Spec.Resources.Requests[corev1.ResourceName(m[1])]
		return !ok
	}
	return false
}

// hpaList is the list of HPAs an AmbiguousSelector message names.
var hpaList = regexp.MustCompile(`\(e\.g\. \[[^\]]*\]\)`)

func sortList(m string) string {
	f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(m, "(e.g. ["), "])"))
	slices.Sort(f)
	return strings.Join(f, " ")
}

// Departures recognises the documented differences between upstream's
// outcome and kscale's in one scenario, rewrites upstream's outcome to
// kscale's there, and names them:
//
//   - "pod order": a metric fails because a pod lacks a request or the
//     named container, and several pods do. Upstream names the first one
//     its pod lister returns, in the random order of a map, so its own
//     message changes from run to run; kscale names one in its stable order.
//     Both messages must name a pod problem (any of the three forms) at
//     the same place, and the one kscale names must be real.
//   - "HPA order": an AmbiguousSelector message lists the HPAs in the
//     order of upstream's map, which changes from run to run; the same
//     HPAs must be named.
//   - "zero status replicas": an Object or External AverageValue metric
//     with status.replicas 0; upstream reports the current average as a
//     float ±Inf or NaN cast to int64 (MinInt64 on amd64), kscale as 0.
func Departures(s *Scenario, up, ks Outcome) (Outcome, []string) {
	var names []string
	if len(up.Status.Conditions) == len(ks.Status.Conditions) {
		var conds []autoscalingv2.HorizontalPodAutoscalerCondition
		for i, c := range up.Status.Conditions {
			k := ks.Status.Conditions[i]
			if c.Message != k.Message && c.Type == k.Type && c.Reason == k.Reason &&
				podErr.MatchString(c.Message) && podProblemTrue(s, k.Message) && podErr.ReplaceAllString(c.Message, "*") == podErr.ReplaceAllString(k.Message, "*") {
				if conds == nil {
					conds = slices.Clone(up.Status.Conditions)
				}
				conds[i].Message = k.Message
			}
		}
		if conds != nil {
			up.Status.Conditions = conds
			names = append(names, "pod order")
		}
		conds = nil
		for i, c := range up.Status.Conditions {
			k := ks.Status.Conditions[i]
			if c.Reason == "AmbiguousSelector" && k.Reason == c.Reason && c.Message != k.Message && hpaList.ReplaceAllStringFunc(c.Message, sortList) == hpaList.ReplaceAllStringFunc(k.Message, sortList) {
				if conds == nil {
					conds = slices.Clone(up.Status.Conditions)
				}
				conds[i].Message = k.Message
			}
		}
		if conds != nil {
			up.Status.Conditions = conds
			names = append(names, "HPA order")
		}
	}
	if s.StatusReplicas == 0 && len(up.Status.CurrentMetrics) == len(ks.Status.CurrentMetrics) {
		var ms []autoscalingv2.MetricStatus
		for i, m := range up.Status.CurrentMetrics {
			k := ks.Status.CurrentMetrics[i]
			var a, b *autoscalingv2.MetricValueStatus
			switch {
			case m.Object != nil && k.Object != nil:
				a, b = &m.Object.Current, &k.Object.Current
			case m.External != nil && k.External != nil:
				a, b = &m.External.Current, &k.External.Current
			default:
				continue
			}
			if a.AverageValue != nil && b.AverageValue != nil && a.AverageValue.MilliValue() == math.MinInt64 && b.AverageValue.IsZero() {
				if ms == nil {
					ms = make([]autoscalingv2.MetricStatus, len(up.Status.CurrentMetrics))
					for j := range ms {
						ms[j] = *up.Status.CurrentMetrics[j].DeepCopy()
					}
				}
				ms[i] = *k.DeepCopy()
			}
		}
		if ms != nil {
			up.Status.CurrentMetrics = ms
			names = append(names, "zero status replicas")
		}
	}
	return up, names
}

// Diff is one disagreement: a class (which field, which values in short)
// and the detail.
type Diff struct{ Class, Detail string }

// Compare lists where kscale's outcome differs from upstream's.
func Compare(up, ks Outcome) []Diff {
	var d []Diff
	if up.Status.DesiredReplicas != ks.Status.DesiredReplicas || up.Rescale != ks.Rescale || up.Scale != ks.Scale {
		d = append(d, Diff{"replicas", fmt.Sprintf("upstream desired %d rescale %v→%d, kscale desired %d rescale %v→%d; upstream conditions %s",
			up.Status.DesiredReplicas, up.Rescale, up.Scale, ks.Status.DesiredReplicas, ks.Rescale, ks.Scale, conds(up.Status.Conditions))})
	}
	if up.Status.CurrentReplicas != ks.Status.CurrentReplicas {
		d = append(d, Diff{"currentReplicas", fmt.Sprintf("%d vs %d", up.Status.CurrentReplicas, ks.Status.CurrentReplicas)})
	}
	if !equality.Semantic.DeepEqual(normMetrics(up.Status.CurrentMetrics), normMetrics(ks.Status.CurrentMetrics)) {
		d = append(d, Diff{"currentMetrics", fmt.Sprintf("upstream %s\n        kscale   %s", metrics(up.Status.CurrentMetrics), metrics(ks.Status.CurrentMetrics))})
	}
	uc, kc := conds(up.Status.Conditions), conds(ks.Status.Conditions)
	if uc != kc {
		d = append(d, Diff{"conditions " + condClass(up.Status.Conditions, ks.Status.Conditions), fmt.Sprintf("\n        upstream %s\n        kscale   %s", uc, kc)})
	}
	if (up.Status.LastScaleTime == nil) != (ks.Status.LastScaleTime == nil) {
		d = append(d, Diff{"lastScaleTime", fmt.Sprintf("%v vs %v", up.Status.LastScaleTime, ks.Status.LastScaleTime)})
	}
	if !equalPtr(up.Status.ObservedGeneration, ks.Status.ObservedGeneration) {
		d = append(d, Diff{"observedGeneration", ""})
	}
	if h1, h2 := hist(up), hist(ks); h1 != h2 {
		d = append(d, Diff{"history", fmt.Sprintf("\n        upstream %s\n        kscale   %s", h1, h2)})
	}
	return d
}

func equalPtr(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// normMetrics makes an empty list and nil the same: upstream writes nil
// where no metric was computed.
func normMetrics(m []autoscalingv2.MetricStatus) []autoscalingv2.MetricStatus {
	if len(m) == 0 {
		return nil
	}
	return m
}

func metrics(ms []autoscalingv2.MetricStatus) string {
	var b strings.Builder
	for _, m := range ms {
		var cur autoscalingv2.MetricValueStatus
		switch {
		case m.Resource != nil:
			cur = m.Resource.Current
		case m.ContainerResource != nil:
			cur = m.ContainerResource.Current
		case m.Pods != nil:
			cur = m.Pods.Current
		case m.Object != nil:
			cur = m.Object.Current
		case m.External != nil:
			cur = m.External.Current
		}
		fmt.Fprintf(&b, "[%s", m.Type)
		if cur.Value != nil {
			fmt.Fprintf(&b, " v=%s", cur.Value)
		}
		if cur.AverageValue != nil {
			fmt.Fprintf(&b, " av=%s", cur.AverageValue)
		}
		if cur.AverageUtilization != nil {
			fmt.Fprintf(&b, " u=%d", *cur.AverageUtilization)
		}
		b.WriteString("]")
	}
	return b.String()
}

func conds(cs []autoscalingv2.HorizontalPodAutoscalerCondition) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "{%s %s %s %q}", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

// condClass names a condition disagreement by the first condition that
// differs and the two reasons, or "message" when only its message does.
func condClass(u, k []autoscalingv2.HorizontalPodAutoscalerCondition) string {
	for i := range max(len(u), len(k)) {
		if i >= len(u) || i >= len(k) {
			return "count"
		}
		a, b := u[i], k[i]
		if a.Type != b.Type || a.Status != b.Status || a.Reason != b.Reason {
			return fmt.Sprintf("%s: %s/%s vs %s/%s", a.Type, a.Status, a.Reason, b.Status, b.Reason)
		}
		if a.Message != b.Message {
			return fmt.Sprintf("%s %s message", a.Type, a.Reason)
		}
	}
	return ""
}

func hist(o Outcome) string {
	return fmt.Sprintf("recs %v up %v down %v", o.Recs, o.Up, o.Down)
}
