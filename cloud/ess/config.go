package ess

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"

	"github.com/kscale/kscale/nodegroup"
)

// Clock is the time source: Now for cache ages and activity times, After
// for retry backoff. Tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ScaleMode selects the API calls that change a group's desired capacity.
type ScaleMode string

const (
	// ScaleWithAdjustment calls ess:ScaleWithAdjustment with AdjustmentType
	// TotalCapacity (ram-policy.json).
	ScaleWithAdjustment ScaleMode = "ScaleWithAdjustment"
	// ScalingRules keeps one TotalCapacity scaling rule per group, named
	// RuleName, and changes the target with ess:ModifyScalingRule +
	// ess:ExecuteScalingRule, creating the rule with ess:CreateScalingRule
	// when ess:DescribeScalingRules does not find it (ram-policy-rules.json).
	// It is for accounts whose custom RAM policy grants only those actions,
	// the policy commonly given to self-built clusters.
	ScalingRules ScaleMode = "ScalingRules"
)

// ScaleModeError is returned (wrapped) by size changes when the RAM policy
// denies an action the scale mode needs. It wraps the denial, so
// errors.Is(err, ErrAccessDenied) holds.
type ScaleModeError struct {
	Mode        ScaleMode // the mode in use
	Action      string    // the denied action, e.g. "ess:ScaleWithAdjustment"
	Alternative ScaleMode // the mode that does without Action
	Err         error     // the denial
}

// modeActions are the actions each scale mode needs beyond the describes
// and ess:RemoveInstances.
var modeActions = map[ScaleMode]string{
	ScaleWithAdjustment: "ess:ScaleWithAdjustment (ram-policy.json)",
	ScalingRules:        "ess:DescribeScalingRules, ess:CreateScalingRule, ess:ModifyScalingRule and ess:ExecuteScalingRule (ram-policy-rules.json)",
}

func (e *ScaleModeError) Error() string {
	hint := ""
	if e.Mode == ScaleWithAdjustment {
		hint = ", or set Config.FallbackToScalingRules"
	}
	return fmt.Sprintf("scale mode %s needs %s, which the RAM policy denies: grant it, or set Config.ScaleMode to %s, which needs %s instead%s: %v",
		e.Mode, e.Action, e.Alternative, modeActions[e.Alternative], hint, e.Err)
}

func (e *ScaleModeError) Unwrap() error { return e.Err }

// Defaults of Config.
const (
	DefaultRefreshInterval         = time.Minute
	DefaultTemplateRefreshInterval = 10 * time.Minute
)

// RuleName is the name of the scaling rule the ScalingRules mode keeps in
// each group.
const RuleName = "kscale-total-capacity"

// Config configures a Provider. Region and either credentials or
// Credential are required; the rest is optional.
type Config struct {
	// Region is the Alibaba Cloud region, e.g. "cn-hangzhou".
	Region string
	// AccessKeyID and AccessKeySecret are static credentials; Credential,
	// when set, is used instead (STS token, RAM role, RRSA, ...).
	AccessKeyID, AccessKeySecret string
	Credential                   auth.Credential

	// ESSEndpoint and ECSEndpoint are "host[:port]" (HTTPS) or
	// "http://host:port" / "https://host". They default to
	// Endpoint("ess", Region) and Endpoint("ecs", Region); the SDK's
	// endpoint resolution (location service lookups) is never used.
	ESSEndpoint, ECSEndpoint string
	// Transport carries the SDK's requests; nil uses the SDK's default.
	Transport http.RoundTripper

	// GroupIDs are the scaling groups to manage.
	GroupIDs []string
	// DiscoveryTags select, in addition, every group carrying all these tags
	// (an empty value matches any value), e.g.
	// {"k8s.io/cluster-autoscaler/enabled": "", "k8s.io/cluster-autoscaler/<cluster>": ""}.
	DiscoveryTags map[string]string

	// ScaleMode defaults to ScaleWithAdjustment.
	ScaleMode ScaleMode
	// FallbackToScalingRules, in ScaleWithAdjustment mode, switches the
	// Provider to ScalingRules for the rest of its life the first time the
	// RAM policy denies ess:ScaleWithAdjustment (Forbidden.RAM), and makes
	// that size change with the rule actions instead. The RAM policy that
	// cluster-autoscaler's Alibaba Cloud documentation gives grants the rule
	// actions but not ScaleWithAdjustment. Without it such a denial is a
	// *ScaleModeError saying what to grant or to set.
	FallbackToScalingRules bool

	// RefreshInterval is how long Refresh trusts its cache (groups, sizes,
	// instances), default 1 minute.
	RefreshInterval time.Duration
	// TemplateRefreshInterval is how long scaling configurations are
	// trusted when a group's active configuration ID has not changed,
	// default 10 minutes. Instance types are cached for the Provider's life.
	TemplateRefreshInterval time.Duration

	// MaxAttempts is the number of tries of a call that is throttled or
	// fails with a 5xx, default 5. Backoff doubles from BaseBackoff
	// (default 200ms) up to MaxBackoff (default 5s).
	MaxAttempts             int
	BaseBackoff, MaxBackoff time.Duration
	// Clock defaults to the wall clock.
	Clock Clock

	// MaxPods is the pods capacity of a template, default 110; a
	// k8s.io/cluster-autoscaler/node-template/resources/pods tag overrides it.
	MaxPods int64
	// Reservations computes the kubelet and system reservations subtracted
	// from a template's capacity; default nodegroup.EKSReservations (ACK's
	// defaults are of the same order; pass your kubelet's values).
	Reservations func(capacity nodegroup.Resources) nodegroup.Reservations
}

var regionRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// Endpoint is the regional endpoint of product ("ess" or "ecs") in region:
// <product>.<region>.aliyuncs.com. It is a pure function, so the endpoint a
// Provider uses never depends on a lookup that can break (the
// cluster-autoscaler alicloud provider stopped working when its endpoint
// resolution did, kubernetes/autoscaler#8168).
func Endpoint(product, region string) string {
	return fmt.Sprintf("%s.%s.aliyuncs.com", product, region)
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if !regionRE.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("region %q is not a region ID", c.Region))
	}
	if c.Credential == nil && (c.AccessKeyID == "" || c.AccessKeySecret == "") {
		errs = append(errs, errors.New("AccessKeyID and AccessKeySecret, or Credential, are required"))
	}
	if len(c.GroupIDs) == 0 && len(c.DiscoveryTags) == 0 {
		errs = append(errs, errors.New("GroupIDs or DiscoveryTags is required"))
	}
	switch c.ScaleMode {
	case "":
		c.ScaleMode = ScaleWithAdjustment
	case ScaleWithAdjustment, ScalingRules:
	default:
		errs = append(errs, fmt.Errorf("ScaleMode %q is neither %s nor %s", c.ScaleMode, ScaleWithAdjustment, ScalingRules))
	}
	for name, d := range map[string]time.Duration{"RefreshInterval": c.RefreshInterval, "TemplateRefreshInterval": c.TemplateRefreshInterval,
		"BaseBackoff": c.BaseBackoff, "MaxBackoff": c.MaxBackoff} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", name, d))
		}
	}
	if c.MaxAttempts < 0 || c.MaxPods < 0 {
		errs = append(errs, errors.New("MaxAttempts and MaxPods must not be negative"))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("ess: invalid Config: %w", errors.Join(errs...))
	}
	if c.ESSEndpoint == "" {
		c.ESSEndpoint = Endpoint("ess", c.Region)
	}
	if c.ECSEndpoint == "" {
		c.ECSEndpoint = Endpoint("ecs", c.Region)
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.TemplateRefreshInterval == 0 {
		c.TemplateRefreshInterval = DefaultTemplateRefreshInterval
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.BaseBackoff == 0 {
		c.BaseBackoff = 200 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.MaxPods == 0 {
		c.MaxPods = 110
	}
	if c.Reservations == nil {
		c.Reservations = nodegroup.EKSReservations
	}
	return c, nil
}

// splitEndpoint turns "http://host:port" into ("HTTP", "host:port").
func splitEndpoint(ep string) (scheme, host string) {
	switch {
	case strings.HasPrefix(ep, "http://"):
		return "HTTP", strings.TrimSuffix(strings.TrimPrefix(ep, "http://"), "/")
	case strings.HasPrefix(ep, "https://"):
		return "HTTPS", strings.TrimSuffix(strings.TrimPrefix(ep, "https://"), "/")
	}
	return "HTTPS", ep
}
