package upstream

import (
	"fmt"
	"math/rand/v2"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	autoscalingapiv2 "k8s.io/kubernetes/pkg/apis/autoscaling/v2"
	cmapi "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emapi "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// FlagSets are the flag combinations the generator draws from: the
// defaults, explicit zeros, and the values upstream's unit tests use.
var FlagSets = []Flags{
	{0.1, 5 * time.Minute, 5 * time.Minute, 30 * time.Second},
	{0, 0, 2 * time.Minute, 10 * time.Second},
	{0.05, time.Minute, 5 * time.Minute, 10 * time.Second},
	{0.1, 0, 2 * time.Minute, 30 * time.Second},
}

// Generate builds a random scenario from seed at base.
//
// Clock boundaries are avoided by construction: every time in the scenario
// (pod start and readiness times, sample timestamps, stored
// recommendations and events) lies a whole number of seconds before base,
// and every window, period and delay the arithmetic compares them with is
// a whole number of seconds. Upstream compares them with its own
// time.Now(), base+δ, kscale with base; a comparison of base−k+W with
// base+δ (k, W whole seconds) has the same outcome as with base for every
// 0 ≤ δ < 1 s, including at k = W. The test checks δ < 1 s.
func Generate(seed int64, base time.Time) *Scenario {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6b7363616c65))
	g := &gen{r: r, base: base}
	return g.scenario(seed)
}

type gen struct {
	r    *rand.Rand
	base time.Time
}

func (g *gen) p(x float64) bool { return g.r.Float64() < x }
func (g *gen) n(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }
func (g *gen) ago(maxSec int) time.Time {
	return g.base.Add(-time.Duration(g.n(0, maxSec)) * time.Second)
}
func (g *gen) mt(t time.Time) metav1.Time {
	return metav1.NewTime(t)
}
func i32(v int32) *int32 { return &v }

func milli(v int64) resource.Quantity { return *resource.NewMilliQuantity(v, resource.DecimalSI) }

// qty returns a quantity of v milli-units in one of the spellings an API
// object can carry (milli, whole units, binary).
func (g *gen) qty(v int64, binary bool) resource.Quantity {
	if binary && v%1000 == 0 && g.p(0.5) {
		return *resource.NewQuantity(v/1000, resource.BinarySI)
	}
	if v%1000 == 0 && g.p(0.5) {
		return *resource.NewQuantity(v/1000, resource.DecimalSI)
	}
	return milli(v)
}

const ns = "shop"

