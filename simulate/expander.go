package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sort"
)

// Option is one group's answer to a scale-up: how many of its nodes hold
// which pending pods.
type Option struct {
	Group string `json:"group"`
	// Nodes is the number of new nodes.
	Nodes int `json:"nodes"`
	// Pods are indices into Cluster.Pods of the pods the nodes would hold.
	Pods []int `json:"pods"`
	// PodsMilliCPU and PodsMemory sum the requests of Pods.
	PodsMilliCPU int64 `json:"podsMilliCPU"`
	PodsMemory   int64 `json:"podsMemory"`
	// Template is the group's template (capacity, labels, price).
	Template *Template `json:"-"`
	// LimitReached is set when a limit stopped the estimate short.
	LimitReached bool `json:"limitReached,omitempty"`
}

// Template is the part of a group's template expanders read.
type Template struct {
	MilliCPU, Memory int64
	PricePerHour     float64
}

// Expander narrows scale-up options to the best ones, as
// cluster-autoscaler's expanders do. Filter never returns an empty list
// for a non-empty input.
type Expander interface {
	Name() string
	Filter(options []Option, clusterNodes int) []Option
}

// Chain applies expanders in order and stops as soon as one option
// remains (cluster-autoscaler's --expander=a,b,c). A strategy that always
// picks one (Random) belongs last.
type Chain []Expander

// Name lists the chain.
func (c Chain) Name() string {
	out := ""
	for i, e := range c {
		if i > 0 {
			out += ","
		}
		out += e.Name()
	}
	return out
}

// Filter applies the chain.
func (c Chain) Filter(options []Option, clusterNodes int) []Option {
	for _, e := range c {
		if len(options) <= 1 {
			break
		}
		options = e.Filter(options, clusterNodes)
	}
	return options
}

// choose applies e and breaks any remaining tie by the lowest group id, so
// a chain without Random is deterministic.
func choose(e Expander, options []Option, clusterNodes int) (*Option, string) {
	if len(options) == 0 {
		return nil, ""
	}
	left := e.Filter(options, clusterNodes)
	if len(left) == 0 {
		left = options
	}
	best := left[0]
	for _, o := range left[1:] {
		if o.Group < best.Group {
			best = o
		}
	}
	why := fmt.Sprintf("expander %s chose %s from %d option(s)", e.Name(), best.Group, len(options))
	if len(left) > 1 {
		why += fmt.Sprintf(" (tie of %d broken by group id)", len(left))
	}
	return &best, why
}

// keepMin keeps the options whose value equals the minimum.
func keepMin(options []Option, value func(*Option) float64) []Option {
	best := math.Inf(1)
	var out []Option
	for i := range options {
		v := value(&options[i])
		switch {
		case v < best:
			best = v
			out = append(out[:0], options[i])
		case v == best:
			out = append(out, options[i])
		}
	}
	return out
}

// LeastWaste keeps the options that leave the least CPU and memory idle on
// the new nodes: (N·cpu − Σcpu)/(N·cpu) + (N·mem − Σmem)/(N·mem), counted
// against node capacity. It is cluster-autoscaler's default.
type LeastWaste struct{}

// Name is "least-waste".
func (LeastWaste) Name() string { return "least-waste" }

// Filter keeps the least wasteful options.
func (LeastWaste) Filter(options []Option, _ int) []Option {
	return keepMin(options, func(o *Option) float64 {
		cpu := float64(o.Nodes) * float64(o.Template.MilliCPU)
		mem := float64(o.Nodes) * float64(o.Template.Memory)
		var w float64
		if cpu > 0 {
			w += (cpu - float64(o.PodsMilliCPU)) / cpu
		}
		if mem > 0 {
			w += (mem - float64(o.PodsMemory)) / mem
		}
		return w
	})
}

// MostPods keeps the options that schedule the most pods.
type MostPods struct{}

// Name is "most-pods".
func (MostPods) Name() string { return "most-pods" }

// Filter keeps the options placing the most pods.
func (MostPods) Filter(options []Option, _ int) []Option {
	return keepMin(options, func(o *Option) float64 { return -float64(len(o.Pods)) })
}

// LeastNodes keeps the options that add the fewest nodes.
type LeastNodes struct{}

// Name is "least-nodes".
func (LeastNodes) Name() string { return "least-nodes" }

// Filter keeps the options adding the fewest nodes.
func (LeastNodes) Filter(options []Option, _ int) []Option {
	return keepMin(options, func(o *Option) float64 { return float64(o.Nodes) })
}

// Random picks one option uniformly with a generator seeded by Seed, so the
// same options and seed always give the same pick.
type Random struct{ Seed uint64 }

// Name is "random".
func (Random) Name() string { return "random" }

