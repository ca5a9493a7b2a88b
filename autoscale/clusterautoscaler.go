package autoscale

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/schedule"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// Defaults of ClusterAutoscalerConfig, cluster-autoscaler's where it has
// the flag.
const (
	// DefaultMaxPodEvictionTime is --max-pod-eviction-time.
	DefaultMaxPodEvictionTime = 2 * time.Minute
	// DefaultEvictionRetryTime is the wait between two eviction attempts
	// of a pod (upstream's EvictionRetryTime).
	DefaultEvictionRetryTime = 10 * time.Second
	// DefaultMaxGracefulTerminationSec is
	// --max-graceful-termination-sec.
	DefaultMaxGracefulTerminationSec = 600
	// DefaultStatusConfigMap is --status-config-map-name.
	DefaultStatusConfigMap = "cluster-autoscaler-status"
	// podEvictionHeadroom is how much longer than the largest grace
	// period a drain waits for evicted pods to go (upstream's
	// PodEvictionHeadroom).
	podEvictionHeadroom = 30 * time.Second
	// AnnotationCordoned marks a node the cluster autoscaler cordoned
	// itself, so that undoing a removal (or cleaning up after a restart)
	// uncordons only the nodes it cordoned.
	AnnotationCordoned = "autoscale.kscale.io/cordoned"
)

// ClusterAutoscalerConfig configures a ClusterAutoscaler. Zero fields take
// the defaults given on them, cluster-autoscaler's.
type ClusterAutoscalerConfig struct {
	// Kube is the cluster's client (required).
	Kube kubernetes.Interface
	// Provider is the cloud's node groups (required); autoscale never
	// imports cloud/*.
	Provider nodegroup.Provider
	// Loop configures the decision loop (autoscaler.Config: scan
	// interval, unneeded time, delays, max-node-provision-time, expander,
	// limits...); zero fields are cluster-autoscaler's defaults.
	Loop autoscaler.Config
	// Schedules drive pre-provisioning: workloads whose replicas a
	// schedule raises.
	Schedules []ScheduledWorkload
	// MaxPodEvictionTime bounds the retrying of one node's evictions
	// (--max-pod-eviction-time, 2m); EvictionRetryTime is the wait
	// between retries (10s); MaxGracefulTerminationSec caps a pod's grace
	// period (--max-graceful-termination-sec, 600).
	MaxPodEvictionTime        time.Duration
	EvictionRetryTime         time.Duration
	MaxGracefulTerminationSec int64
	// StatusNamespace ("kube-system") and StatusConfigMap
	// ("cluster-autoscaler-status") name the status ConfigMap.
	StatusNamespace, StatusConfigMap string
	// DryRun decides and reports but writes nothing: every Scan is a
	// Recommend (the State is left as it was).
	DryRun bool
	// Registerer receives the Prometheus metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger is the logger; the zero value takes klog's from Run's
	// context.
	Logger logr.Logger
	// Recorder records Events; nil records them to the API server as
	// "cluster-autoscaler" while Run runs.
	Recorder record.EventRecorder
	// Clock is the time source (the real clock when nil).
	Clock clock.WithTicker
	// Resync is the informers' resync period (10m).
	Resync time.Duration
	// Trace, if set, is called after every Step whose State is kept (a
	// Scan that is not a dry run) with what it saw and decided, for
	// replay tests. obs is reused by the next scan: copy what you keep.
	Trace func(now time.Time, obs *autoscaler.Observation, act autoscaler.Actions)
}

// ScheduledWorkload is a Deployment or StatefulSet whose replicas a
// schedule raises (a CronTarget's schedule, for example): the cluster
// autoscaler raises node groups ahead of its rises.
type ScheduledWorkload struct {
	Namespace, Name string
	// Kind is "Deployment" (the default) or "StatefulSet".
	Kind     string
	Schedule *schedule.Schedule
	// Policy composes the schedule's bounds with the current replicas
	// ("" is Clamp, as the CronScaler does).
	Policy schedule.Policy
	// StartUp is how long the workload's pods take to become ready once
	// bound.
	StartUp time.Duration
}