func (g *gen) scenario(seed int64) *Scenario {
	s := &Scenario{Seed: seed, Flags: FlagSets[g.r.IntN(len(FlagSets))], Base: g.base, Selector: "app=web",
		Custom: map[string][]cmapi.MetricValue{}, Object: map[string]cmapi.MetricValue{}, External: map[string][]emapi.ExternalMetricValue{}}
	nPods := g.n(0, 8)
	if g.p(0.1) {
		nPods = g.n(9, 30)
	}
	for i := range nPods {
		s.Pods = append(s.Pods, g.pod(seed, i))
	}
	// Metrics.
	nm := g.n(1, 3)
	if g.p(0.03) {
		nm = 0 // the API server's default (cpu at 80 %) applies
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, UID: types.UID(fmt.Sprintf("hpa-%d", seed)), ResourceVersion: "1",
			Generation: int64(g.n(1, 9))},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		},
	}
	objExt := false
	for i := range nm {
		m := g.metric(s, i)
		if m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType {
			objExt = true
		}
		h.Spec.Metrics = append(h.Spec.Metrics, m)
	}
	g.resourceMetrics(s)
	// Replicas.
	switch {
	case g.p(0.15):
	case objExt && g.p(0.15):
		h.Spec.MinReplicas = i32(0)
	default:
		h.Spec.MinReplicas = i32(int32(g.n(1, 4)))
	}
	lo := int32(1)
	if h.Spec.MinReplicas != nil {
		lo = max(1, *h.Spec.MinReplicas)
	}
	h.Spec.MaxReplicas = lo + int32(g.n(0, 20))
	if g.p(0.05) {
		h.Spec.MaxReplicas = lo
	}
	switch {
	case g.p(0.1):
		s.SpecReplicas = 0
	case g.p(0.1):
		s.SpecReplicas = h.Spec.MaxReplicas + int32(g.n(1, 3))
	default:
		s.SpecReplicas = int32(g.n(1, int(h.Spec.MaxReplicas)))
	}
	s.StatusReplicas = s.SpecReplicas
	switch {
	case g.p(0.02):
		s.Selector = "" // the scale reports no selector
	case g.p(0.02):
		s.Selector = "app in (web" // does not parse
	case g.p(0.02):
		s.Ambiguous = true
	}
	if g.p(0.3) {
		s.StatusReplicas = max(0, s.SpecReplicas+int32(g.n(-2, 2)))
	}
	if g.p(0.5) {
		h.Spec.Behavior = g.behavior()
	}
	// Status as a previous reconcile left it.
	h.Status.CurrentReplicas = s.SpecReplicas
	h.Status.DesiredReplicas = int32(g.n(0, 10))
	if g.p(0.6) {
		t := g.mt(g.ago(3600))
		st := func(b bool) corev1.ConditionStatus {
			if b {
				return corev1.ConditionTrue
			}
			return corev1.ConditionFalse
		}
		h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", Message: "recommended size matches current size", LastTransitionTime: t},
			{Type: autoscalingv2.ScalingActive, Status: st(g.p(0.8)), Reason: "ValidMetricFound", Message: "old", LastTransitionTime: t},
			{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, Reason: "DesiredWithinRange", Message: "old", LastTransitionTime: t},
		}
	}
	if g.p(0.4) {
		stz := corev1.ConditionFalse
		reason := "NotScaledToZero"
		if s.SpecReplicas == 0 || g.p(0.2) {
			stz, reason = corev1.ConditionTrue, "ScaledToZero"
		}
		h.Status.Conditions = append(h.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{
			Type: autoscalingv2.ScaledToZero, Status: stz, Reason: reason, Message: "old", LastTransitionTime: g.mt(g.ago(3600))})
	}
	if len(h.Status.Conditions) > 1 && g.p(0.3) {
		// Another controller version, or a hand edit, left them in another
		// order or left some out.
		g.r.Shuffle(len(h.Status.Conditions), func(i, j int) {
			h.Status.Conditions[i], h.Status.Conditions[j] = h.Status.Conditions[j], h.Status.Conditions[i]
		})
		if g.p(0.5) {
			h.Status.Conditions = h.Status.Conditions[:g.n(1, len(h.Status.Conditions))]
		}
	}
	// What a controller reads went through the API server's defaulting.
	autoscalingapiv2.SetObjectDefaults_HorizontalPodAutoscaler(h)
	s.HPA = h
	// History.
	if g.p(0.7) {
		s.HasHistory = true
		for range g.n(0, 5) {
			s.Recs = append(s.Recs, Rec{Replicas: int32(g.n(0, 25)), Ago: time.Duration(g.n(0, 700)) * time.Second})
		}
		for _, l := range []*[]Event{&s.Up, &s.Down} {
			for range g.n(0, 4) {
				*l = append(*l, Event{Change: int32(g.n(1, 6)), Ago: time.Duration(g.n(0, 700)) * time.Second, Outdated: g.p(0.2)})
			}
		}
	}
	return s
}

var always = corev1.ContainerRestartPolicyAlways

func (g *gen) requests(cpu, mem bool) corev1.ResourceList {
	rl := corev1.ResourceList{}
	if cpu {
		rl[corev1.ResourceCPU] = g.qty(int64(g.n(1, 20))*50, false)
	}
	if mem {
		rl[corev1.ResourceMemory] = g.qty(int64(g.n(1, 16))*64<<20*1000, true)
	}
	return rl
}

