package hpa

import "time"

// Config holds the controller-wide settings that kube-controller-manager takes
// as --horizontal-pod-autoscaler-* flags, plus the feature gates that change the
// arithmetic. A zero field means "use the default" given on it; DefaultConfig
// returns every default filled in.
type Config struct {
	// SyncPeriod is how often the controller evaluates each HPA
	// (--horizontal-pod-autoscaler-sync-period). Default 15s. The arithmetic
	// itself does not read it; controllers and the simulator do.
	SyncPeriod time.Duration
	// Tolerance is the dead band around a ratio of 1 within which no scaling
	// happens (--horizontal-pod-autoscaler-tolerance). Default 0.1; like
	// upstream, 0 is defaulted back to 0.1.
	Tolerance float64
	// DownscaleStabilizationWindow is the legacy downscale window, and the
	// scaleDown window when a behavior leaves it unset
	// (--horizontal-pod-autoscaler-downscale-stabilization). Default 5m.
	DownscaleStabilizationWindow time.Duration
	// CPUInitializationPeriod is how long after start a pod's CPU samples are
	// distrusted (--horizontal-pod-autoscaler-cpu-initialization-period). Default 5m.
	CPUInitializationPeriod time.Duration
	// InitialReadinessDelay is how long after start a readiness flip is taken as
	// "never been ready" (--horizontal-pod-autoscaler-initial-readiness-delay). Default 30s.
	InitialReadinessDelay time.Duration
	// ScaleUpLimitFactor and ScaleUpLimitMinimum bound a legacy (no behavior)
	// scale-up to max(factor*current, minimum). Defaults 2 and 4.
	ScaleUpLimitFactor  float64
	ScaleUpLimitMinimum float64

	// DisableConfigurableTolerance turns the HPAConfigurableTolerance gate off
	// (it is GA, so on by default): per-direction behavior tolerances are ignored.
	DisableConfigurableTolerance bool
	// ScaleToZero turns the HPAScaleToZero gate on (beta, off by default here
	// as in kscale's reading of the 1.37 defaults).
	ScaleToZero bool
	// PodLevelResources turns the PodLevelResources gate on: pod-level requests
	// are used for Resource metrics when set.
	PodLevelResources bool
}

// Default values of Config.
const (
	DefaultSyncPeriod                   = 15 * time.Second
	DefaultTolerance                    = 0.1
	DefaultDownscaleStabilizationWindow = 5 * time.Minute
	DefaultCPUInitializationPeriod      = 5 * time.Minute
	DefaultInitialReadinessDelay        = 30 * time.Second
	DefaultScaleUpLimitFactor           = 2.0
	DefaultScaleUpLimitMinimum          = 4.0
)

// DefaultConfig returns the kube-controller-manager defaults.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

// withDefaults fills every zero field with its default.
func (c Config) withDefaults() Config {
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = DefaultSyncPeriod
	}
	if c.Tolerance <= 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.DownscaleStabilizationWindow <= 0 {
		c.DownscaleStabilizationWindow = DefaultDownscaleStabilizationWindow
	}
	if c.CPUInitializationPeriod <= 0 {
		c.CPUInitializationPeriod = DefaultCPUInitializationPeriod
	}
	if c.InitialReadinessDelay <= 0 {
		c.InitialReadinessDelay = DefaultInitialReadinessDelay
	}
	if c.ScaleUpLimitFactor <= 0 {
		c.ScaleUpLimitFactor = DefaultScaleUpLimitFactor
	}
	if c.ScaleUpLimitMinimum <= 0 {
		c.ScaleUpLimitMinimum = DefaultScaleUpLimitMinimum
	}
	return c
}

// Tolerances is the dead band of one evaluation: no change while
// 1-Down <= ratio <= 1+Up.
type Tolerances struct {
	Down, Up float64
}

// isWithin reports whether ratio lies in the dead band (both bounds inclusive).
func (t Tolerances) isWithin(ratio float64) bool {
	return (1.0-t.Down) <= ratio && ratio <= (1.0+t.Up)
}

// tolerances returns the dead band for spec under c (c already defaulted).
func (c *Config) tolerances(b *Behavior) Tolerances {
	t := Tolerances{Down: c.Tolerance, Up: c.Tolerance}
	if c.DisableConfigurableTolerance || b == nil {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.Down = *b.ScaleDown.Tolerance
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.Up = *b.ScaleUp.Tolerance
	}
	return t
}