// ScheduledFromCronTarget is the ScheduledWorkload of a CronTarget that
// writes a Deployment's or StatefulSet's replicas (with the CronScaler's
// Clamp policy); startUp is its pods' start-up time.
func ScheduledFromCronTarget(t CronTarget, startUp time.Duration) (ScheduledWorkload, error) {
	ref := t.ScaleTargetRef
	w := ScheduledWorkload{Namespace: t.Namespace, Name: ref.Name, Kind: ref.Kind, Schedule: t.Schedule,
		Policy: schedule.PolicyClamp, StartUp: startUp}
	if w.Namespace == "" {
		w.Namespace = "default"
	}
	if err := w.check(); err != nil {
		return ScheduledWorkload{}, fmt.Errorf("%w: cron target %s/%s: %w", ErrInvalidConfig, t.Namespace, t.Name, err)
	}
	return w, nil
}

func (w *ScheduledWorkload) check() error {
	var errs []error
	if w.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	switch w.Kind {
	case "", "Deployment", "StatefulSet":
	default:
		errs = append(errs, fmt.Errorf("kind %q is not Deployment or StatefulSet", w.Kind))
	}
	if w.Schedule == nil {
		errs = append(errs, errors.New("schedule is required"))
	}
	if err := checkPolicy(w.Policy); err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	if w.StartUp < 0 || w.StartUp > 24*time.Hour {
		errs = append(errs, fmt.Errorf("startUp %s is out of [0, 24h]", w.StartUp))
	}
	return errors.Join(errs...)
}

// ClusterAutoscaler is cluster-autoscaler on client-go: each scan it
// observes the cluster through shared informers and the node groups
// through a nodegroup.Provider, lets the pure loop autoscaler.Step decide,
// and carries the decision out (IncreaseSize, DecreaseTargetSize, taint,
// cordon, evict, DeleteNodes). Scan, Recommend and State are safe for
// concurrent use.
type ClusterAutoscaler struct {
	cfg  ClusterAutoscalerConfig
	log  logr.Logger
	loop *autoscaler.Autoscaler // guarded by mu
	mu   sync.Mutex             // one scan at a time; guards loop, obs and the caches
	rep  *clusterReporter
	rec  recorder

	factory  informers.SharedInformerFactory
	synced   []cache.InformerSynced
	started  atomic.Bool
	nodes    corelisters.NodeLister
	pdbs     policylisters.PodDisruptionBudgetLister
	dsets    appslisters.DaemonSetLister
	pvs      corelisters.PersistentVolumeLister
	pvcs     corelisters.PersistentVolumeClaimLister
	deploys  appslisters.DeploymentLister
	stsets   appslisters.StatefulSetLister
	podStore cache.Store

	// version and podsVersion are bumped by the informers' handlers
	// (Observation.Version, .PodsVersion); volVersion by PV/PVC events.
	version, podsVersion, volVersion atomic.Int64

	obsCache // guarded by mu
	// dryRemoval is the removal simulation of the last dry run.
	dryRemoval *autoscaler.Removal

	dmu      sync.Mutex
	dgen     int64                // bumped when draining changes
	draining map[string]*drainJob // node name → its removal in progress
	finished []Removal            // removals ended since the last scan
	drains   sync.WaitGroup
}