func (g *gen) pod(seed int64, i int) *corev1.Pod {
	name := fmt.Sprintf("web-%d", i)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web"},
		UID: types.UID(fmt.Sprintf("%d-%d", seed, i)), ResourceVersion: fmt.Sprint(g.n(1, 1000))}}
	if g.p(0.05) {
		t := g.mt(g.ago(60))
		p.DeletionTimestamp = &t
	}
	for _, c := range []string{"app", "aux"} {
		if c == "aux" && g.p(0.6) {
			continue
		}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c,
			Resources: corev1.ResourceRequirements{Requests: g.requests(!g.p(0.04), !g.p(0.04))}})
	}
	if g.p(0.3) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "proxy", RestartPolicy: &always,
			Resources: corev1.ResourceRequirements{Requests: g.requests(!g.p(0.04), !g.p(0.04))}})
	}
	if g.p(0.2) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "migrate",
			Resources: corev1.ResourceRequirements{Requests: g.requests(true, true)}})
	}
	if g.p(0.12) {
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: g.requests(g.p(0.8), g.p(0.6))}
	}
	if g.p(0.05) {
		p.Spec.Overhead = g.requests(true, g.p(0.5))
	}
	switch x := g.r.Float64(); {
	case x < 0.72:
		p.Status.Phase = corev1.PodRunning
	case x < 0.84:
		p.Status.Phase = corev1.PodPending
	case x < 0.9:
		p.Status.Phase = corev1.PodFailed
	case x < 0.96:
		p.Status.Phase = corev1.PodSucceeded
	default:
		p.Status.Phase = corev1.PodUnknown
	}
	if !g.p(0.05) {
		t := g.mt(g.ago(900))
		p.Status.StartTime = &t
	}
	if !g.p(0.1) {
		st := corev1.ConditionTrue
		switch x := g.r.Float64(); {
		case x < 0.25:
			st = corev1.ConditionFalse
		case x < 0.3:
			st = corev1.ConditionUnknown
		}
		lt := g.ago(900)
		if p.Status.StartTime != nil && g.p(0.7) {
			lt = p.Status.StartTime.Add(time.Duration(g.n(0, 60)) * time.Second)
			if lt.After(g.base) {
				lt = g.base
			}
		}
		p.Status.Conditions = append(p.Status.Conditions,
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			corev1.PodCondition{Type: corev1.PodReady, Status: st, LastTransitionTime: g.mt(lt)})
	}
	return p
}

// resourceMetrics fills the resource metrics API's answer from the pods.
func (g *gen) resourceMetrics(s *Scenario) {
	if g.p(0.03) {
		s.PodMetricsErr = true
		return
	}
	if g.p(0.03) {
		return // the API returns nothing
	}
	for _, p := range s.Pods {
		if g.p(0.12) {
			continue
		}
		pm := metricsapi.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns, Labels: p.Labels},
			Timestamp: g.mt(g.ago(120)), Window: metav1.Duration{Duration: time.Duration(g.n(1, 4)) * 15 * time.Second}}
		cs := append([]corev1.Container{}, p.Spec.Containers...)
		for _, c := range p.Spec.InitContainers {
			if c.RestartPolicy != nil {
				cs = append(cs, c)
			}
		}
		for _, c := range cs {
			u := corev1.ResourceList{}
			if !g.p(0.03) {
				u[corev1.ResourceCPU] = g.qty(int64(g.n(0, 1500)), false)
			}
			if !g.p(0.03) {
				u[corev1.ResourceMemory] = g.qty(int64(g.n(1, 1200))<<20*1000, true)
			}
			pm.Containers = append(pm.Containers, metricsapi.ContainerMetrics{Name: c.Name, Usage: u})
		}
		s.PodMetrics = append(s.PodMetrics, pm)
	}
	if len(s.PodMetrics) > 0 && g.p(0.03) {
		d := *s.PodMetrics[g.r.IntN(len(s.PodMetrics))].DeepCopy()
		for i := range d.Containers {
			d.Containers[i].Usage[corev1.ResourceCPU] = g.qty(int64(g.n(0, 1500)), false)
		}
		s.PodMetrics = append(s.PodMetrics, d) // listed twice: the last one wins upstream
	}
	if len(s.PodMetrics) > 0 && g.p(0.02) {
		m := &s.PodMetrics[g.r.IntN(len(s.PodMetrics))]
		if len(m.Containers) > 0 {
			m.Containers[0].Usage[corev1.ResourceCPU] = resource.MustParse("9e15") // absurdly large
			s.Absurd = true
		}
	}
	if len(s.PodMetrics) > 0 && g.p(0.03) {
		m := &s.PodMetrics[g.r.IntN(len(s.PodMetrics))]
		if len(m.Containers) > 0 {
			m.Containers[0].Usage[corev1.ResourceCPU] = resource.MustParse("50000") // large but sane: 50 000 cores
		}
	}
	if g.p(0.05) {
		s.PodMetrics = append(s.PodMetrics, metricsapi.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: ns, Labels: map[string]string{"app": "web"}},
			Timestamp: g.mt(g.ago(60)), Window: metav1.Duration{Duration: 30 * time.Second},
			Containers: []metricsapi.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: milli(500), corev1.ResourceMemory: milli(1 << 30)}}}})
	}
}