// Filter picks one option.
func (r Random) Filter(options []Option, _ int) []Option {
	if len(options) <= 1 {
		return options
	}
	sorted := append([]Option(nil), options...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Group < sorted[j].Group })
	rng := rand.New(rand.NewPCG(r.Seed, uint64(len(options))))
	i := rng.IntN(len(sorted))
	return sorted[i : i+1]
}

// Price keeps the cheapest options by cluster-autoscaler's price score:
// unfitness × (N·nodePrice + s) / (ΣpodPrice + s), where a pod's price is
// its CPU and memory at PerCoreHour and PerGiBHour, s is the price of a
// 500m / 500 MiB pod, and unfitness compares the node's CPU with a
// preferred node sized by the cluster (1 CPU up to 2 nodes, 2 up to 6, 4
// up to 20, 8 up to 60, 16 up to 200, 32 beyond), damped for large
// options. Options without a price are dropped when some have one.
type Price struct {
	PerCoreHour, PerGiBHour float64
}

// DefaultPrice uses cluster-autoscaler's GCE-derived pod prices (0.033174
// per core-hour, 0.004446 per GiB-hour).
func DefaultPrice() Price { return Price{PerCoreHour: 0.033174, PerGiBHour: 0.004446} }

// Name is "price".
func (Price) Name() string { return "price" }

func (p Price) podPrice(milliCPU, memory int64) float64 {
	return float64(milliCPU)/1000*p.PerCoreHour + float64(memory)/(1<<30)*p.PerGiBHour
}

// PreferredCPU is the CPU of cluster-autoscaler's preferred node for a
// cluster of n nodes, in cores.
func PreferredCPU(n int) int64 {
	switch {
	case n <= 2:
		return 1
	case n <= 6:
		return 2
	case n <= 20:
		return 4
	case n <= 60:
		return 8
	case n <= 200:
		return 16
	}
	return 32
}

// Score is the option's price score (lower is better).
func (p Price) Score(o *Option, clusterNodes int) float64 {
	stab := p.podPrice(500, 500<<20)
	pref := float64(PreferredCPU(clusterNodes)) * 1000
	eval := float64(o.Template.MilliCPU)
	unfit := 1.0
	if eval > 0 {
		unfit = math.Max(pref/eval, eval/pref)
	}
	suppressed := (unfit-1)*(1-math.Tanh(float64(o.Nodes-1)/15.0)) + 1
	nodes := float64(o.Nodes) * o.Template.PricePerHour
	return suppressed * (nodes + stab) / (p.podPrice(o.PodsMilliCPU, o.PodsMemory) + stab)
}

// Filter keeps the lowest-scoring options.
func (p Price) Filter(options []Option, clusterNodes int) []Option {
	priced := options[:0:0]
	for _, o := range options {
		if o.Template.PricePerHour > 0 {
			priced = append(priced, o)
		}
	}
	if len(priced) == 0 {
		return options
	}
	return keepMin(priced, func(o *Option) float64 { return p.Score(o, clusterNodes) })
}

// Priority keeps the options whose group id matches a regular expression of
// the highest priority (cluster-autoscaler's priority expander and its
// cluster-autoscaler-priority-expander ConfigMap). Groups no expression
// matches are dropped; when none matches at all, every option passes.
type Priority struct {
	levels []priorityLevel
}

type priorityLevel struct {
	prio int
	res  []*regexp.Regexp
}

// NewPriority compiles priority → expressions; expressions match the whole
// group id only if anchored, as in cluster-autoscaler.
func NewPriority(priorities map[int][]string) (*Priority, error) {
	p := &Priority{}
	for prio, exprs := range priorities {
		l := priorityLevel{prio: prio}
		for _, e := range exprs {
			re, err := regexp.Compile(e)
			if err != nil {
				return nil, fmt.Errorf("%w: priority %d: %w", ErrInvalidInput, prio, err)
			}
			l.res = append(l.res, re)
		}
		p.levels = append(p.levels, l)
	}
	sort.Slice(p.levels, func(i, j int) bool { return p.levels[i].prio > p.levels[j].prio })
	return p, nil
}

// Name is "priority".
func (*Priority) Name() string { return "priority" }

// Filter keeps the options of the highest matching priority.
func (p *Priority) Filter(options []Option, _ int) []Option {
	best := math.MinInt
	var out []Option
	for _, o := range options {
		prio, ok := p.of(o.Group)
		switch {
		case !ok:
		case prio > best:
			best = prio
			out = append(out[:0], o)
		case prio == best:
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return options
	}
	return out
}

func (p *Priority) of(group string) (int, bool) {
	for _, l := range p.levels {
		for _, re := range l.res {
			if re.MatchString(group) {
				return l.prio, true
			}
		}
	}
	return 0, false
}
