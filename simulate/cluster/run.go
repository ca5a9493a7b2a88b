package cluster

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/fake"
	"github.com/kscale/kscale/podscale"
	"github.com/kscale/kscale/schedule"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// Options tune a run without changing the scenario.
type Options struct {
	// Duration, when positive, replaces the scenario's duration; it must be
	// whole seconds and within Limits.MaxDuration (negative is refused).
	Duration time.Duration
	// Limits bound the scenario and the output; zero fields take
	// DefaultLimits.
	Limits Limits
	// Progress, when set, is called after every simulated hour and at the
	// end with the simulated time done and the total.
	Progress func(done, total time.Duration)
	// Check verifies the simulator's invariants at every sample (every pod
	// pending, starting or running on a live node; nodes matching their
	// groups; node usage equal to its pods' requests) and fails the run
	// on the first violation. For tests; it costs time.
	Check bool
}

// pod is one replica.
type pod struct {
	w       *wl
	name    string
	node    *node
	created int64 // seconds from the start
	bound   int64 // -1 while pending
	readyAt int64 // when it becomes (or became) ready; -1 while pending
}

func (p *pod) ready(now int64) bool { return p.bound >= 0 && now >= p.readyAt }

// wl is a workload's live state.
type wl struct {
	idx      int
	spec     *Workload
	tmpl     simulate.Pod // the pods as simulate sees them, built once
	cpu, mem int64        // requests, milli-CPU and bytes
	perReq   int64        // milli-CPU per request per second
	base     int64
	hpaSpec  *hpa.Spec
	target   int32 // CPU utilization target, percent (0: none)
	hstate   hpa.State
	sched    *schedule.Schedule
	policy   schedule.Policy
	bounds   schedule.Bounds
	schedAt  int64 // next second the schedule state may change
	replicas int32
	pods     []*pod
	seq      int
	offset   int64 // HPA sync offset within the period
	cursor   int   // first-fit cursor over nodes
	util     float64
	lastUtil int64 // second of the last utilization reading
	// The HPA's view, kept in step with pods (same index).
	hpods   []hpa.Pod
	samples []hpa.PodSample
	nready  int
	metrics []hpa.MetricInput
	conts   []hpa.Container
	// per-workload accounting
	above, pendingSec float64
	pendingHot        float64 // pending pod-seconds while above target
	hot               bool    // utilization above target (beyond the tolerance)
	npend             int
	peak              int32
	rescales          int
	maxWait           int64 // longest wait for a node of a pod bound (or still pending at the end), seconds
	// service model beyond CPU
	memBase, memPerReq, memLeak int64 // bytes; bytes per request per second; bytes per hour
	qrate, queue                float64
	kinds                       []metricKind // how each HPA metric is observed
	issues                      []*HPAIssue  // why the HPA could not act, by first occurrence
}

// node is a registered node.
type node struct {
	name, providerID string
	g                *grp
	cpu, mem, maxPod int64 // allocatable
	ucpu, umem       int64 // requested
	pods             []*pod
}

// grp is a node group's live state.
type grp struct {
	idx       int
	spec      *Group
	ng        nodegroup.NodeGroup
	template  nodegroup.Template
	target    int
	due       []int64 // seconds at which launches become ready
	known     map[string]bool
	nodeSec   float64
	scaleUps  int
	downs     int
	failed    int
	stockOut  bool
	nodeCount int
}

// readyHeap orders pods by readiness time.
type readyHeap []*pod

