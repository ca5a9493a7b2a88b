package autoscale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kscale/kscale/schedule"
)

// DefaultCronResync is the longest a CronScaler waits between two syncs
// of a target when no transition comes sooner: the rule in force is
// re-asserted at least this often.
const DefaultCronResync = time.Minute

// CronTarget is a schedule applied to a scale target. When the target is
// an HorizontalPodAutoscaler (Kind "HorizontalPodAutoscaler", as in
// cronhpa-controller's HPA mode), or an autoscaling/v2 HPA's
// scaleTargetRef names the target, the HPA's minReplicas/maxReplicas are
// bounded instead of the replicas being written.
type CronTarget struct {
	Name      string
	Namespace string
	// ScaleTargetRef is any kind with a /scale subresource, or an HPA.
	ScaleTargetRef autoscalingv2.CrossVersionObjectReference
	Schedule       *schedule.Schedule
}

// CronTargetFromCronHPA converts a cronhpa-controller object
// (CronHorizontalPodAutoscaler) into a CronTarget; zone is the zone that
// controller ran in (its TZ). The report lists every change of meaning
// (see schedule.FromCronHPA).
func CronTargetFromCronHPA(obj schedule.CronHPA, zone string, now time.Time) (CronTarget, schedule.Report, error) {
	spec, rep, err := schedule.FromCronHPA(obj, zone, now)
	if err != nil {
		return CronTarget{}, rep, err
	}
	s, err := schedule.New(spec)
	if err != nil {
		return CronTarget{}, rep, err
	}
	ref := obj.Spec.ScaleTargetRef
	return CronTarget{Name: obj.Metadata.Name, Namespace: obj.Metadata.Namespace, Schedule: s,
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name}}, rep, nil
}

// CronScalerConfig configures a CronScaler. Zero fields take the defaults
// given on them.
type CronScalerConfig struct {
	// Clients: Kube, Scale and Mapper are required; the metrics clients are unused.
	Clients Clients
	Targets []CronTarget
	// Resync bounds the wait between two syncs of a target (1m).
	Resync time.Duration
	// Workers is the number of concurrent syncs (2).
	Workers int
	// DryRun computes and reports but writes nothing.
	DryRun bool
	// Registerer receives the Prometheus metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger is the logger; the zero value takes klog's from Run's context.
	Logger logr.Logger
	// Recorder records Events; nil records them to the API server as "cron-scaler".
	Recorder record.EventRecorder
	// Clock is the time source (the real clock when nil); the queue waits on it.
	Clock clock.WithTicker
}

// CronScaler applies schedules to targets, level-triggered: each sync
// applies the rule in force now and requeues the target exactly at the
// next transition (or after Resync, whichever comes first), so a restart
// or a missed transition is corrected by the next sync, with no replay.
// Its methods are safe for concurrent use.
type CronScaler struct {
	cfg     CronScalerConfig
	m       *metrics
	queue   workqueue.TypedRateLimitingInterface[string]
	targets map[string]*CronTarget
	rec     recorder
}

// NewCronScaler checks cfg and builds the scaler; Run starts it.
func NewCronScaler(cfg CronScalerConfig) (*CronScaler, error) {
	var errs []error
	if cfg.Clients.Kube == nil || cfg.Clients.Scale == nil || cfg.Clients.Mapper == nil {
		errs = append(errs, errors.New("clients.kube, clients.scale and clients.mapper are required"))
	}
	if cfg.Resync < 0 || cfg.Workers < 0 {
		errs = append(errs, fmt.Errorf("resync %v and workers %d must not be negative", cfg.Resync, cfg.Workers))
	}
	targets := map[string]*CronTarget{}
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		key := t.Namespace + "/" + t.Name
		switch {
		case t.Name == "" || t.ScaleTargetRef.Kind == "" || t.ScaleTargetRef.Name == "":
			errs = append(errs, fmt.Errorf("targets[%d]: name, scaleTargetRef.kind and scaleTargetRef.name are required", i))
		case t.Schedule == nil:
			errs = append(errs, fmt.Errorf("targets[%d].schedule is required", i))
		case targets[key] != nil:
			errs = append(errs, fmt.Errorf("targets[%d]: duplicate target %s", i, key))
		}
		targets[key] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.Resync == 0 {
		cfg.Resync = DefaultCronResync
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	m, err := newMetrics(cfg.Registerer, "cronscaler")
	if err != nil {
		return nil, err
	}
	cs := &CronScaler{cfg: cfg, m: m, targets: targets,
		queue: newQueue("cronscaler", workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute), cfg.Clock)}
	cs.rec.rec = cfg.Recorder
	return cs, nil
}

