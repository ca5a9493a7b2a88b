package asg

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kscale/kscale/nodegroup"
)

// IAMPolicy is the shipped IAM policy document (iam-policy.json): exactly
// the actions of AutoScalingAPI and EC2API, which are all the calls the
// package makes.
//
//go:embed iam-policy.json
var IAMPolicy []byte

// AutoScalingAPI is the part of the Auto Scaling client the provider calls;
// *autoscaling.Client implements it. Every method is an action in IAMPolicy.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeScalingActivities(context.Context, *autoscaling.DescribeScalingActivitiesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
	DescribeLaunchConfigurations(context.Context, *autoscaling.DescribeLaunchConfigurationsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error)
	SetDesiredCapacity(context.Context, *autoscaling.SetDesiredCapacityInput, ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	TerminateInstanceInAutoScalingGroup(context.Context, *autoscaling.TerminateInstanceInAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error)
}

// EC2API is the part of the EC2 client the provider calls; *ec2.Client
// implements it. Every method is an action in IAMPolicy.
type EC2API interface {
	DescribeLaunchTemplateVersions(context.Context, *ec2.DescribeLaunchTemplateVersionsInput, ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	DescribeInstanceTypes(context.Context, *ec2.DescribeInstanceTypesInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error)
}

var (
	_ AutoScalingAPI = (*autoscaling.Client)(nil)
	_ EC2API         = (*ec2.Client)(nil)
)

// Tag keys of cluster-autoscaler's conventions, honoured unchanged.
const (
	TagEnabled        = "k8s.io/cluster-autoscaler/enabled"
	TagClusterPrefix  = "k8s.io/cluster-autoscaler/" // + cluster name
	TagLabelPrefix    = nodegroup.TagLabelPrefix
	TagTaintPrefix    = nodegroup.TagTaintPrefix
	TagResourcePrefix = nodegroup.TagResourcePrefix
	TagOptionPrefix   = nodegroup.TagOptionPrefix
)

// Config configures a Provider.
type Config struct {
	// AutoScaling and EC2 are the API clients, usually
	// autoscaling.NewFromConfig(cfg) and ec2.NewFromConfig(cfg). Retries
	// (throttling, 5xx) are the clients' retryer's job.
	AutoScaling AutoScalingAPI
	EC2         EC2API

	// Region is the topology.kubernetes.io/region label; when empty it is
	// taken from the Auto Scaling client's options (for an
	// *autoscaling.Client) or from the zone name less its last letter.
	Region string

	// GroupNames lists the groups to manage. When empty, groups are
	// discovered by tags: those carrying both k8s.io/cluster-autoscaler/enabled
	// and k8s.io/cluster-autoscaler/<ClusterName> (any value), plus every
	// TagFilters entry (key → value, "" for any value).
	GroupNames  []string
	ClusterName string
	TagFilters  map[string]string

	// RefreshInterval is how long Refresh trusts its cache (1 minute if zero,
	// as cluster-autoscaler's AWS provider).
	RefreshInterval time.Duration

	// Now is the clock (time.Now if nil); tests share the emulator's.
	Now func() time.Time

	// Reservations computes the kubelet and system reservations of a
	// template from its capacity (nodegroup.EKSReservations if nil).
	Reservations func(nodegroup.Resources) nodegroup.Reservations

	// MaxGroupSize is the sanity cap on a group's size in nodes (100 000 if
	// zero): MaxSize is reported no higher, and a group whose desired
	// capacity asks for more nodes is invalid (ErrInvalidGroup), so a
	// hostile or broken answer cannot make Nodes build millions of
	// placeholders.
	MaxGroupSize int
}

// DefaultMaxGroupSize is Config.MaxGroupSize when left zero.
const DefaultMaxGroupSize = 100_000

// New builds a provider and reads the groups once. The returned Provider is
// safe for concurrent use. When the groups could be read but some are
// unusable (ErrInvalidGroup, a named group the cloud did not return,
// activities that could not be read), New returns the Provider together
// with an error naming each such group; the other groups work.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.AutoScaling == nil || cfg.EC2 == nil {
		return nil, errors.New("asg: Config.AutoScaling and Config.EC2 are required")
	}
	if len(cfg.GroupNames) == 0 && cfg.ClusterName == "" && len(cfg.TagFilters) == 0 {
		return nil, errors.New("asg: Config needs GroupNames, ClusterName or TagFilters")
	}
	if cfg.MaxGroupSize < 0 {
		return nil, fmt.Errorf("asg: Config.MaxGroupSize %d is negative", cfg.MaxGroupSize)
	}
	if cfg.MaxGroupSize == 0 {
		cfg.MaxGroupSize = DefaultMaxGroupSize
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Reservations == nil {
		cfg.Reservations = nodegroup.EKSReservations
	}
	if cfg.Region == "" {
		if c, ok := cfg.AutoScaling.(*autoscaling.Client); ok {
			cfg.Region = c.Options().Region
		}
	}
	p := &Provider{cfg: cfg, groups: map[string]*Group{}, byInstance: map[string]*Group{},
		types: map[string]typeInfo{}, lts: map[string]ltCacheEntry{}}
	if err := p.refresh(ctx); err != nil {
		if p.last.IsZero() { // the describe itself failed
			return nil, err
		}
		return p, err
	}
	return p, nil
}