func (h readyHeap) Len() int           { return len(h) }
func (h readyHeap) Less(i, j int) bool { return h[i].readyAt < h[j].readyAt }
func (h readyHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)        { *h = append(*h, x.(*pod)) }
func (h *readyHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type sim struct {
	// onSync, set only by tests, sees every HPA sync: its input and state
	// before the decision, then the decision once applied.
	onSync  func(w *wl, in podscale.Input) func(podscale.Decision, error)
	sc      *Scenario
	opts    Options
	total   int64
	now     int64
	rng     *rand.Rand
	wls     []*wl
	groups  []*grp
	nodes   []*node
	prov    *fake.Provider
	fakeNow int64
	readyQ  readyHeap
	dirty   bool // pending pods may now fit
	pending int
	version int64 // changes whenever placement changes
	res     *Result
	pendSec float64
	maxPend int
	waits   int     // pods bound
	waitSum float64 // their seconds from creation to binding
	waitMax int64
	ca      *autoscaler.Autoscaler
	// caTrace, when set, sees every observation and decision (tests).
	caTrace func(now time.Time, obs *autoscaler.Observation, act autoscaler.Actions, err error)
	pre     *PreProvisionSummary
	obs     autoscaler.Observation // reused by observe
	obsVer  [2]int64               // version and podsVer obs was built at
	podsVer int64                  // changes whenever a pod is created or deleted
}

// Run simulates the scenario. It is deterministic: the same scenario, seed
// and options give the same result. ctx cancels a long run.
func Run(ctx context.Context, sc *Scenario, o Options) (*Result, error) {
	lim := o.Limits.orDefault()
	if err := sc.ValidateLimits(lim); err != nil {
		return nil, err
	}
	switch d := o.Duration; {
	case d < 0:
		return nil, fmt.Errorf("%w: Options.Duration %s must not be negative", ErrInvalidScenario, d)
	case d%time.Second != 0:
		return nil, fmt.Errorf("%w: Options.Duration %s is not a whole number of seconds", ErrInvalidScenario, d)
	case d > lim.MaxDuration:
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, limitErr("duration %s is over the limit of %s (MaxDuration)", d, lim.MaxDuration))
	}
	if e := EstimateOutput(sc, o); e.SeriesValues > lim.MaxSeriesValues {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, limitErr("%d samples × the series are %d values, over the limit of %d (MaxSeriesValues): raise sample or shorten the run",
			e.Samples, e.SeriesValues, lim.MaxSeriesValues))
	}
	s, err := newSim(sc, o)
	if err != nil {
		return nil, err
	}
	return s.run(ctx)
}

func newSim(sc *Scenario, o Options) (*sim, error) {
	s := &sim{sc: sc, opts: o, rng: rand.New(rand.NewPCG(sc.Seed, 0x6b7363616c65))}
	d := sc.Duration.Duration
	if o.Duration > 0 {
		d = o.Duration
	}
	s.total = int64(d / time.Second)
	ca, err := autoscaler.New(caConfig(sc))
	if err != nil {
		return nil, err
	}
	s.ca = ca
	if sc.ClusterAutoscaler.PreProvision {
		s.pre = &PreProvisionSummary{}
	}
	var cfgs []fake.GroupConfig
	for i := range sc.Groups {
		g := &sc.Groups[i]
		capacity := nodegroup.Resources{MilliCPU: milli(g.CPU), Memory: bytesOf(g.Memory), Pods: g.MaxPods}
		labels := map[string]string{nodegroup.LabelInstanceType: g.InstanceType, "kscale.io/group": g.Name,
			nodegroup.LabelCapacityType: nodegroup.CapacityOnDemand}
		if g.Spot {
			labels[nodegroup.LabelCapacityType] = nodegroup.CapacitySpot
		}
		for k, v := range g.Labels {
			labels[k] = v
		}
		t := nodegroup.Template{InstanceType: g.InstanceType, Capacity: capacity,
			Allocatable: nodegroup.Allocatable(capacity, nodegroup.EKSReservations(capacity)), Labels: labels, PricePerHour: g.PricePerHour}
		cfgs = append(cfgs, fake.GroupConfig{ID: g.Name, Min: g.Min, Max: g.Max, Size: g.Initial, Template: t,
			LaunchDelay: g.ProvisionDelay.Duration, Zone: labels["topology.kubernetes.io/zone"]})
		s.groups = append(s.groups, &grp{idx: i, spec: g, template: t, target: g.Initial, known: map[string]bool{}})
	}
	s.prov = fake.New(sc.Start, cfgs...)
	ngs, err := s.prov.NodeGroups(context.Background())
	if err != nil {
		return nil, err
	}
	for i, ng := range ngs {
		s.groups[i].ng = ng
	}
	for _, g := range s.groups {
		s.registerRunning(g)
	}
	period := int64(sc.HPA.SyncPeriod.Duration / time.Second)
	for i := range sc.Workloads {
		ws := &sc.Workloads[i]
		w := &wl{idx: i, spec: ws, cpu: milli(ws.CPU), mem: bytesOf(ws.Memory), perReq: milli(ws.Service.CPUPerRequest),
			base: milli(ws.Service.BaseCPU), replicas: ws.Replicas, offset: int64(i) * period / int64(len(sc.Workloads)), schedAt: -1}
		w.memBase, w.memPerReq, w.memLeak = bytesOf(ws.Service.BaseMemory), bytesOf(ws.Service.MemoryPerRequest), bytesOf(ws.Service.MemoryGrowthPerHour)
		w.qrate = ws.Service.QueueServiceRate
		w.conts = []hpa.Container{{Name: AppContainer, Requests: hpa.Resources{{Name: hpa.ResourceCPU, Milli: w.cpu}, {Name: hpa.ResourceMemory, Milli: w.mem * 1000}}}}
		if ws.HPA != nil {
			spec, err := hpa.SpecFromV2(*ws.HPA)
			if err != nil {
				return nil, err
			}
			w.hpaSpec = &spec
			for i := range spec.Metrics {
				m := &spec.Metrics[i]
				if msg := unsimulated(m, ws); msg != "" {
					return nil, fmt.Errorf("%w: workloads[%d].hpa.metrics[%d]: %s", ErrInvalidScenario, w.idx, i, msg)
				}
				w.kinds = append(w.kinds, kindOf(m))
				if m.Type == hpa.ResourceMetric && m.Name == "cpu" && m.Target.Type == hpa.UtilizationTarget {
					w.target = m.Target.AverageUtilization
				}
			}
		}
		if ws.Schedule != nil {
			sch, pol, err := ws.Schedule.compile()
			if err != nil {
				return nil, err
			}
			w.sched, w.policy = sch, pol
		}
		for range ws.Replicas {
			s.newPod(w)
		}
		s.wls = append(s.wls, w)
	}
	return s, nil
}

