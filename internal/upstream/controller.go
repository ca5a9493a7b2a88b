package upstream

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unsafe"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta/testrestmapper"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	core "k8s.io/client-go/testing"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/controller/podautoscaler"
	metricsclient "k8s.io/kubernetes/pkg/controller/podautoscaler/metrics"
	"k8s.io/kubernetes/pkg/controller/util/selectors"
	cmapi "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emapi "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	cmfake "k8s.io/metrics/pkg/client/custom_metrics/fake"
	emfake "k8s.io/metrics/pkg/client/external_metrics/fake"

	_ "k8s.io/kubernetes/pkg/apis/apps/install"        // the REST mapper knows Deployments
	_ "k8s.io/kubernetes/pkg/apis/autoscaling/install" // and the autoscaling types
)

var gateOnce sync.Once

// disableConsistencyGate turns off StaleControllerConsistencyHPA (beta, on
// in 1.37): it makes a reconcile wait until the informer has seen the
// controller's own last status write, and the harness feeds the informer
// stores by hand. It changes no arithmetic.
func disableConsistencyGate() {
	gateOnce.Do(func() {
		if err := utilfeature.DefaultMutableFeatureGate.Set("StaleControllerConsistencyHPA=false"); err != nil {
			panic(err)
		}
	})
}

// Controller is one upstream HorizontalController with fake clients. The
// scenario it answers for is set by Reconcile; it is not safe for
// concurrent use.
type Controller struct {
	hc      *podautoscaler.HorizontalController
	factory informers.SharedInformerFactory
	cur     *Scenario
	out     *Outcome
	ctx     context.Context
}

// NewController builds an upstream controller with the given flags.
func NewController(ctx context.Context, f Flags) *Controller {
	disableConsistencyGate()
	c := &Controller{ctx: ctx}
	client := &fake.Clientset{}
	client.AddReactor("update", "horizontalpodautoscalers", func(a core.Action) (bool, runtime.Object, error) {
		obj := a.(core.UpdateAction).GetObject().(*autoscalingv2.HorizontalPodAutoscaler)
		c.out.Status = *obj.Status.DeepCopy()
		return true, obj, nil
	})
	events := &fake.Clientset{}
	events.AddReactor("*", "*", func(a core.Action) (bool, runtime.Object, error) {
		if c, ok := a.(core.CreateAction); ok {
			return true, c.GetObject(), nil
		}
		return true, &corev1.Event{}, nil
	})

	scale := &scalefake.FakeScaleClient{}
	scale.AddReactor("get", "*", func(core.Action) (bool, runtime.Object, error) {
		s := c.cur
		return true, &autoscalingv1.Scale{
			ObjectMeta: s.HPA.ObjectMeta,
			Spec:       autoscalingv1.ScaleSpec{Replicas: s.SpecReplicas},
			Status:     autoscalingv1.ScaleStatus{Replicas: s.StatusReplicas, Selector: s.Selector},
		}, nil
	})
	scale.AddReactor("update", "*", func(a core.Action) (bool, runtime.Object, error) {
		obj := a.(core.UpdateAction).GetObject().(*autoscalingv1.Scale)
		c.out.Rescale, c.out.Scale = true, obj.Spec.Replicas
		return true, obj, nil
	})

	rm := &metricsfake.Clientset{}
	rm.AddReactor("list", "pods", func(core.Action) (bool, runtime.Object, error) {
		if c.cur.PodMetricsErr {
			return true, nil, fmt.Errorf("the server is currently unable to handle the request")
		}
		return true, &metricsapi.PodMetricsList{Items: c.cur.PodMetrics}, nil
	})
	cm := &cmfake.FakeCustomMetricsClient{}
	cm.AddReactor("get", "*", func(a core.Action) (bool, runtime.Object, error) {
		g := a.(cmfake.GetForAction)
		if g.GetResource().Resource == "pods" {
			items, ok := c.cur.Custom[g.GetMetricName()]
			if !ok {
				return true, nil, fmt.Errorf("no such metric %q", g.GetMetricName())
			}
			return true, &cmapi.MetricValueList{Items: items}, nil
		}
		v, ok := c.cur.Object[g.GetMetricName()]
		if !ok {
			return true, nil, fmt.Errorf("no such metric %q", g.GetMetricName())
		}
		return true, &cmapi.MetricValueList{Items: []cmapi.MetricValue{v}}, nil
	})
	em := &emfake.FakeExternalMetricsClient{}
	em.AddReactor("list", "*", func(a core.Action) (bool, runtime.Object, error) {
		name := a.GetResource().Resource
		items, ok := c.cur.External[name]
		if !ok {
			return true, nil, fmt.Errorf("no such metric %q", name)
		}
		return true, &emapi.ExternalMetricValueList{Items: items}, nil
	})

	c.factory = informers.NewSharedInformerFactory(client, 0)
	c.hc = podautoscaler.NewHorizontalController(ctx, events.CoreV1(), scale, client.AutoscalingV2(),
		testrestmapper.TestOnlyStaticRESTMapper(legacyscheme.Scheme),
		metricsclient.NewRESTMetricsClient(rm.MetricsV1beta1(), cm, em),
		c.factory.Autoscaling().V2().HorizontalPodAutoscalers(), c.factory.Core().V1().Pods(),
		time.Hour, f.DownscaleStabilizationWindow, f.Tolerance, f.CPUInitializationPeriod, f.InitialReadinessDelay)
	return c
}

