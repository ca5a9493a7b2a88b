package hpa

import "time"

// podClass is what upstream's groupPods makes of a listed pod.
type podClass uint8

const (
	podReady   podClass = iota // counted, its sample used
	podIgnored                 // deleting or failed: never counted, never filled in
	podUnready                 // pending, or (cpu only) not yet trustworthy: filled with 0 on a scale-up
	podMissing                 // no sample: filled in conservatively
)

// classify is upstream's groupPods for one pod. s is the pod's sample (nil
// when it has none); cpu selects the CPU readiness rules.
func classify(c *Config, now time.Time, p *Pod, s *PodSample, cpu bool) podClass {
	return classifyAt(c, now, now.Add(-c.CPUInitializationPeriod), p, s, cpu)
}

// classifyAt is classify with now − CPUInitializationPeriod computed once
// for a scan of many pods.
func classifyAt(c *Config, now, initCut time.Time, p *Pod, s *PodSample, cpu bool) podClass {
	if p.Deleting || p.Phase == PodFailed {
		return podIgnored
	}
	if p.Phase == PodPending {
		return podUnready
	}
	if s == nil {
		return podMissing
	}
	if cpu && cpuUnready(c, initCut, p, s) {
		return podUnready
	}
	return podReady
}

// cpuUnready applies the CPU-only readiness rules: during the initialization
// period a sample counts only once the pod is ready and a full metric window
// has passed since it became so; after it, only a pod that has never been
// ready is distrusted. Every comparison is strict, as upstream.
//
// initCut is now − CPUInitializationPeriod: start + period > now exactly
// when start > now − period.
func cpuUnready(c *Config, initCut time.Time, p *Pod, s *PodSample) bool {
	if p.Ready == ConditionAbsent || p.StartTime.IsZero() {
		return true
	}
	if p.StartTime.After(initCut) {
		return p.Ready == ConditionFalse || s.Timestamp.Before(p.ReadyTransition.Add(s.Window))
	}
	return p.Ready == ConditionFalse && p.StartTime.Add(c.InitialReadinessDelay).After(p.ReadyTransition)
}