func (s *sim) at(sec int64) time.Time { return s.sc.Start.Add(time.Duration(sec) * time.Second) }

func (s *sim) newPod(w *wl) {
	w.seq++
	p := &pod{w: w, name: w.spec.Name + "-" + strconv.Itoa(w.seq), created: s.now, bound: -1, readyAt: -1}
	w.pods = append(w.pods, p)
	w.hpods = append(w.hpods, hpa.Pod{Name: p.name, Phase: hpa.PodPending, Ready: hpa.ConditionFalse, Containers: w.conts})
	w.samples = append(w.samples, hpa.PodSample{Pod: p.name, Window: time.Minute})
	w.npend++
	s.pending++
	s.podsVer++
	s.dirty = true
}

// advanceFake moves the fake provider's clock to now.
func (s *sim) advanceFake() {
	if s.fakeNow < s.now {
		s.prov.Advance(time.Duration(s.now-s.fakeNow) * time.Second)
		s.fakeNow = s.now
	}
}

// registerRunning adds nodes for the group's running instances not yet
// known.
func (s *sim) registerRunning(g *grp) {
	insts, _ := g.ng.Nodes(context.Background())
	for _, in := range insts {
		if in.State != nodegroup.InstanceRunning || g.known[in.ProviderID] {
			continue
		}
		g.known[in.ProviderID] = true
		a := g.template.Allocatable
		n := &node{name: fmt.Sprintf("%s-%d", g.spec.Name, len(g.known)), providerID: in.ProviderID, g: g,
			cpu: a.MilliCPU, mem: a.Memory, maxPod: a.Pods}
		s.nodes = append(s.nodes, n)
		g.nodeCount++
		s.dirty = true
		s.version++
	}
}