func (g *gen) target(res bool, avgScale int64) autoscalingv2.MetricTarget {
	x := g.r.Float64()
	switch {
	case res && x < 0.6:
		return autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(int32(g.n(10, 150)))}
	case res || x < 0.5:
		q := g.qty(int64(g.n(1, 40))*avgScale, false)
		return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}
	default:
		q := g.qty(int64(g.n(1, 400))*avgScale, false)
		return autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &q}
	}
}

func (g *gen) metricSelector() *metav1.LabelSelector {
	if g.p(0.6) {
		return nil
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "orders"}}
}

func (g *gen) metric(s *Scenario, i int) autoscalingv2.MetricSpec {
	res := corev1.ResourceCPU
	scale := int64(25)
	if g.p(0.35) {
		res, scale = corev1.ResourceMemory, 32<<20*1000
	}
	switch x := g.r.Float64(); {
	case x < 0.35:
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: res, Target: g.target(true, scale)}}
	case x < 0.5:
		c := "app"
		switch y := g.r.Float64(); {
		case y < 0.15:
			c = "proxy"
		case y < 0.2:
			c = "nope"
		}
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
			ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: res, Container: c, Target: g.target(true, scale)}}
	case x < 0.67:
		name := fmt.Sprintf("rps%d", i)
		t := g.target(false, 1000)
		t.Type, t.AverageValue, t.Value = autoscalingv2.AverageValueMetricType, nonNil(t.AverageValue, t.Value), nil
		if !g.p(0.05) {
			var l []cmapi.MetricValue
			for _, p := range s.Pods {
				if g.p(0.85) {
					v := cmapi.MetricValue{DescribedObject: corev1.ObjectReference{Kind: "Pod", Name: p.Name, Namespace: ns},
						Metric: cmapi.MetricIdentifier{Name: name}, Timestamp: g.mt(g.ago(60)), Value: g.qty(int64(g.n(0, 60))*1000+int64(g.n(0, 999)), false)}
					if g.p(0.3) {
						v.WindowSeconds = ptr(int64(g.n(15, 120)))
					}
					l = append(l, v)
				}
			}
			if len(l) > 0 && g.p(0.03) {
				l[0].Value = g.qty(-int64(g.n(1, 60000)), false)
			}
			if len(l) > 0 && g.p(0.05) {
				d := l[g.r.IntN(len(l))]
				d.Value = g.qty(int64(g.n(0, 60000)), false)
				l = append(l, d) // a pod listed twice
			}
			if g.p(0.03) {
				l = append(l, cmapi.MetricValue{DescribedObject: corev1.ObjectReference{Kind: "Pod", Name: "stranger", Namespace: ns},
					Metric: cmapi.MetricIdentifier{Name: name}, Timestamp: g.mt(g.ago(60)), Value: milli(7000)})
			}
			s.Custom[name] = l
		}
		return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: name, Selector: g.metricSelector()}, Target: t}}
	case x < 0.83:
		name := fmt.Sprintf("queue%d", i)
		t := g.target(false, 1000)
		g.mixTargetFields(&t)
		if !g.p(0.05) {
			s.Object[name] = cmapi.MetricValue{DescribedObject: corev1.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Name: "web", Namespace: ns},
				Metric: cmapi.MetricIdentifier{Name: name}, Timestamp: g.mt(g.ago(60)), Value: g.qty(int64(g.n(0, 2000))*int64(g.n(1, 1000)), false)}
			if g.p(0.03) {
				v := s.Object[name]
				v.Value = g.qty(-int64(g.n(1, 2000))*1000, false)
				s.Object[name] = v
			}
		}
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Metric:          autoscalingv2.MetricIdentifier{Name: name, Selector: g.metricSelector()}, Target: t}}
	default:
		name := fmt.Sprintf("ext%d", i)
		t := g.target(false, 1000)
		g.mixTargetFields(&t)
		if !g.p(0.05) {
			l := []emapi.ExternalMetricValue{}
			for range g.n(0, 3) {
				l = append(l, emapi.ExternalMetricValue{MetricName: name, Timestamp: g.mt(g.ago(60)), Value: g.qty(int64(g.n(0, 2000))*int64(g.n(1, 1000)), false)})
			}
			if len(l) > 0 && g.p(0.05) {
				l[0].Value = g.qty(-int64(g.n(1, 2000))*1000, false) // metrics can be negative
			}
			s.External[name] = l
		}
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: name, Selector: g.metricSelector()}, Target: t}}
	}
}

