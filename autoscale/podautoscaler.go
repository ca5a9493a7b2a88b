package autoscale

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/podscale"
	"github.com/kscale/kscale/schedule"
)

// PodAutoscaler reconciles autoscaling/v2 HorizontalPodAutoscalers and
// programmatic Targets the way kube-controller-manager's HPA controller
// does, with the decision of package podscale (hpa's arithmetic composed
// with an optional schedule). See the package documentation.
//
// Its methods are safe for concurrent use; Run may be called once.
type PodAutoscaler struct {
	cfg     PodAutoscalerConfig
	m       *metrics
	queue   workqueue.TypedRateLimitingInterface[string]
	targets map[string]*Target

	podFactory informers.SharedInformerFactory
	hpaFactory informers.SharedInformerFactory
	pods       corelisters.PodLister
	hpas       autoscalinglisters.HorizontalPodAutoscalerLister
	synced     []cache.InformerSynced
	running    atomic.Bool
	rec        recorder

	mu        sync.Mutex
	entries   map[string]*entry
	selectors map[string]map[string]labels.Selector // namespace → key → pod selector
}

// entry is what the controller keeps per key. Its mutex serializes the
// syncs and Recommend calls of one key.
type entry struct {
	mu     sync.Mutex
	state  hpa.State
	loaded bool
	saved  string // the state as last persisted (JSON)
	// The HPA's schedule annotation, compiled.
	schedText string
	sched     *schedule.Schedule
	schedErr  error
}

// NewPodAutoscaler checks cfg and builds the controller. It starts nothing:
// Run does. Recommend works before Run, reading from the API directly.
func NewPodAutoscaler(cfg PodAutoscalerConfig) (*PodAutoscaler, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer, "podautoscaler")
	if err != nil {
		return nil, err
	}
	pa := &PodAutoscaler{cfg: cfg, m: m, targets: map[string]*Target{}, entries: map[string]*entry{},
		selectors: map[string]map[string]labels.Selector{},
		queue:     newQueue("podautoscaler", fixedInterval{cfg.HPA.SyncPeriod}, cfg.Clock)}
	pa.rec.rec = cfg.Recorder
	for i := range cfg.Targets {
		t := &pa.cfg.Targets[i]
		pa.targets[TargetKey(t.Namespace, t.Name)] = t
	}
	pa.podFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Clients.Kube, cfg.Resync, informers.WithNamespace(cfg.Namespace))
	podInf := pa.podFactory.Core().V1().Pods()
	pa.pods = podInf.Lister()
	pa.synced = append(pa.synced, podInf.Informer().HasSynced)
	if !cfg.IgnoreHPAs {
		pa.hpaFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Clients.Kube, cfg.Resync, informers.WithNamespace(cfg.Namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = cfg.HPASelector }))
		hpaInf := pa.hpaFactory.Autoscaling().V2().HorizontalPodAutoscalers()
		pa.hpas = hpaInf.Lister()
		pa.synced = append(pa.synced, hpaInf.Informer().HasSynced)
		if _, err := hpaInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    pa.enqueue,
			UpdateFunc: func(_, obj any) { pa.enqueue(obj) },
			DeleteFunc: pa.deleted,
		}); err != nil {
			return nil, err
		}
	}
	return pa, nil
}

// enqueue adds an HPA with a delay of one sync period, as upstream: a key
// already waiting is not added twice, so each HPA syncs once per period.
func (pa *PodAutoscaler) enqueue(obj any) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		pa.queue.AddRateLimited(key)
	}
}

func (pa *PodAutoscaler) deleted(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	pa.queue.Forget(key)
	pa.forget(key)
}

func (pa *PodAutoscaler) forget(key string) {
	pa.mu.Lock()
	delete(pa.entries, key)
	for _, m := range pa.selectors {
		delete(m, key)
	}
	pa.mu.Unlock()
	pa.m.forget(key)
}

// Run starts the informers, waits for their caches, and syncs every HPA
// and Target once per sync period with cfg.Workers workers until ctx ends.
func (pa *PodAutoscaler) Run(ctx context.Context) error {
	log := pa.logger(ctx)
	ctx = logr.NewContext(ctx, log)
	defer pa.queue.ShutDown()
	defer pa.rec.start(pa.cfg.Clients.Kube, "horizontal-pod-autoscaler")()
	defer pa.stopInformers()
	pa.cfg.Clients.refreshDiscovery(ctx)
	if err := pa.startInformers(ctx); err != nil {
		return err
	}
	log.Info("Starting pod autoscaler", "workers", pa.cfg.Workers, "syncPeriod", pa.cfg.HPA.SyncPeriod, "dryRun", pa.cfg.DryRun,
		"namespace", pa.cfg.Namespace, "targets", len(pa.targets))
	for key := range pa.targets {
		pa.queue.Add(key)
	}
	runWorkers(ctx, pa.queue, pa.cfg.Workers, pa.worker)
	log.Info("Stopped pod autoscaler")
	return nil
}

