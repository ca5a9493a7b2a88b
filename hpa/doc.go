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
//     gates that change the arithmetic. DefaultConfig is the only source of
//     defaults and ships the 1.37 gates (HPAConfigurableTolerance,
//     HPAScaleToZero and PodLevelResources on); a field set to 0 means 0, as
//     an explicit flag of 0 does for kube-controller-manager.
//   - SpecFromV2, PodsFromV1, ResourceInputFromMetrics and the other
//     converters accept k8s.io/api and k8s.io/metrics types; ApplyStatus
//     writes a Result into an HPA's status (observedGeneration included).
//     Validate checks a Spec like the API server.
//   - Converter does the same conversions sync after sync for a controller
//     fed by informers: it caches each pod's conversion by UID and
//     resourceVersion, reuses its buffers and allocates nothing per pod in
//     the steady state. A controller holds one per HPA.
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
//     and expiring it are upstream's. Upstream stamps what it stores with
//     time.Now() and compares it with a later one; here both are Input.Now,
//     so an entry stamped exactly at a cutoff counts as expired, as it
//     always is upstream.
//   - A spec that the API server would reject is refused with an error
//     (ErrInvalidSpec) instead of being evaluated; a spec without metrics
//     gets the API server's default (cpu at 80 %); Evaluate never panics.
//   - Where upstream's int32 arithmetic or float-to-int conversions would
//     wrap (replica counts near MaxInt32, an infinite scale-up factor,
//     absurd policy values or histories), the result saturates at the int32
//     range instead.
//   - An Object or External AverageValue metric over zero status replicas
//     reports an average of 0, where upstream converts ±Inf or NaN to int64
//     (MinInt64 on amd64).
//
// Values are plain data. A State must not be shared by concurrent Evaluate
// calls; distinct HPAs may be evaluated concurrently with distinct States.
package hpa
