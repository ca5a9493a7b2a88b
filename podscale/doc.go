// Package podscale is the decision of one pod-autoscaler sync: the HPA
// arithmetic of package hpa composed with the bounds of a time schedule from
// package schedule. It is the one place where the two meet, so that the
// controller (autoscale.PodAutoscaler) and the simulator (simulate/cluster)
// run the same code: a simulation replays what the controller would do.
//
// # Why a package of its own
//
// hpa is upstream's arithmetic and nothing else, and must not depend on
// schedule; schedule knows nothing of metrics. The composition, and what it
// means for the HPA status (who decided the count and why), belongs to
// neither, yet it must be pure and shared by a client-go controller and a
// discrete-event simulator. podscale imports only hpa and schedule.
//
// # Entry point
//
// Decide takes the controller settings, the HPA spec (optional), one
// observation of the target and its metrics, the schedule's bounds in force
// (optional) and the HPA's State, and returns a Decision: the desired
// replica count, whether to resize, the reason (a typed code plus a
// sentence), the HPA status to write, and the state updated with the new
// recommendation. After the caller resized the target it calls
// Decision.Succeeded to record the scale event in the State (the
// rate-limiting history); when the resize failed it calls Decision.Failed,
// which turns the status into upstream's FailedUpdateScale outcome.
//
// # Rules
//
//   - Without a spec the recommendation is the current count; with one it is
//     hpa.Evaluate's DesiredReplicas, or the current count when the
//     evaluation stopped (a failed metric, a selector problem) or was refused
//     (an invalid spec: Decision.EvalErr).
//   - Bounds, when set, are applied with schedule.Compose under the Policy
//     (Clamp when empty), also when the HPA stopped: a schedule's floor holds
//     while metrics are down, and raises a target scaled to zero by hand
//     (which pauses the HPA, as upstream).
//   - When the schedule changed the count, the HPA status says so:
//     status.desiredReplicas is the final count, ScalingLimited is True with
//     the schedule's reason (ScheduleFloor, ScheduleCeiling or
//     ScheduleOverride) and AbleToScale follows the final resize. The other
//     conditions are hpa's, unchanged.
//
// Everything is a pure function of its arguments: no clock, no client, no
// goroutine. A Decision is a value; the State passed to Decide is updated in
// place, exactly as hpa.Evaluate updates it, and must not be shared between
// concurrent calls.
package podscale
