package autoscale

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"
	resourceclient "k8s.io/metrics/pkg/client/clientset/versioned"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"
	"k8s.io/utils/clock"

	"github.com/kscale/kscale/hpa"
	"github.com/kscale/kscale/schedule"
)

// ErrInvalidConfig wraps every problem New… finds in a config.
var ErrInvalidConfig = errors.New("invalid autoscale config")

// Annotations kscale reads and writes on API objects.
const (
	// AnnotationState holds a PodAutoscaler's hpa.State (JSON) on the
	// HorizontalPodAutoscaler it reconciles, so that a restarted controller
	// keeps the stabilization window and the rate-limit history.
	AnnotationState = "autoscale.kscale.io/state"
	// AnnotationSchedule, on an HPA, holds a schedule.Spec (JSON) whose
	// bounds the PodAutoscaler composes with the HPA's recommendation.
	AnnotationSchedule = "autoscale.kscale.io/schedule"
	// AnnotationSchedulePolicy, on an HPA, is the schedule.Policy (Clamp
	// when absent).
	AnnotationSchedulePolicy = "autoscale.kscale.io/schedule-policy"
	// AnnotationOriginalBounds holds, on an HPA a CronScaler bounds, the
	// HPA's own minReplicas and maxReplicas (JSON) to restore when no rule
	// is in force.
	AnnotationOriginalBounds = "autoscale.kscale.io/original-bounds"
)

// Upstream's defaults that are not hpa.Config's.
const (
	// DefaultWorkers is kube-controller-manager's --concurrent-horizontal-pod-autoscaler-syncs.
	DefaultWorkers = 5
	// DefaultResync is the informers' resync period.
	DefaultResync = 10 * time.Minute
)

// Clients are the API clients a PodAutoscaler reads and writes through.
// Kube, Scale and Mapper are required; a nil metrics client makes every
// metric of its kind fail with upstream's FailedGet…Metric condition.
type Clients struct {
	Kube kubernetes.Interface
	// Scale reads and writes the /scale subresource of any kind
	// (scale.NewForConfig with a discovery REST mapper).
	Scale scale.ScalesGetter
	// Mapper maps a scaleTargetRef's kind to its resources
	// (restmapper.NewDeferredDiscoveryRESTMapper).
	Mapper meta.RESTMapper
	// Resource is the metrics.k8s.io client (metrics-server).
	Resource resourceclient.Interface
	// Custom is the custom.metrics.k8s.io client (Pods and Object metrics).
	Custom customclient.CustomMetricsClient
	// External is the external.metrics.k8s.io client.
	External externalclient.ExternalMetricsClient

	refresh func() // drops cached discovery (ClientsForConfig)
}

// Target is a programmatic target: a scale target driven by an HPA spec
// and/or a schedule, without an HorizontalPodAutoscaler object. Its state
// lives in a ConfigMap named StateConfigMapPrefix+Name in Namespace; its
// Events are recorded on the scale target.
type Target struct {
	// Name identifies the target (its key is TargetKey(Namespace, Name)).
	Name      string
	Namespace string
	// Spec is an autoscaling/v2 HPA spec (its scaleTargetRef names the
	// target). It is taken whole, not as an hpa.Spec, because fetching Pods,
	// Object and External metrics needs the metric selectors that hpa.Spec
	// keeps only as text. MinReplicas/MaxReplicas/Metrics may be empty for a
	// schedule-only target: set ScheduleOnly.
	Spec autoscalingv2.HorizontalPodAutoscalerSpec
	// ScheduleOnly drives the target by its schedule alone (Spec's metrics
	// and replica range are ignored).
	ScheduleOnly bool
	// Schedule, optional, bounds the recommendation under Policy ("" is Clamp).
	Schedule *schedule.Schedule
	Policy   schedule.Policy
}

// StateConfigMapPrefix prefixes the ConfigMap holding a Target's state.
const StateConfigMapPrefix = "kscale-podscale-"

