package cluster

import (
	"time"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

// caConfig is the scenario's cluster-autoscaler settings as the decision
// loop's Config. Parallel removals keep the simulator's long-standing
// meaning: MaxScaleDownParallelism caps empty and non-empty removals alike
// (max-empty-bulk-delete and max-drain-parallelism take the same value).
func caConfig(sc *Scenario) autoscaler.Config {
	ca := &sc.ClusterAutoscaler
	var exp simulate.Expander
	switch ca.Expander {
	case "most-pods":
		exp = simulate.MostPods{}
	case "least-nodes":
		exp = simulate.LeastNodes{}
	case "price":
		exp = simulate.DefaultPrice()
	case "random":
		exp = simulate.Random{Seed: sc.Seed}
	default:
		exp = simulate.LeastWaste{}
	}
	sd := simulate.DefaultScaleDown()
	sd.Threshold = ca.UtilizationThreshold
	par := ca.MaxScaleDownParallelism
	mode := autoscaler.ScaleUpExpander
	if ca.ScaleUpMode == "provision" {
		mode = autoscaler.ScaleUpProvision
	}
	return autoscaler.Config{
		ScaleUpMode:              mode,
		ScanInterval:             ca.ScanInterval.Duration,
		ScaleDownUnneededTime:    ca.ScaleDownUnneededTime.Duration,
		ScaleDownDelayAfterAdd:   ca.ScaleDownDelayAfterAdd.Duration,
		MaxNodeProvisionTime:     ca.MaxNodeProvisionTime.Duration,
		ScaleDown:                sd,
		MaxEmptyBulkDelete:       par,
		MaxScaleDownParallelism:  par,
		MaxDrainParallelism:      par,
		Limits:                   simulate.DefaultLimits(),
		Expander:                 exp,
		PreProvisionLatencyFloor: ca.PreProvisionLatencyFloor.Duration,
	}
}

// PreProvisionSummary is what pre-provisioning did: the nodes raised ahead
// of scheduled rises, what they cost before their rise, and the pending
// pods each rise found.
type PreProvisionSummary struct {
	// Increases and Nodes count the early increases and their nodes.
	Increases int `json:"increases"`
	Nodes     int `json:"nodes"`
	// EarlyNodeHours are the node-hours from each early launch to its
	// rise (billed from launch); EarlyCost prices them.
	EarlyNodeHours float64 `json:"earlyNodeHours"`
	EarlyCost      float64 `json:"earlyCost"`
	// Rises are the rises pre-provisioned for.
	Rises []RiseSummary `json:"rises,omitempty"`
}

// RiseSummary is one scheduled rise.
type RiseSummary struct {
	Workload string    `json:"workload"`
	At       time.Time `json:"at"`
	Replicas int32     `json:"replicas"`
	// PendingAtRise is the workload's pods without a node right after
	// its replicas reached Replicas (the first HPA sync at or after At).
	PendingAtRise int `json:"pendingAtRise"`
	// ReadyNodes are the registered nodes at that moment.
	ReadyNodes int `json:"readyNodes"`
	seen       bool
	w          *wl
	at         int64
}

// notePreProvision accounts an early increase.
func (s *sim) notePreProvision(g *grp, c autoscaler.Change) {
	p := s.pre
	p.Increases++
	p.Nodes += c.Delta
	h := float64(c.Delta) * c.At.Sub(s.at(s.now)).Hours()
	p.EarlyNodeHours += h
	p.EarlyCost += h * g.spec.PricePerHour
	for i := range p.Rises {
		if p.Rises[i].Workload == c.Workload && p.Rises[i].At.Equal(c.At) {
			return
		}
	}
	for _, w := range s.wls {
		if w.spec.Name == c.Workload {
			p.Rises = append(p.Rises, RiseSummary{Workload: c.Workload, At: c.At, Replicas: c.Replicas, w: w,
				at: int64(c.At.Sub(s.sc.Start) / time.Second)})
		}
	}
}

// watchRises records the pending pods each pre-provisioned rise found,
// once its replicas are in place and the scheduler has run.
func (s *sim) watchRises() {
	if s.pre == nil {
		return
	}
	for i := range s.pre.Rises {
		r := &s.pre.Rises[i]
		if r.seen || s.now < r.at || r.w.replicas < r.Replicas {
			continue
		}
		r.seen = true
		r.PendingAtRise = r.w.npend
		r.ReadyNodes = len(s.nodes)
	}
}