func (s *sim) run(ctx context.Context) (*Result, error) {
	sc := s.sc
	s.res = &Result{Scenario: sc.Name, Start: sc.Start, Duration: Duration{time.Duration(s.total) * time.Second}, scenario: sc}
	s.initSeries()
	period := int64(sc.HPA.SyncPeriod.Duration / time.Second)
	scan := int64(sc.ClusterAutoscaler.ScanInterval.Duration / time.Second)
	sample := int64(sc.Sample.Duration / time.Second)
	if sample < 1 {
		sample = 1
	}
	hcfg := hpa.Config{SyncPeriod: sc.HPA.SyncPeriod.Duration, Tolerance: sc.HPA.Tolerance,
		CPUInitializationPeriod: sc.HPA.CPUInitializationPeriod.Duration, InitialReadinessDelay: sc.HPA.InitialReadinessDelay.Duration,
		DownscaleStabilizationWindow: sc.HPA.DownscaleStabilization.Duration}
	hcfg = withDefaults(hcfg)
	for s.now = 0; s.now <= s.total; s.now++ {
		if s.now%3600 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if s.opts.Progress != nil && s.now > 0 && s.now < s.total {
				s.opts.Progress(time.Duration(s.now)*time.Second, time.Duration(s.total)*time.Second)
			}
		}
		s.stockOuts()
		s.launches()
		s.readiness()
		if s.dirty {
			s.schedule()
		}
		for _, w := range s.wls {
			if w.qrate > 0 && s.now > 0 {
				s.stepQueue(w, w.spec.Load.Rate(sc.Start, time.Duration(s.now)*time.Second))
			}
			if s.now%period == w.offset {
				s.syncWorkload(w, &hcfg)
			}
		}
		if s.dirty {
			s.schedule()
		}
		if !sc.ClusterAutoscaler.Disabled && s.now%scan == 0 {
			s.autoscaleNodes()
			if s.dirty {
				s.schedule()
			}
		}
		s.watchRises()
		if s.now%sample == 0 || s.now == s.total {
			if s.opts.Check {
				if err := s.check(); err != nil {
					return nil, fmt.Errorf("cluster: invariant broken at %s: %w", time.Duration(s.now)*time.Second, err)
				}
			}
			s.record()
		}
		if s.now < s.total {
			s.integrate()
		}
	}
	if s.opts.Progress != nil {
		s.opts.Progress(time.Duration(s.total)*time.Second, time.Duration(s.total)*time.Second)
	}
	s.summarize()
	return s.res, nil
}

func withDefaults(c hpa.Config) hpa.Config {
	d := hpa.DefaultConfig()
	if c.SyncPeriod == 0 {
		c.SyncPeriod = d.SyncPeriod
	}
	if c.Tolerance == 0 {
		c.Tolerance = d.Tolerance
	}
	if c.CPUInitializationPeriod == 0 {
		c.CPUInitializationPeriod = d.CPUInitializationPeriod
	}
	if c.InitialReadinessDelay == 0 {
		c.InitialReadinessDelay = d.InitialReadinessDelay
	}
	if c.DownscaleStabilizationWindow == 0 {
		c.DownscaleStabilizationWindow = d.DownscaleStabilizationWindow
	}
	c.ScaleUpLimitFactor, c.ScaleUpLimitMinimum = d.ScaleUpLimitFactor, d.ScaleUpLimitMinimum
	return c
}

// integrate accounts one second.
func (s *sim) integrate() {
	s.pendSec += float64(s.pending)
	for _, g := range s.groups {
		g.nodeSec += float64(g.target)
	}
	if s.pending > 0 {
		for _, w := range s.wls {
			w.pendingSec += float64(w.npend)
			if w.hot {
				w.pendingHot += float64(w.npend)
			}
		}
	}
}

// stockOuts switches the groups' stock-out periods.
func (s *sim) stockOuts() {
	for _, g := range s.groups {
		on := false
		for _, p := range g.spec.StockOuts {
			if s.now >= int64(p.From.Duration/time.Second) && s.now < int64(p.To.Duration/time.Second) {
				on = true
			}
		}
		if on != g.stockOut {
			g.stockOut = on
			s.prov.SetOutOfCapacity(g.spec.Name, on)
		}
	}
}

// launches registers nodes whose launch is due.
func (s *sim) launches() {
	for _, g := range s.groups {
		if len(g.due) == 0 || g.due[0] > s.now {
			continue
		}
		for len(g.due) > 0 && g.due[0] <= s.now {
			g.due = g.due[1:]
		}
		s.advanceFake()
		s.registerRunning(g)
	}
}

// readiness marks pods whose start-up finished.
func (s *sim) readiness() {
	for len(s.readyQ) > 0 && s.readyQ[0].readyAt <= s.now {
		p := heap.Pop(&s.readyQ).(*pod)
		if i := p.w.index(p); p.node != nil && i >= 0 {
			hp := &p.w.hpods[i]
			hp.Ready, hp.ReadyTransition = hpa.ConditionTrue, s.at(p.readyAt)
			p.w.nready++
		}
	}
}

// fits reports whether p fits n.
func fits(w *wl, n *node) bool {
	if int64(len(n.pods)) >= n.maxPod || n.ucpu+w.cpu > n.cpu || n.umem+w.mem > n.mem {
		return false
	}
	for k, v := range w.spec.NodeSelector {
		if n.g.template.Labels[k] != v {
			return false
		}
	}
	return true
}

