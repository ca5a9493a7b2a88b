package hpa

import (
	"fmt"
	"math"
	"time"
)

// Config holds the controller-wide settings that kube-controller-manager takes
// as --horizontal-pod-autoscaler-* flags, plus the feature gates that change the
// arithmetic.
//
// DefaultConfig is the only source of defaults: every field means what it
// says, so a Tolerance or a DownscaleStabilizationWindow of 0 is a real zero,
// as kube-controller-manager keeps an explicit
// --horizontal-pod-autoscaler-tolerance=0 or
// --horizontal-pod-autoscaler-downscale-stabilization=0s. Start from
// DefaultConfig and change the fields you mean to change. Evaluate refuses a
// Config whose ScaleUpLimitFactor or ScaleUpLimitMinimum is not positive (a
// zero Config, say) with ErrInvalidConfig, so a Config that skipped
// DefaultConfig does not run with silent zeros.
type Config struct {
	// SyncPeriod is how often the controller evaluates each HPA
	// (--horizontal-pod-autoscaler-sync-period). Default 15s. The arithmetic
	// itself does not read it; controllers and the simulator do.
	SyncPeriod time.Duration
	// Tolerance is the dead band around a ratio of 1 within which no scaling
	// happens (--horizontal-pod-autoscaler-tolerance). Default 0.1; 0 means
	// no dead band.
	Tolerance float64
	// DownscaleStabilizationWindow is the legacy downscale window, and the
	// scaleDown window when a behavior leaves it unset
	// (--horizontal-pod-autoscaler-downscale-stabilization). Default 5m; 0
	// means no stabilization.
	DownscaleStabilizationWindow time.Duration
	// CPUInitializationPeriod is how long after start a pod's CPU samples are
	// distrusted (--horizontal-pod-autoscaler-cpu-initialization-period). Default 5m.
	CPUInitializationPeriod time.Duration
	// InitialReadinessDelay is how long after start a readiness flip is taken as
	// "never been ready" (--horizontal-pod-autoscaler-initial-readiness-delay). Default 30s.
	InitialReadinessDelay time.Duration
	// ScaleUpLimitFactor and ScaleUpLimitMinimum bound a legacy (no behavior)
	// scale-up to max(factor*current, minimum). Defaults 2 and 4; both must
	// be positive. +Inf means no limit (the result saturates at MaxInt32).
	ScaleUpLimitFactor  float64
	ScaleUpLimitMinimum float64

	// DisableConfigurableTolerance turns the HPAConfigurableTolerance gate off
	// (it is GA in 1.37, so on by default): per-direction behavior tolerances
	// are ignored.
	DisableConfigurableTolerance bool
	// ScaleToZero is the HPAScaleToZero gate (beta in 1.37, on by default
	// there and in DefaultConfig): minReplicas 0 is valid with an Object or
	// External metric, a target at zero with ScaledToZero=True is scaled from
	// zero, and every rescale writes the ScaledToZero condition.
	ScaleToZero bool
	// PodLevelResources is the PodLevelResources gate (beta since 1.34, on
	// by default there and in DefaultConfig): pod-level requests are used for
	// Resource metrics when set.
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

// DefaultConfig returns the kube-controller-manager 1.37 defaults: the flag
// defaults above and the feature gates as that release ships them
// (HPAConfigurableTolerance, HPAScaleToZero and PodLevelResources on).
func DefaultConfig() Config {
	return Config{
		SyncPeriod:                   DefaultSyncPeriod,
		Tolerance:                    DefaultTolerance,
		DownscaleStabilizationWindow: DefaultDownscaleStabilizationWindow,
		CPUInitializationPeriod:      DefaultCPUInitializationPeriod,
		InitialReadinessDelay:        DefaultInitialReadinessDelay,
		ScaleUpLimitFactor:           DefaultScaleUpLimitFactor,
		ScaleUpLimitMinimum:          DefaultScaleUpLimitMinimum,
		ScaleToZero:                  true,
		PodLevelResources:            true,
	}
}

// check refuses a Config Evaluate cannot use, naming the field.
func (c *Config) check() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: Config.%s: %v: %s", ErrInvalidConfig, field, v, why)
	}
	switch {
	case !(c.Tolerance >= 0) || math.IsInf(c.Tolerance, 0):
		return bad("Tolerance", c.Tolerance, "must be a finite number >= 0")
	case c.SyncPeriod < 0:
		return bad("SyncPeriod", c.SyncPeriod, "must not be negative")
	case c.DownscaleStabilizationWindow < 0:
		return bad("DownscaleStabilizationWindow", c.DownscaleStabilizationWindow, "must not be negative")
	case c.CPUInitializationPeriod < 0:
		return bad("CPUInitializationPeriod", c.CPUInitializationPeriod, "must not be negative")
	case c.InitialReadinessDelay < 0:
		return bad("InitialReadinessDelay", c.InitialReadinessDelay, "must not be negative")
	case !(c.ScaleUpLimitFactor > 0):
		return bad("ScaleUpLimitFactor", c.ScaleUpLimitFactor, "must be > 0 (start from DefaultConfig())")
	case !(c.ScaleUpLimitMinimum > 0):
		return bad("ScaleUpLimitMinimum", c.ScaleUpLimitMinimum, "must be > 0 (start from DefaultConfig())")
	}
	return nil
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

// tolerances returns the dead band for spec under c.
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