// TargetKey is the queue key of a programmatic Target; an HPA's key is
// "namespace/name".
func TargetKey(namespace, name string) string { return "target/" + namespace + "/" + name }

// PodAutoscalerConfig configures a PodAutoscaler. Zero fields take the
// defaults given on them, which are kube-controller-manager's.
type PodAutoscalerConfig struct {
	Clients Clients
	// HPA holds --horizontal-pod-autoscaler-sync-period (15s), -tolerance
	// (0.1), -downscale-stabilization (5m), -cpu-initialization-period
	// (5m), -initial-readiness-delay (30s) and the feature gates. The zero
	// value is hpa.DefaultConfig(); to change a setting, start from
	// hpa.DefaultConfig() and change it. A zero SyncPeriod is 15s.
	HPA hpa.Config
	// Namespace limits the HPAs and pods watched; "" is every namespace.
	Namespace string
	// HPASelector is a label selector (text) choosing the HPAs to reconcile;
	// "" is all.
	HPASelector string
	// IgnoreHPAs turns off reconciling HorizontalPodAutoscaler objects: only
	// Targets are driven.
	IgnoreHPAs bool
	// Targets are the programmatic targets.
	Targets []Target
	// Workers is the number of concurrent syncs (5).
	Workers int
	// DryRun computes and reports (Events, metrics, logs, Recommend) but
	// writes nothing: no scale update, no status, no state.
	DryRun bool
	// Registerer receives the Prometheus metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger is the logger; the zero value takes klog's from Run's context.
	Logger logr.Logger
	// Recorder records Events; nil records them to the API server as
	// "horizontal-pod-autoscaler", as upstream does.
	Recorder record.EventRecorder
	// Clock is the time source (the real clock when nil).
	Clock clock.WithTicker
	// Resync is the informers' resync period (10m).
	Resync time.Duration
}

func (c *PodAutoscalerConfig) check() error {
	var errs []error
	c.HPA = withHPADefaults(c.HPA)
	if c.Clients.Kube == nil {
		errs = append(errs, errors.New("clients.kube is required"))
	}
	if c.Clients.Scale == nil {
		errs = append(errs, errors.New("clients.scale is required"))
	}
	if c.Clients.Mapper == nil {
		errs = append(errs, errors.New("clients.mapper is required"))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers: %d is negative", c.Workers))
	}
	seen := map[string]bool{}
	for i, t := range c.Targets {
		k := TargetKey(t.Namespace, t.Name)
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("targets[%d].name is required", i))
		case seen[k]:
			errs = append(errs, fmt.Errorf("targets[%d]: duplicate target %s", i, k))
		case t.Spec.ScaleTargetRef.Kind == "" || t.Spec.ScaleTargetRef.Name == "":
			errs = append(errs, fmt.Errorf("targets[%d].spec.scaleTargetRef: kind and name are required", i))
		case t.ScheduleOnly && t.Schedule == nil:
			errs = append(errs, fmt.Errorf("targets[%d]: scheduleOnly needs a schedule", i))
		}
		if err := checkPolicy(t.Policy); err != nil {
			errs = append(errs, fmt.Errorf("targets[%d].policy: %w", i, err))
		}
		seen[k] = true
		if !t.ScheduleOnly {
			s, err := hpa.SpecFromV2(t.Spec)
			if err == nil {
				err = hpa.Validate(s, c.HPA)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("targets[%d].spec: %w", i, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Resync <= 0 {
		c.Resync = DefaultResync
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return nil
}

// withHPADefaults makes the zero Config hpa.DefaultConfig() and a zero
// sync period upstream's.
func withHPADefaults(c hpa.Config) hpa.Config {
	d := hpa.DefaultConfig()
	if c == (hpa.Config{}) {
		return d
	}
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = d.SyncPeriod
	}
	return c
}