// startInformers starts the informers and waits for their caches; from
// then on syncs read pods and HPAs from the caches.
func (pa *PodAutoscaler) startInformers(ctx context.Context) error {
	pa.podFactory.Start(ctx.Done())
	if pa.hpaFactory != nil {
		pa.hpaFactory.Start(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), pa.synced...) {
		return fmt.Errorf("autoscale: informer caches did not sync: %w", ctx.Err())
	}
	pa.running.Store(true)
	return nil
}

func (pa *PodAutoscaler) stopInformers() {
	pa.podFactory.Shutdown()
	if pa.hpaFactory != nil {
		pa.hpaFactory.Shutdown()
	}
}

// HasSynced reports whether Run's informer caches have synced (a
// readiness check); syncs before that read from the API.
func (pa *PodAutoscaler) HasSynced() bool { return pa.running.Load() }

func (pa *PodAutoscaler) logger(ctx context.Context) logr.Logger {
	if pa.cfg.Logger.GetSink() != nil {
		return pa.cfg.Logger
	}
	return klog.FromContext(ctx)
}

func (pa *PodAutoscaler) worker(ctx context.Context) {
	for pa.next(ctx) {
	}
}

func (pa *PodAutoscaler) next(ctx context.Context) bool {
	key, quit := pa.queue.Get()
	if quit {
		return false
	}
	defer pa.queue.Done(key)
	gone, err := pa.Sync(ctx, key)
	if err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "Sync failed", "key", key)
	}
	if !gone {
		pa.queue.AddRateLimited(key)
	}
	return true
}

// work is one key's object as read at the start of a sync.
type work struct {
	key          string
	namespace    string
	hpaObj       *autoscalingv2.HorizontalPodAutoscaler // nil for a Target
	target       *Target
	spec         *autoscalingv2.HorizontalPodAutoscalerSpec
	scheduleOnly bool
	sched        *schedule.Schedule
	policy       schedule.Policy
	regarding    runtime.Object
}

// lookup reads key's object: from the cache once Run has synced it, from
// the API before. gone is true when the HPA no longer exists.
func (pa *PodAutoscaler) lookup(ctx context.Context, key string) (w *work, gone bool, err error) {
	if t, ok := pa.targets[key]; ok {
		ref := t.Spec.ScaleTargetRef
		return &work{key: key, namespace: t.Namespace, target: t, spec: &t.Spec, scheduleOnly: t.ScheduleOnly, sched: t.Schedule, policy: t.Policy,
			regarding: &corev1.ObjectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, Namespace: t.Namespace}}, false, nil
	}
	if strings.HasPrefix(key, "target/") || pa.cfg.IgnoreHPAs {
		return nil, true, nil
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, true, err
	}
	var obj *autoscalingv2.HorizontalPodAutoscaler
	if pa.running.Load() {
		obj, err = pa.hpas.HorizontalPodAutoscalers(ns).Get(name)
	} else {
		obj, err = pa.cfg.Clients.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &work{key: key, namespace: ns, hpaObj: obj, spec: &obj.Spec, regarding: obj}, false, nil
}

func (pa *PodAutoscaler) entry(key string) *entry {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	e := pa.entries[key]
	if e == nil {
		e = &entry{}
		pa.entries[key] = e
	}
	return e
}

// Recommendation is what a sync of one key would do now, and why.
type Recommendation struct {
	Key string `json:"key"`
	// Target is the scale target.
	Target autoscalingv2.CrossVersionObjectReference `json:"target"`
	// Selector is the pod selector the target's scale reports.
	Selector string `json:"selector,omitempty"`
	// Pods is the number of pods the selector matches.
	Pods int `json:"pods"`
	// Schedule is the schedule's state now, when there is a schedule.
	Schedule *schedule.State `json:"schedule,omitempty"`
	// Decision is podscale's: the count, the reason, the HPA status.
	Decision podscale.Decision `json:"decision"`
	// Failure, when set, is the condition that stopped the sync before a
	// decision (AbleToScale=False FailedGetScale); Decision is then zero.
	Failure *hpa.Condition `json:"failure,omitempty"`
}

// Recommend returns what a sync of key ("namespace/name" for an HPA,
// TargetKey for a Target) would decide now, without writing anything and
// without changing the kept state. Before Run it reads from the API.
func (pa *PodAutoscaler) Recommend(ctx context.Context, key string) (Recommendation, error) {
	w, gone, err := pa.lookup(ctx, key)
	if err != nil {
		return Recommendation{}, err
	}
	if gone {
		return Recommendation{}, fmt.Errorf("autoscale: %s: %w", key, ErrNotFound)
	}
	e := pa.entry(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := pa.load(ctx, w, e); err != nil {
		return Recommendation{}, err
	}
	st := cloneState(e.state)
	o, err := pa.observe(ctx, w, e, false)
	if err != nil {
		return o.rec, err
	}
	return pa.decide(o, &st)
}