// NewClusterAutoscaler checks cfg and builds the controller; Run starts
// it.
func NewClusterAutoscaler(cfg ClusterAutoscalerConfig) (*ClusterAutoscaler, error) {
	var errs []error
	if cfg.Kube == nil {
		errs = append(errs, errors.New("kube is required"))
	}
	if cfg.Provider == nil {
		errs = append(errs, errors.New("provider is required"))
	}
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"maxPodEvictionTime", &cfg.MaxPodEvictionTime, DefaultMaxPodEvictionTime},
		{"evictionRetryTime", &cfg.EvictionRetryTime, DefaultEvictionRetryTime},
		{"resync", &cfg.Resync, DefaultResync},
	}
	for _, d := range durs {
		switch {
		case *d.v < 0:
			errs = append(errs, fmt.Errorf("%s: %s is negative", d.name, *d.v))
		case *d.v > 24*time.Hour:
			errs = append(errs, fmt.Errorf("%s: %s is over 24h", d.name, *d.v))
		case *d.v == 0:
			*d.v = d.def
		}
	}
	switch {
	case cfg.MaxGracefulTerminationSec < 0:
		errs = append(errs, fmt.Errorf("maxGracefulTerminationSec: %d is negative", cfg.MaxGracefulTerminationSec))
	case cfg.MaxGracefulTerminationSec > 24*3600:
		errs = append(errs, fmt.Errorf("maxGracefulTerminationSec: %d is over a day", cfg.MaxGracefulTerminationSec))
	case cfg.MaxGracefulTerminationSec == 0:
		cfg.MaxGracefulTerminationSec = DefaultMaxGracefulTerminationSec
	}
	loop, err := autoscaler.New(cfg.Loop)
	if err != nil {
		errs = append(errs, fmt.Errorf("loop: %w", err))
	}
	seen := map[string]bool{}
	for i := range cfg.Schedules {
		w := &cfg.Schedules[i]
		if w.Kind == "" {
			w.Kind = "Deployment"
		}
		if w.Namespace == "" {
			w.Namespace = "default"
		}
		if w.Policy == "" {
			w.Policy = schedule.PolicyClamp
		}
		if err := w.check(); err != nil {
			errs = append(errs, fmt.Errorf("schedules[%d]: %w", i, err))
		}
		k := w.Kind + "/" + w.Namespace + "/" + w.Name
		if seen[k] {
			errs = append(errs, fmt.Errorf("schedules[%d]: %s is listed twice", i, k))
		}
		seen[k] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.StatusNamespace == "" {
		cfg.StatusNamespace = "kube-system"
	}
	if cfg.StatusConfigMap == "" {
		cfg.StatusConfigMap = DefaultStatusConfigMap
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	ca := &ClusterAutoscaler{cfg: cfg, log: cfg.Logger, loop: loop, draining: map[string]*drainJob{}}
	if ca.log.GetSink() == nil {
		ca.log = logr.Discard()
	}
	ca.rec.rec = cfg.Recorder
	ca.rep, err = newClusterReporter(cfg.Kube, &ca.rec, cfg.Registerer, ca.log, cfg.StatusNamespace, cfg.StatusConfigMap)
	if err != nil {
		return nil, err
	}
	ca.informers()
	return ca, nil
}

// informers sets up the shared informers and the handlers that keep the
// observation's versions.
func (ca *ClusterAutoscaler) informers() {
	f := informers.NewSharedInformerFactory(ca.cfg.Kube, ca.cfg.Resync)
	ca.factory = f
	pi, ni := f.Core().V1().Pods(), f.Core().V1().Nodes()
	ca.nodes, ca.podStore = ni.Lister(), pi.Informer().GetStore()
	ca.pdbs = f.Policy().V1().PodDisruptionBudgets().Lister()
	ca.dsets = f.Apps().V1().DaemonSets().Lister()
	ca.pvs = f.Core().V1().PersistentVolumes().Lister()
	ca.pvcs = f.Core().V1().PersistentVolumeClaims().Lister()
	infs := []cache.SharedIndexInformer{pi.Informer(), ni.Informer(), f.Policy().V1().PodDisruptionBudgets().Informer(),
		f.Apps().V1().DaemonSets().Informer(), f.Core().V1().PersistentVolumes().Informer(),
		f.Core().V1().PersistentVolumeClaims().Informer()}
	var deps, sts bool
	for _, w := range ca.cfg.Schedules {
		deps = deps || w.Kind == "Deployment"
		sts = sts || w.Kind == "StatefulSet"
	}
	if deps {
		ca.deploys = f.Apps().V1().Deployments().Lister()
		infs = append(infs, f.Apps().V1().Deployments().Informer())
	}
	if sts {
		ca.stsets = f.Apps().V1().StatefulSets().Lister()
		infs = append(infs, f.Apps().V1().StatefulSets().Informer())
	}
	for _, inf := range infs {
		ca.synced = append(ca.synced, inf.HasSynced)
	}
	bound := func(obj any) bool {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		p, ok := obj.(*corev1.Pod)
		return !ok || p.Spec.NodeName != ""
	}
	_, _ = pi.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			ca.podsVersion.Add(1)
			if bound(obj) {
				ca.version.Add(1)
			}
		},
		UpdateFunc: func(old, cur any) {
			if bound(old) || bound(cur) {
				ca.version.Add(1)
			}
			if !bound(old) || !bound(cur) {
				ca.podsVersion.Add(1) // a pending pod changed (became unschedulable, got bound)
			}
		},
		DeleteFunc: func(obj any) {
			ca.podsVersion.Add(1)
			if bound(obj) {
				ca.version.Add(1)
			}
		},
	})
	bump := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { ca.version.Add(1) },
		UpdateFunc: func(any, any) { ca.version.Add(1) },
		DeleteFunc: func(any) { ca.version.Add(1) },
	}
	_, _ = ni.Informer().AddEventHandler(bump)
	vol := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { ca.volVersion.Add(1) },
		UpdateFunc: func(any, any) { ca.volVersion.Add(1) },
		DeleteFunc: func(any) { ca.volVersion.Add(1) },
	}
	_, _ = f.Core().V1().PersistentVolumes().Informer().AddEventHandler(vol)
	_, _ = f.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(vol)
}

