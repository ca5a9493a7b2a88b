// Package hpa reproduces the replica arithmetic of the Kubernetes
// HorizontalPodAutoscaler controller (kube-controller-manager, 1.37 line) as a
// pure function: for the same inputs it gives the same replica count, the same
// status values and the same condition reasons and messages as upstream.
//
// # Entry points
//
//   - Evaluate runs one reconcile: pod classification, every metric source
//     (Resource and ContainerResource with Utilization or AverageValue, Pods,
//     Object and External with Value or AverageValue), the maximum over
//     metrics, the invalid-metrics rule, tolerance, then the legacy or the
//     behavior normalization, and the AbleToScale / ScalingActive /
//     ScalingLimited / ScaledToZero conditions.
//   - State is the HPA's memory (recommendations and scale events). The caller
//     owns it, passes it to every Evaluate, calls State.RecordRescale after a
//     successful resize, and may persist it as JSON across restarts — upstream
//     keeps it in memory and forgets it when the controller restarts.
//   - Config mirrors the --horizontal-pod-autoscaler-* flags and the feature
//     gates that change the arithmetic (HPAConfigurableTolerance, on;
//     HPAScaleToZero and PodLevelResources, off unless set).
//   - SpecFromV2, PodsFromV1, PodSamplesFromMetrics and the other converters
//     accept k8s.io/api and k8s.io/metrics types; ApplyStatus writes a Result
//     into an autoscaling/v2 status. Validate checks a Spec like the API server.
//
// # Units and time
//
// Every quantity is an int64 in milli-units (a CPU core is 1000, a byte of
// memory is 1000), as upstream computes. Evaluate never reads a clock: the
// instant is Input.Now, and the State's timestamps are compared to it.
//
// # What it does not do
//
// It fetches nothing: the caller lists the pods the target's selector
// matches, reads the metrics APIs and reports selector problems
// (Input.SelectorErr). It writes nothing: the caller resizes the target and
// updates the HPA status from the Result. Events are not emitted; the Result
// carries upstream's rescale reason text and each failed metric's reason and
// message, from which a caller can emit them.
//
// # Where it departs from upstream
//
//   - The State is explicit and serialisable; otherwise the rules for keeping
//     and expiring it are upstream's.
//   - A spec that the API server would reject is refused with an error
//     (ErrInvalidSpec) instead of being evaluated; Evaluate never panics.
//
// Values are plain data. A State must not be shared by concurrent Evaluate
// calls; distinct HPAs may be evaluated concurrently with distinct States.
package hpa