// Run syncs every target at once, then at each transition, until ctx ends.
func (cs *CronScaler) Run(ctx context.Context) error {
	log := cs.cfg.Logger
	if log.GetSink() == nil {
		log = klog.FromContext(ctx)
	}
	ctx = logr.NewContext(ctx, log)
	defer cs.queue.ShutDown()
	defer cs.rec.start(cs.cfg.Clients.Kube, "cron-scaler")()
	cs.cfg.Clients.refreshDiscovery(ctx)
	log.Info("Starting cron scaler", "targets", len(cs.targets), "dryRun", cs.cfg.DryRun)
	for key := range cs.targets {
		cs.queue.Add(key)
	}
	runWorkers(ctx, cs.queue, cs.cfg.Workers, cs.worker)
	log.Info("Stopped cron scaler")
	return nil
}

func (cs *CronScaler) worker(ctx context.Context) {
	for {
		key, quit := cs.queue.Get()
		if quit {
			return
		}
		d, err := cs.Sync(ctx, key)
		if err != nil {
			logr.FromContextOrDiscard(ctx).Error(err, "Cron sync failed", "key", key)
			cs.queue.AddRateLimited(key)
			if d.RequeueAfter > 0 { // a long backoff must not skip a transition
				cs.queue.AddAfter(key, d.RequeueAfter)
			}
		} else {
			cs.queue.Forget(key)
			cs.queue.AddAfter(key, d.RequeueAfter)
		}
		cs.queue.Done(key)
	}
}

// CronDecision is what one CronScaler sync decided and did.
type CronDecision struct {
	// State is the schedule at the sync: the rule in force, its bounds, the next transition.
	State schedule.State `json:"state"`
	// Desired and Rescale are the target's count when no HPA owns it.
	Desired int32 `json:"desired"`
	Rescale bool  `json:"rescale"`
	// HPAs are the changes to the HPAs that own the target.
	HPAs []HPAChange `json:"hpas,omitempty"`
	// RequeueAfter is when the next sync is due.
	RequeueAfter time.Duration `json:"requeueAfter"`
	Reason       string        `json:"reason"`
	Message      string        `json:"message"`
}

// HPAChange is the bounds written to one HPA owning a cron target.
type HPAChange = hpaChange

// Sync applies key's ("namespace/name") schedule now and returns the
// decision; Run calls it and requeues at d.RequeueAfter.
func (cs *CronScaler) Sync(ctx context.Context, key string) (CronDecision, error) {
	start := cs.cfg.Clock.Now()
	defer func() { cs.m.observe(start, cs.cfg.Clock.Now()) }()
	t := cs.targets[key]
	if t == nil {
		return CronDecision{}, fmt.Errorf("autoscale: %s: %w", key, ErrNotFound)
	}
	now := cs.cfg.Clock.Now()
	st := t.Schedule.At(now)
	hpas, err := cs.owners(ctx, t)
	if err != nil {
		cs.m.failed("target")
		return CronDecision{State: st, RequeueAfter: requeueAfter(now, st.Next, cs.cfg.Resync)}, err
	}
	views := make([]hpaView, len(hpas))
	for i, h := range hpas {
		views[i] = viewOf(h)
	}
	var current int32
	var regarding runtime.Object = &corev1.ObjectReference{APIVersion: t.ScaleTargetRef.APIVersion, Kind: t.ScaleTargetRef.Kind,
		Name: t.ScaleTargetRef.Name, Namespace: t.Namespace}
	var gr schema.GroupResource
	if len(hpas) == 0 {
		sc, g, err := getScale(ctx, &cs.cfg.Clients, t.Namespace, t.ScaleTargetRef)
		if err != nil {
			cs.m.failed("scale")
			cs.event(regarding, corev1.EventTypeWarning, "FailedGetScale", err.Error())
			return CronDecision{State: st, RequeueAfter: requeueAfter(now, st.Next, cs.cfg.Resync)}, err
		}
		current, gr = sc.Spec.Replicas, g
	}
	p := planCron(now, st, cs.cfg.Resync, current, views)
	d := CronDecision{State: p.State, Desired: p.Desired, Rescale: p.Rescale, HPAs: p.HPAs, RequeueAfter: p.RequeueAfter, Reason: p.Reason, Message: p.Message}
	log := logr.FromContextOrDiscard(ctx).WithValues("key", key)
	var errs []error
	if p.Rescale {
		if cs.cfg.DryRun {
			log.Info("Dry run: would rescale", "from", current, "to", p.Desired, "rule", st.Rule)
			cs.event(regarding, corev1.EventTypeNormal, ReasonDryRunRescale, p.Message+" (dry run: not applied)")
		} else if err := cs.rescale(ctx, t, gr, st); err != nil {
			cs.m.failed("scale")
			cs.event(regarding, corev1.EventTypeWarning, "FailedRescale", fmt.Sprintf("%s; error: %v", p.Message, err))
			errs = append(errs, err)
		} else {
			cs.event(regarding, corev1.EventTypeNormal, p.Reason, p.Message)
		}
	}
	for _, c := range p.HPAs {
		obj := hpaNamed(hpas, c.Name)
		if cs.cfg.DryRun {
			log.Info("Dry run: would bound HPA", "hpa", c.Name, "bounds", c.Bounds.String(), "restore", c.Restore)
			cs.event(obj, corev1.EventTypeNormal, c.Reason, c.Message+" (dry run: not applied)")
			continue
		}
		if err := cs.boundHPA(ctx, t.Namespace, c); err != nil {
			cs.m.failed("hpa")
			cs.event(obj, corev1.EventTypeWarning, "FailedBoundHPA", fmt.Sprintf("%s; error: %v", c.Message, err))
			errs = append(errs, err)
			continue
		}
		cs.event(obj, corev1.EventTypeNormal, c.Reason, c.Message)
	}
	if len(hpas) > 0 {
		cs.m.counted(p.Reason, len(p.HPAs) > 0)
	} else {
		cs.m.decided(key, p.Reason, p.Rescale, current, p.Desired)
	}
	log.V(2).Info("Cron synced", "rule", st.Rule, "bounds", st.Bounds.String(), "reason", p.Reason, "message", p.Message,
		"next", st.Next, "requeueAfter", p.RequeueAfter, "dryRun", cs.cfg.DryRun)
	return d, errors.Join(errs...)
}

