package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kscale/kscale/simulate"
)

// ErrInvalid is wrapped by every error about a Config, a State or an
// Observation that Step refuses.
var ErrInvalid = errors.New("autoscaler: invalid input")

// Config holds the loop's options, named after cluster-autoscaler's flags.
// A zero field takes cluster-autoscaler's default, given with each field;
// negative values are refused.
type Config struct {
	// ScanInterval is how often the caller runs Step (--scan-interval,
	// default 10 s). Step does not wait; it uses the interval only as the
	// default of ScaleDownDelayAfterDelete and as slack in the
	// pre-provisioning lead time.
	ScanInterval time.Duration
	// ScaleDownUnneededTime is how long a node must stay unneeded before
	// it is removed (--scale-down-unneeded-time, default 10 min).
	ScaleDownUnneededTime time.Duration
	// ScaleDownDelayAfterAdd, ScaleDownDelayAfterDelete and
	// ScaleDownDelayAfterFailure pause the removal of nodes after a
	// scale-up, a node deletion and a failed deletion (defaults 10 min,
	// ScanInterval, 3 min). Unneeded timers keep running meanwhile, as
	// upstream's do.
	ScaleDownDelayAfterAdd     time.Duration
	ScaleDownDelayAfterDelete  time.Duration
	ScaleDownDelayAfterFailure time.Duration
	// MaxNodeProvisionTime is how long a launch may stay unregistered
	// before it is cancelled and its group backed off
	// (--max-node-provision-time, default 15 min).
	MaxNodeProvisionTime time.Duration
	// ScaleDown configures the removal simulation: the utilization
	// threshold (--scale-down-utilization-threshold, default 0.5) and the
	// drain rules. The zero value is simulate.DefaultScaleDown().
	ScaleDown simulate.ScaleDownOptions
	// MaxEmptyBulkDelete caps the empty nodes deleted in one loop
	// (--max-empty-bulk-delete, default 10); MaxScaleDownParallelism caps
	// all deletions in one loop (--max-scale-down-parallelism, default
	// 10); MaxDrainParallelism caps the non-empty ones
	// (--max-drain-parallelism, default 1).
	MaxEmptyBulkDelete      int
	MaxScaleDownParallelism int
	MaxDrainParallelism     int
	// ScaleDownNonEmptyCandidatesCount bounds the non-empty nodes whose
	// removal is simulated per loop, the least utilized first
	// (--scale-down-non-empty-candidates-count, default 30).
	ScaleDownNonEmptyCandidatesCount int
	// ScaleDownDisabled turns scale-down off (--scale-down-enabled=false).
	ScaleDownDisabled bool
	// Limits are the cluster-wide limits (--max-nodes-total,
	// --cores-total, --memory-total, --max-nodes-per-scaleup); the zero
	// value is simulate.DefaultLimits().
	Limits simulate.Limits
	// Expander picks the group to grow; nil is least-waste (--expander).
	Expander simulate.Expander
	// ScaleUpMode chooses how pending pods are given nodes: ScaleUpExpander
	// (the default, cluster-autoscaler's: simulate.ScaleUp grows the one
	// group the Expander picks, or its similar groups, per loop) or
	// ScaleUpProvision (Karpenter's: simulate.Provision packs every
	// pending pod at once across all groups, then shrinks each new node to
	// the cheapest group that holds its pods; the Expander and
	// BalanceSimilar are not used).
	ScaleUpMode ScaleUpMode
	// BalanceSimilar is --balance-similar-node-groups.
	BalanceSimilar bool
	// PreProvisionLatencyFloor is the least provisioning latency assumed
	// for a group when pre-provisioning for a scheduled rise (default
	// 5 min); measured latencies above it are used instead.
	PreProvisionLatencyFloor time.Duration
}

// ScaleUpMode is how a loop gives pending pods nodes (Config.ScaleUpMode).
type ScaleUpMode string

// Scale-up modes.
const (
	ScaleUpExpander  ScaleUpMode = ""
	ScaleUpProvision ScaleUpMode = "Provision"
)