// schedule binds pending pods, first fit over nodes in registration order.
func (s *sim) schedule() {
	s.dirty = false
	if s.pending == 0 {
		return
	}
	for _, w := range s.wls {
		for _, p := range w.pods {
			if p.bound >= 0 {
				continue
			}
			for w.cursor < len(s.nodes) && !fits(w, s.nodes[w.cursor]) {
				w.cursor++
			}
			if w.cursor == len(s.nodes) {
				break
			}
			s.bind(p, s.nodes[w.cursor])
		}
	}
}

func (s *sim) bind(p *pod, n *node) {
	w := p.w
	p.node, p.bound = n, s.now
	lat := float64(w.spec.StartupLatency.Duration / time.Second)
	if w.spec.Jitter > 0 {
		lat *= 1 + w.spec.Jitter*(2*s.rng.Float64()-1)
	}
	p.readyAt = s.now + int64(math.Round(lat))
	if i := w.index(p); i >= 0 {
		hp := &w.hpods[i]
		hp.Phase, hp.StartTime = hpa.PodRunning, s.at(p.bound)
		hp.ReadyTransition = hp.StartTime
	}
	heap.Push(&s.readyQ, p)
	n.pods = append(n.pods, p)
	n.ucpu += w.cpu
	n.umem += w.mem
	w.npend--
	s.pending--
	s.waits++
	s.waitSum += float64(s.now - p.created)
	s.waitMax = max(s.waitMax, s.now-p.created)
	w.maxWait = max(w.maxWait, s.now-p.created)
	s.version++
}

// unbind takes p off its node; nodes gain room, so cursors restart.
func (s *sim) unbind(p *pod) {
	n := p.node
	for i, q := range n.pods {
		if q == p {
			n.pods = append(n.pods[:i], n.pods[i+1:]...)
			break
		}
	}
	n.ucpu -= p.w.cpu
	n.umem -= p.w.mem
	p.node = nil
	s.version++
	for _, w := range s.wls {
		w.cursor = 0
	}
	s.dirty = true
}

// removePod deletes a pod of w.
func (s *sim) removePod(w *wl, i int) {
	p := w.pods[i]
	s.podsVer++
	if p.bound >= 0 {
		if w.hpods[i].Ready == hpa.ConditionTrue {
			w.nready--
		}
		s.unbind(p)
	} else {
		w.npend--
		s.pending--
	}
	w.pods = append(w.pods[:i], w.pods[i+1:]...)
	w.hpods = append(w.hpods[:i], w.hpods[i+1:]...)
	w.samples = append(w.samples[:i], w.samples[i+1:]...)
}

// scaleTo sets a workload's replicas, creating pending pods or deleting
// pods as a ReplicaSet does: pending first, then not ready, then the
// newest.
func (s *sim) scaleTo(w *wl, n int32) {
	if n == w.replicas {
		return
	}
	w.rescales++
	w.replicas = n
	for int32(len(w.pods)) < n {
		s.newPod(w)
	}
	for int32(len(w.pods)) > n {
		victim := len(w.pods) - 1
		rank := func(p *pod) int {
			switch {
			case p.bound < 0:
				return 0
			case !p.ready(s.now):
				return 1
			}
			return 2
		}
		for i := len(w.pods) - 1; i >= 0; i-- {
			if rank(w.pods[i]) < rank(w.pods[victim]) {
				victim = i
			}
		}
		s.removePod(w, victim)
	}
	w.peak = max(w.peak, n)
}