func (cs *CronScaler) event(obj runtime.Object, typ, reason, msg string) {
	if rec := cs.rec.get(); rec != nil && obj != nil {
		rec.Event(obj, typ, reason, msg)
	}
}

func hpaNamed(hpas []*autoscalingv2.HorizontalPodAutoscaler, name string) *autoscalingv2.HorizontalPodAutoscaler {
	for _, h := range hpas {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// owners returns the HPAs that own t's target: the HPA t names, or every
// autoscaling/v2 HPA of the namespace whose scaleTargetRef names it.
func (cs *CronScaler) owners(ctx context.Context, t *CronTarget) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	api := cs.cfg.Clients.Kube.AutoscalingV2().HorizontalPodAutoscalers(t.Namespace)
	ref := t.ScaleTargetRef
	if ref.Kind == "HorizontalPodAutoscaler" {
		h, err := api.Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []*autoscalingv2.HorizontalPodAutoscaler{h}, nil
	}
	list, err := api.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	var out []*autoscalingv2.HorizontalPodAutoscaler
	for i := range list.Items {
		r := list.Items[i].Spec.ScaleTargetRef
		rgv, _ := schema.ParseGroupVersion(r.APIVersion)
		if r.Kind == ref.Kind && r.Name == ref.Name && rgv.Group == gv.Group {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

func viewOf(h *autoscalingv2.HorizontalPodAutoscaler) hpaView {
	v := hpaView{Name: h.Name, Bounds: HPABounds{MinReplicas: h.Spec.MinReplicas, MaxReplicas: h.Spec.MaxReplicas}}
	if text, ok := h.Annotations[AnnotationOriginalBounds]; ok {
		var b HPABounds
		if err := json.Unmarshal([]byte(text), &b); err != nil || b.MaxReplicas < 1 || (b.MinReplicas != nil && *b.MinReplicas < 0) {
			// An unreadable record is replaced by the HPA's present bounds.
			v.Invalid = fmt.Errorf("annotation %s: %q is not valid bounds", AnnotationOriginalBounds, text)
		} else {
			v.Saved = &b
		}
	}
	return v
}

// rescale sets the target's count to the rule's, re-reading the scale on a
// conflict (the rule is level-triggered: it applies to the fresh count).
func (cs *CronScaler) rescale(ctx context.Context, t *CronTarget, gr schema.GroupResource, st schedule.State) error {
	scales := cs.cfg.Clients.Scale.Scales(t.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := scales.Get(ctx, gr, t.ScaleTargetRef.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		d, err := schedule.Compose(sc.Spec.Replicas, st.Bounds, schedule.PolicyClamp)
		if err != nil {
			return err
		}
		want := d.Replicas
		if want == sc.Spec.Replicas {
			return nil
		}
		sc.Spec.Replicas = want
		_, err = scales.Update(ctx, gr, sc, metav1.UpdateOptions{})
		return err
	})
}

// boundHPA writes c to the HPA, re-reading it on a conflict.
func (cs *CronScaler) boundHPA(ctx context.Context, ns string, c hpaChange) error {
	api := cs.cfg.Clients.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		h, err := api.Get(ctx, c.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		h.Spec.MinReplicas, h.Spec.MaxReplicas = c.Bounds.MinReplicas, c.Bounds.MaxReplicas
		switch {
		case c.Restore:
			delete(h.Annotations, AnnotationOriginalBounds)
		case c.Save != nil:
			b, err := json.Marshal(c.Save)
			if err != nil {
				return err
			}
			if h.Annotations == nil {
				h.Annotations = map[string]string{}
			}
			if _, ok := h.Annotations[AnnotationOriginalBounds]; !ok || viewOf(h).Invalid != nil {
				h.Annotations[AnnotationOriginalBounds] = string(b)
			}
		}
		_, err = api.Update(ctx, h, metav1.UpdateOptions{})
		return err
	})
}