// DefaultConfig is cluster-autoscaler's defaults.
func DefaultConfig() Config {
	return Config{
		ScanInterval:                     10 * time.Second,
		ScaleDownUnneededTime:            10 * time.Minute,
		ScaleDownDelayAfterAdd:           10 * time.Minute,
		ScaleDownDelayAfterDelete:        10 * time.Second,
		ScaleDownDelayAfterFailure:       3 * time.Minute,
		MaxNodeProvisionTime:             15 * time.Minute,
		ScaleDown:                        simulate.DefaultScaleDown(),
		MaxEmptyBulkDelete:               10,
		MaxScaleDownParallelism:          10,
		MaxDrainParallelism:              1,
		ScaleDownNonEmptyCandidatesCount: 30,
		Limits:                           simulate.DefaultLimits(),
		Expander:                         simulate.LeastWaste{},
		PreProvisionLatencyFloor:         5 * time.Minute,
	}
}

// maxDuration bounds every duration option (a year).
const maxDuration = 365 * 24 * time.Hour

// withDefaults checks c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"ScanInterval", &c.ScanInterval, d.ScanInterval},
		{"ScaleDownUnneededTime", &c.ScaleDownUnneededTime, d.ScaleDownUnneededTime},
		{"ScaleDownDelayAfterAdd", &c.ScaleDownDelayAfterAdd, d.ScaleDownDelayAfterAdd},
		{"ScaleDownDelayAfterDelete", &c.ScaleDownDelayAfterDelete, 0},
		{"ScaleDownDelayAfterFailure", &c.ScaleDownDelayAfterFailure, d.ScaleDownDelayAfterFailure},
		{"MaxNodeProvisionTime", &c.MaxNodeProvisionTime, d.MaxNodeProvisionTime},
		{"PreProvisionLatencyFloor", &c.PreProvisionLatencyFloor, d.PreProvisionLatencyFloor},
	}
	for _, f := range durs {
		switch {
		case *f.v < 0:
			return c, fmt.Errorf("%w: Config.%s %s must not be negative", ErrInvalid, f.name, *f.v)
		case *f.v > maxDuration:
			return c, fmt.Errorf("%w: Config.%s %s is over %s", ErrInvalid, f.name, *f.v, maxDuration)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	if c.ScaleDownDelayAfterDelete == 0 {
		c.ScaleDownDelayAfterDelete = c.ScanInterval
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxEmptyBulkDelete", &c.MaxEmptyBulkDelete, d.MaxEmptyBulkDelete},
		{"MaxScaleDownParallelism", &c.MaxScaleDownParallelism, d.MaxScaleDownParallelism},
		{"MaxDrainParallelism", &c.MaxDrainParallelism, d.MaxDrainParallelism},
		{"ScaleDownNonEmptyCandidatesCount", &c.ScaleDownNonEmptyCandidatesCount, d.ScaleDownNonEmptyCandidatesCount},
	}
	for _, f := range ints {
		switch {
		case *f.v < 0:
			return c, fmt.Errorf("%w: Config.%s %d must not be negative", ErrInvalid, f.name, *f.v)
		case *f.v > 1_000_000:
			return c, fmt.Errorf("%w: Config.%s %d is over 1000000", ErrInvalid, f.name, *f.v)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	th := c.ScaleDown.Threshold
	if math.IsNaN(th) || math.IsInf(th, 0) || th < 0 || th > 1 {
		return c, fmt.Errorf("%w: Config.ScaleDown.Threshold %v must be within [0, 1]", ErrInvalid, th)
	}
	if c.ScaleDown == (simulate.ScaleDownOptions{}) {
		c.ScaleDown = d.ScaleDown
	} else if th == 0 {
		c.ScaleDown.Threshold = d.ScaleDown.Threshold
	}
	if c.Limits.MaxNodesPerScaleUp == 0 && c.Limits.MaxNodesTotal == 0 && c.Limits.MaxMilliCPU == 0 && c.Limits.MaxMemory == 0 &&
		c.Limits.GroupBudget == 0 && c.Limits.TotalBudget == 0 && c.Limits.Clock == nil {
		c.Limits = d.Limits
	}
	if c.ScaleUpMode != ScaleUpExpander && c.ScaleUpMode != ScaleUpProvision {
		return c, fmt.Errorf("%w: Config.ScaleUpMode %q is not %q or %q", ErrInvalid, c.ScaleUpMode, ScaleUpExpander, ScaleUpProvision)
	}
	if c.Expander == nil {
		c.Expander = d.Expander
	}
	return c, nil
}