// syncWorkload is one HPA sync of w: metrics from the service model,
// hpa.Evaluate, the schedule's bounds, the resize.
func (s *sim) syncWorkload(w *wl, cfg *hpa.Config) {
	now := s.at(s.now)
	load := w.spec.Load.Rate(s.sc.Start, time.Duration(s.now)*time.Second)
	ready := w.nready
	share := w.base
	if ready > 0 {
		share += int64(load * float64(w.perReq) / float64(ready))
	}
	// Utilization as the HPA sees it, for the series and the summary.
	if w.hot && s.now > w.lastUtil {
		w.above += float64(s.now - w.lastUtil)
	}
	w.lastUtil = s.now
	if ready > 0 {
		w.util = 100 * float64(share) / float64(w.cpu)
	} else {
		w.util = 0
	}
	if w.target > 0 {
		w.hot = w.util > float64(w.target)*(1+cfg.Tolerance)
	} // else noteHPA sets it from the HPA's proposals

	in := hpa.Input{Now: now, SpecReplicas: w.replicas}
	if w.hpaSpec != nil {
		in = hpa.Input{Now: now, Namespace: "default", SpecReplicas: w.replicas, StatusReplicas: int32(len(w.pods)), Pods: w.hpods,
			Metrics: s.fillMetrics(w, now, load, share)}
	}
	if w.sched != nil {
		if s.now >= w.schedAt {
			st := w.sched.At(now)
			w.bounds = st.Bounds
			w.schedAt = s.total + 1
			if !st.Next.IsZero() {
				w.schedAt = int64(st.Next.Sub(s.sc.Start) / time.Second)
			}
		}
	}
	// The decision is podscale's, the same code autoscale.PodAutoscaler runs.
	pin := podscale.Input{Config: *cfg, Spec: w.hpaSpec, Observation: in, Bounds: w.bounds, Policy: w.policy}
	var done func(podscale.Decision, error)
	if s.onSync != nil {
		done = s.onSync(w, pin)
	}
	d, err := podscale.Decide(pin, &w.hstate)
	if w.hpaSpec != nil && err == nil {
		if d.HPA != nil {
			s.noteHPA(w, d.HPA, nil)
		} else {
			s.noteHPA(w, nil, d.EvalErr)
		}
	}
	if err == nil && d.Rescale {
		s.scaleTo(w, d.Desired)
		d.Succeeded(&w.hstate)
	}
	if done != nil {
		done(d, err)
	}
}

// autoscaleNodes is one cluster-autoscaler loop: the simulated cluster is
// observed as a controller would see it, autoscaler.Step decides, and the
// actions are carried out on the fake provider and the simulated nodes.
func (s *sim) autoscaleNodes() {
	s.advanceFake()
	ctx := context.Background()
	now := s.at(s.now)
	obs := s.observe(ctx, now)
	act, err := s.ca.Step(now, obs)
	if s.caTrace != nil {
		s.caTrace(now, obs, act, err)
	}
	if err != nil {
		return
	}
	s.carryOut(ctx, now, &act)
}

// observe is the cluster as a controller sees it: registered nodes in
// registration order, their pods, the pending pods, the provider's groups
// and, with pre-provisioning, the schedules' next rises.
func (s *sim) observe(ctx context.Context, now time.Time) *autoscaler.Observation {
	// The buffers are reused from scan to scan: Step keeps no reference.
	obs := &s.obs
	obs.Version, obs.PodsVersion, obs.Rises = s.version+1, s.podsVer+1, nil
	obs.Groups = slices.Grow(obs.Groups[:0], len(s.groups))[:len(s.groups)]
	for i, g := range s.groups {
		var insts []nodegroup.Instance
		if g.target != g.nodeCount {
			s.registerRunning(g)
			insts, _ = g.ng.Nodes(ctx)
		}
		obs.Groups[i] = autoscaler.Group{ID: g.spec.Name, Min: g.spec.Min, Max: g.spec.Max, Target: g.target,
			Template: g.template, Instances: insts}
	}
	if s.sc.ClusterAutoscaler.PreProvision {
		obs.Rises = s.rises(now)
	}
	if s.obsVer == [2]int64{s.version, s.podsVer} && len(obs.Pods) > 0 {
		return obs // no pod or node changed since the last scan
	}
	s.obsVer = [2]int64{s.version, s.podsVer}
	obs.Nodes = obs.Nodes[:0]
	obs.Pods = obs.Pods[:0]
	for _, n := range s.nodes {
		a := n.g.template.Allocatable
		obs.Nodes = append(obs.Nodes, autoscaler.Node{ProviderID: n.providerID, Node: simulate.Node{Name: n.name, Group: n.g.spec.Name,
			Labels: n.g.template.Labels, Allocatable: nodegroup.Resources{MilliCPU: a.MilliCPU, Memory: a.Memory, Pods: a.Pods}}})
		for _, p := range n.pods {
			// Built in place: a pod is a large value to copy twice.
			obs.Pods = append(obs.Pods, s.podTemplate(p.w))
			sp := &obs.Pods[len(obs.Pods)-1]
			sp.Name, sp.NodeName = p.name, n.name
		}
	}
	for _, w := range s.wls {
		for _, p := range w.pods {
			if p.bound < 0 {
				obs.Pods = append(obs.Pods, s.podTemplate(p.w))
				obs.Pods[len(obs.Pods)-1].Name = p.name
			}
		}
	}
	return obs
}