// StartInformers starts the shared informers (once) and waits until they
// have synced or ctx ends; Scan and Recommend need it (Run calls it).
func (ca *ClusterAutoscaler) StartInformers(ctx context.Context) error {
	ca.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), ca.synced...) {
		return fmt.Errorf("autoscale: cluster autoscaler informers did not sync: %w", context.Cause(ctx))
	}
	ca.started.Store(true)
	return nil
}

// HasSynced reports whether the informers have synced.
func (ca *ClusterAutoscaler) HasSynced() bool {
	if !ca.started.Load() {
		return false
	}
	for _, s := range ca.synced {
		if !s() {
			return false
		}
	}
	return true
}

// State is a copy of the loop's state.
func (ca *ClusterAutoscaler) State() autoscaler.State {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.loop.State.Clone()
}

// Run starts the informers, waits for them, removes the
// ToBeDeletedByClusterAutoscaler taints a previous run left (as
// cluster-autoscaler does at start), then scans every ScanInterval until
// ctx ends. It returns after the drains in progress have stopped.
func (ca *ClusterAutoscaler) Run(ctx context.Context) error {
	if ca.cfg.Logger.GetSink() == nil {
		ca.log = klog.FromContext(ctx)
	}
	log := ca.log
	ctx = logr.NewContext(ctx, log)
	defer ca.rec.start(ca.cfg.Kube, "cluster-autoscaler")()
	defer ca.drains.Wait() // before the recorder stops: drains report
	if err := ca.StartInformers(ctx); err != nil {
		return err
	}
	interval := ca.loop.Config().ScanInterval
	log.Info("Starting cluster autoscaler", "scanInterval", interval, "dryRun", ca.cfg.DryRun, "schedules", len(ca.cfg.Schedules))
	if !ca.cfg.DryRun {
		ca.cleanStaleTaints(ctx)
	}
	t := ca.cfg.Clock.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := ca.Scan(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "Cluster autoscaler scan failed")
		}
		select {
		case <-ctx.Done():
			log.Info("Stopped cluster autoscaler")
			return nil
		case <-t.C():
		}
	}
}

// ErrNotSynced is returned by Scan and Recommend before the informers
// have synced.
var ErrNotSynced = errors.New("autoscale: informers not synced (call Run or StartInformers)")