// Reconcile runs one upstream reconcile of s and returns its outcome and
// the instants just before and after it.
func (c *Controller) Reconcile(s *Scenario) (Outcome, time.Time, time.Time) {
	out := Outcome{Status: *s.HPA.Status.DeepCopy()}
	c.cur, c.out = s, &out
	hpaStore := c.factory.Autoscaling().V2().HorizontalPodAutoscalers().Informer().GetStore()
	podStore := c.factory.Core().V1().Pods().Informer().GetStore()
	objs := make([]any, len(s.Pods))
	for i, p := range s.Pods {
		objs[i] = p
	}
	must(podStore.Replace(objs, ""))
	must(hpaStore.Replace([]any{s.HPA}, ""))
	enqueueHPA(c.hc, s.HPA)
	// The second HPA of an ambiguous scenario, as its own reconcile would
	// have registered it; removed otherwise.
	other := reflect.ValueOf(selectors.Key{Name: "web-b", Namespace: ns})
	nsv := reflect.ValueOf(ns)
	tr := c.field("selectorTracker")
	if s.Ambiguous {
		tr.MethodByName("PutIfAbsent").Call([]reflect.Value{nsv, other, reflect.ValueOf(labels.Nothing())})
		tr.MethodByName("PutIfPresent").Call([]reflect.Value{nsv, other, reflect.ValueOf(labels.SelectorFromSet(labels.Set{"app": "web"}))})
	} else {
		tr.MethodByName("Delete").Call([]reflect.Value{nsv, other})
	}
	key := s.HPA.Namespace + "/" + s.HPA.Name
	c.setHistory(key, s)
	before := time.Now()
	_, out.Err = reconcileKey(c.hc, klog.NewContext(c.ctx, klog.Background()), key)
	after := time.Now()
	c.getHistory(key, s.Base, &out)
	c.cur, c.out = nil, nil
	return out, before, after
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// field returns the controller's unexported field name, writable.
func (c *Controller) field(name string) reflect.Value {
	f := reflect.ValueOf(c.hc).Elem().FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

func set(v reflect.Value, name string, x any) {
	f := v.FieldByName(name)
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(x))
}

func get(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// setHistory replaces the controller's memory of key with s's.
func (c *Controller) setHistory(key string, s *Scenario) {
	recs, up, down := c.field("recommendations"), c.field("scaleUpEvents"), c.field("scaleDownEvents")
	k := reflect.ValueOf(key)
	for _, m := range []reflect.Value{recs, up, down} {
		m.SetMapIndex(k, reflect.Value{})
	}
	if !s.HasHistory {
		return
	}
	// The controller never holds an empty non-nil list (its first entry
	// is recorded when the list is nil), so an empty one is left unset.
	if len(s.Recs) > 0 {
		rl := reflect.MakeSlice(recs.Type().Elem(), len(s.Recs), len(s.Recs))
		for i, r := range s.Recs {
			e := rl.Index(i)
			set(e, "recommendation", r.Replicas)
			set(e, "timestamp", s.Base.Add(-r.Ago))
		}
		recs.SetMapIndex(k, rl)
	}
	for _, x := range []struct {
		m  reflect.Value
		ev []Event
	}{{up, s.Up}, {down, s.Down}} {
		if len(x.ev) == 0 {
			continue
		}
		l := reflect.MakeSlice(x.m.Type().Elem(), len(x.ev), len(x.ev))
		for i, ev := range x.ev {
			e := l.Index(i)
			set(e, "replicaChange", ev.Change)
			set(e, "timestamp", s.Base.Add(-ev.Ago))
			set(e, "outdated", ev.Outdated)
		}
		x.m.SetMapIndex(k, l)
	}
}

// getHistory reads the controller's memory of key after the reconcile;
// an entry stored during it has Ago ≤ 0.
func (c *Controller) getHistory(key string, base time.Time, out *Outcome) {
	k := reflect.ValueOf(key)
	if l := c.field("recommendations").MapIndex(k); l.IsValid() {
		for i := range l.Len() {
			e := l.Index(i)
			out.Recs = append(out.Recs, Rec{Replicas: int32(get(e, "recommendation").Int()),
				Ago: ago(base, get(e, "timestamp").Interface().(time.Time))})
		}
	}
	for _, x := range []struct {
		name string
		to   *[]Event
	}{{"scaleUpEvents", &out.Up}, {"scaleDownEvents", &out.Down}} {
		if l := c.field(x.name).MapIndex(k); l.IsValid() {
			for i := range l.Len() {
				e := l.Index(i)
				*x.to = append(*x.to, Event{Change: int32(get(e, "replicaChange").Int()),
					Ago: ago(base, get(e, "timestamp").Interface().(time.Time)), Outdated: get(e, "outdated").Bool()})
			}
		}
	}
}

// ago is base−t, with every instant at or after base read as 0 (stored
// during the reconcile).
func ago(base, t time.Time) time.Duration {
	if !t.Before(base) {
		return 0
	}
	return base.Sub(t)
}