// rises are the workloads' next scheduled rises: the bounds in force at
// each schedule's next transition, composed with today's replicas as the
// cron scaler will.
func (s *sim) rises(now time.Time) []autoscaler.Rise {
	var out []autoscaler.Rise
	for _, w := range s.wls {
		if w.sched == nil {
			continue
		}
		st := w.sched.At(now)
		if st.Next.IsZero() {
			continue
		}
		d, err := schedule.Compose(w.replicas, w.sched.At(st.Next).Bounds, w.policy)
		r := d.Replicas
		if err != nil || r <= w.replicas { // the scenario's policy and bounds were validated when it compiled
			continue
		}
		up := time.Duration(float64(w.spec.StartupLatency.Duration) * (1 + w.spec.Jitter))
		out = append(out, autoscaler.Rise{Workload: w.spec.Name, At: st.Next, Current: w.replicas, Replicas: r,
			Pod: s.podTemplate(w), StartUp: up})
	}
	return out
}

// carryOut applies a step's actions: cancels, increases, then deletions.
func (s *sim) carryOut(ctx context.Context, now time.Time, act *autoscaler.Actions) {
	for _, c := range act.Cancels {
		g := s.groupByName(c.Group)
		if err := g.ng.DecreaseTargetSize(ctx, c.Delta); err == nil {
			g.target -= c.Delta
			g.failed += c.Delta
		}
	}
	for _, c := range act.Increases {
		g := s.groupByName(c.Group)
		if err := g.ng.IncreaseSize(ctx, c.Delta); err != nil {
			s.ca.State.IncreaseFailed(now, c, "IncreaseSizeFailed")
			continue
		}
		g.target += c.Delta
		g.scaleUps++
		g.due = append(g.due, s.now+int64(g.spec.ProvisionDelay.Duration/time.Second))
		if c.Reason == autoscaler.ReasonPreProvision {
			s.notePreProvision(g, c)
		}
	}
	for _, d := range act.Deletes {
		n := s.nodeByName(d.Node)
		if n == nil {
			continue
		}
		if err := n.g.ng.DeleteNodes(ctx, []string{n.providerID}); err != nil {
			s.ca.State.DeleteFailed(now, d)
			continue
		}
		s.evict(n)
	}
}

func (s *sim) groupByName(name string) *grp {
	for _, g := range s.groups {
		if g.spec.Name == name {
			return g
		}
	}
	return nil
}

func (s *sim) nodeByName(name string) *node {
	for _, n := range s.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

// podTemplate is w's pod as simulate sees it, without a name; its maps
// and owner are shared by every pod of w.
func (s *sim) podTemplate(w *wl) simulate.Pod {
	if w.tmpl.Owner == nil {
		w.tmpl = simulate.Pod{Namespace: "default", Labels: map[string]string{"app": w.spec.Name},
			Requests: nodegroup.Resources{MilliCPU: w.cpu, Memory: w.mem}, NodeSelector: w.spec.NodeSelector,
			Owner: &simulate.Owner{Kind: "ReplicaSet", Name: w.spec.Name}}
	}
	return w.tmpl
}

// evict drains and removes a node: its pods are recreated as pending pods
// of their workloads, as their ReplicaSets would.
func (s *sim) evict(n *node) {
	for _, p := range append([]*pod(nil), n.pods...) {
		w := p.w
		for i, q := range w.pods {
			if q == p {
				s.removePod(w, i)
				break
			}
		}
		s.newPod(w)
	}
	for i, m := range s.nodes {
		if m == n {
			s.nodes = append(s.nodes[:i], s.nodes[i+1:]...)
			break
		}
	}
	n.g.target--
	n.g.nodeCount--
	n.g.downs++
	for _, w := range s.wls {
		w.cursor = 0
	}
	s.version++
	s.dirty = true
}

// index is p's position in w.pods, -1 once it is gone.
func (w *wl) index(p *pod) int {
	for i, q := range w.pods {
		if q == p {
			return i
		}
	}
	return -1
}