// Scan runs one scan now: observe, autoscaler.Step, carry the actions out
// (in a dry run, as Recommend). The result is published (status
// ConfigMap, Events, metrics) whether or not the scan failed.
func (ca *ClusterAutoscaler) Scan(ctx context.Context) (ScanResult, error) {
	return ca.scan(ctx, ca.cfg.DryRun)
}

// Recommend is what a scan would decide now; it writes nothing and
// leaves the State as it was.
func (ca *ClusterAutoscaler) Recommend(ctx context.Context) (ScanResult, error) {
	return ca.scan(ctx, true)
}

func (ca *ClusterAutoscaler) scan(ctx context.Context, dry bool) (ScanResult, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	now := ca.cfg.Clock.Now()
	res := ScanResult{Time: now, DryRun: dry}
	err := ca.scanLocked(ctx, now, dry, &res)
	if err != nil {
		res.Err = err.Error()
		ca.log.V(1).Info("Scan ended early", "err", err)
	}
	res.Backoff = ca.loop.State.Clone().Backoff
	ca.rep.publish(ctx, &res)
	return res, err
}

func (ca *ClusterAutoscaler) scanLocked(ctx context.Context, now time.Time, dry bool, res *ScanResult) error {
	if !ca.HasSynced() {
		return ErrNotSynced
	}
	if !dry {
		res.Finished = ca.takeFinished()
	}
	v, err := ca.observe(ctx, now)
	if err != nil {
		return err
	}
	obs := &ca.obs
	var saved autoscaler.State
	if dry {
		// Step on the State as it is, then put it back. The removal
		// simulation is a cache keyed by what it read (State.Removal):
		// dry runs keep their own, so that repeated ones reuse it.
		saved = ca.loop.State.Clone()
		if ca.dryRemoval != nil {
			ca.loop.State.Removal = ca.dryRemoval
		}
	}
	act, err := ca.loop.Step(now, obs)
	if err == nil {
		// The nodes the loop holds unneeded (as it would, in a dry run).
		ca.rep.setUnneeded(ca.unneededByGroup())
	}
	if dry {
		ca.dryRemoval = ca.loop.State.Removal
		ca.loop.State = saved
	}
	if err != nil {
		return fmt.Errorf("autoscale: cluster autoscaler step: %w", err)
	}
	if !dry && ca.cfg.Trace != nil {
		ca.cfg.Trace(now, obs, act)
	}
	res.Actions = act
	ca.fillResult(res, v, &act)
	if dry {
		return nil
	}
	ca.carryOut(ctx, now, v, &act, res)
	return nil
}

// unneededByGroup counts the loop's unneeded nodes per group.
func (ca *ClusterAutoscaler) unneededByGroup() map[string]int {
	out := map[string]int{}
	if len(ca.loop.State.Unneeded) == 0 {
		return out
	}
	for i := range ca.obs.Nodes {
		n := &ca.obs.Nodes[i]
		if _, ok := ca.loop.State.Unneeded[n.Name]; ok && n.Group != "" {
			out[n.Group]++
		}
	}
	return out
}

// fillResult fills the observed part of res.
func (ca *ClusterAutoscaler) fillResult(res *ScanResult, v *view, act *autoscaler.Actions) {
	res.Nodes, res.ReadyNodes = v.nodes, v.ready
	res.Unschedulable = v.unschedulable
	for i, g := range ca.obs.Groups {
		res.Groups = append(res.Groups, GroupStatus{ID: g.ID, Min: g.Min, Max: g.Max, Target: v.targets[i],
			Registered: v.registered[g.ID], Ready: v.readyIn[g.ID], Upcoming: act.Upcoming[g.ID]})
	}
	res.Draining = ca.drainingNodes()
}

// groupOf is the node group with this id among the scan's groups.
func (v *view) groupOf(id string) nodegroup.NodeGroup {
	for i, g := range v.groups {
		if g.Id() == id {
			return v.groups[i]
		}
	}
	return nil
}