// mixTargetFields sometimes sets the field the type does not name (the
// API server accepts it; upstream chooses the path by the field).
func (g *gen) mixTargetFields(t *autoscalingv2.MetricTarget) {
	if !g.p(0.08) {
		return
	}
	if t.Type == autoscalingv2.ValueMetricType {
		t.Type = autoscalingv2.AverageValueMetricType
	} else {
		t.Type = autoscalingv2.ValueMetricType
	}
}

func nonNil(a, b *resource.Quantity) *resource.Quantity {
	if a != nil {
		return a
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func (g *gen) rules(up bool) *autoscalingv2.HPAScalingRules {
	if g.p(0.3) {
		return nil
	}
	r := &autoscalingv2.HPAScalingRules{}
	if g.p(0.6) {
		r.StabilizationWindowSeconds = i32(int32(g.n(0, 8) * 30))
		if g.p(0.05) {
			r.StabilizationWindowSeconds = i32(int32(g.n(0, 3600)))
		}
	}
	if g.p(0.6) {
		sp := []autoscalingv2.ScalingPolicySelect{autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect}
		r.SelectPolicy = ptr(sp[g.r.IntN(len(sp))])
		if g.p(0.7) {
			r.SelectPolicy = ptr(autoscalingv2.MaxChangePolicySelect)
		}
	}
	if g.p(0.7) {
		for range g.n(1, 3) {
			if g.p(0.5) {
				r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: int32(g.n(1, 10)), PeriodSeconds: int32(g.n(1, 40) * 15)})
			} else {
				r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: int32(g.n(1, 20) * 10), PeriodSeconds: int32(g.n(1, 40) * 15)})
				if g.p(0.05) {
					r.Policies[len(r.Policies)-1].Value = int32(g.n(1, 1000) * 10)
					r.Policies[len(r.Policies)-1].PeriodSeconds = 1800
				}
			}
		}
	}
	if g.p(0.3) {
		q := milli(int64(g.n(0, 300)))
		if g.p(0.3) {
			q = resource.MustParse(fmt.Sprintf("0.%02d", g.n(0, 30)))
		}
		r.Tolerance = &q
	}
	return r
}

func (g *gen) behavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: g.rules(true), ScaleDown: g.rules(false)}
}
