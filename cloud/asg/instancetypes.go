package asg

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// typeInfo is what a template needs from DescribeInstanceTypes.
type typeInfo struct {
	vcpus, memoryMiB int64
	arch             string // Kubernetes spelling: amd64, arm64
	maxPods          int64
	gpus             map[string]int64 // extended resource → count
	localStorageGB   int64
}

// launchData is what a template needs from a launch template version or a
// launch configuration.
type launchData struct {
	instanceType string
	spot         bool
	rootVolumeGB int64
}

type ltCacheEntry struct {
	data launchData
	at   time.Time
}

// aliasTTL bounds how long a "$Latest"/"$Default" launch template version
// (or a launch configuration) is trusted; numbered versions never change.
const aliasTTL = 10 * time.Minute

// maxPods is the EKS ENI-based limit: ENIs × (IPv4 addresses per ENI − 1) + 2.
func maxPods(enis, ipsPerENI int64) int64 {
	if enis <= 0 || ipsPerENI <= 0 {
		return 110 // the kubelet default when the network limits are unknown
	}
	return enis*(ipsPerENI-1) + 2
}

func kubeArch(a ec2types.ArchitectureType) string {
	switch a {
	case ec2types.ArchitectureTypeArm64, ec2types.ArchitectureTypeArm64Mac:
		return "arm64"
	case ec2types.ArchitectureTypeI386:
		return "386"
	default:
		return "amd64"
	}
}

// instanceTypes returns the named types, calling DescribeInstanceTypes (100
// names a call, paginated) only for those not cached; types never change.
func (p *Provider) instanceTypes(ctx context.Context, names []string) (map[string]typeInfo, error) {
	p.typesMu.Lock()
	defer p.typesMu.Unlock()
	var missing []ec2types.InstanceType
	seen := map[string]bool{}
	for _, n := range names {
		if _, ok := p.types[n]; !ok && !seen[n] {
			seen[n] = true
			missing = append(missing, ec2types.InstanceType(n))
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	for i := 0; i < len(missing); i += 100 {
		batch := missing[i:min(i+100, len(missing))]
		in := &ec2.DescribeInstanceTypesInput{InstanceTypes: batch}
		tokens := map[string]bool{}
		// 100 names fit in one page of the default size; a server that
		// keeps paging past a page per name is not to be followed.
		for pages := 1; ; pages++ {
			if pages > len(batch)+1 {
				return nil, fmt.Errorf("DescribeInstanceTypes: %w: more than %d pages for %d types", ErrBadResponse, len(batch)+1, len(batch))
			}
			out, err := p.cfg.EC2.DescribeInstanceTypes(ctx, in, ec2Guard)
			if err != nil {
				return nil, fmt.Errorf("DescribeInstanceTypes: %w", classify(err))
			}
			for _, t := range out.InstanceTypes {
				name := string(t.InstanceType)
				if !seen[name] {
					continue // not asked for: not cached either
				}
				ti, err := typeInfoOf(t)
				if err != nil {
					return nil, fmt.Errorf("DescribeInstanceTypes: %w", err)
				}
				p.types[name] = ti
			}
			next := aws.ToString(out.NextToken)
			if next == "" {
				break
			}
			if tokens[next] {
				return nil, fmt.Errorf("DescribeInstanceTypes: %w: NextToken %.40q repeated", ErrBadResponse, next)
			}
			tokens[next] = true
			in.NextToken = aws.String(next)
		}
	}
	res := make(map[string]typeInfo, len(names))
	for _, n := range names {
		t, ok := p.types[n]
		if !ok {
			return nil, fmt.Errorf("DescribeInstanceTypes did not describe %s", n)
		}
		res[n] = t
	}
	return res, nil
}

// Sanity bounds of an instance type description, well above every real
// type (the largest have 448 vCPUs, 24 TiB of memory, 16 GPUs, 15 ENIs of
// 50 addresses and 60 TB of instance store).
const (
	maxVCPUs       = 8192
	maxMemoryMiB   = 64 << 20 // 64 TiB
	maxGPUs        = 1024
	maxENIs        = 1024
	maxIPsPerENI   = 1024
	maxLocalDiskGB = 1 << 20 // 1 PiB
)

// typeInfoOf reads a type's description, refusing negative or absurd
// numbers with the type's name (ErrBadInstanceType).
func typeInfoOf(t ec2types.InstanceTypeInfo) (typeInfo, error) {
	ti := typeInfo{arch: "amd64"}
	name := string(t.InstanceType)
	bad := func(what string, v, limit int64) (typeInfo, error) {
		return typeInfo{}, fmt.Errorf("%w: %.60s: %s %d is outside [0, %d]", ErrBadInstanceType, name, what, v, limit)
	}
	if t.VCpuInfo != nil {
		ti.vcpus = int64(aws.ToInt32(t.VCpuInfo.DefaultVCpus))
	}
	if ti.vcpus <= 0 || ti.vcpus > maxVCPUs {
		return typeInfo{}, fmt.Errorf("%w: %.60s: %d vCPUs is outside [1, %d]", ErrBadInstanceType, name, ti.vcpus, maxVCPUs)
	}
	if t.MemoryInfo != nil {
		ti.memoryMiB = aws.ToInt64(t.MemoryInfo.SizeInMiB)
	}
	if ti.memoryMiB <= 0 || ti.memoryMiB > maxMemoryMiB {
		return typeInfo{}, fmt.Errorf("%w: %.60s: memory %d MiB is outside [1, %d]", ErrBadInstanceType, name, ti.memoryMiB, maxMemoryMiB)
	}
	if t.ProcessorInfo != nil && len(t.ProcessorInfo.SupportedArchitectures) > 0 {
		ti.arch = kubeArch(t.ProcessorInfo.SupportedArchitectures[0])
	}
	var enis, ips int64
	if t.NetworkInfo != nil {
		enis, ips = int64(aws.ToInt32(t.NetworkInfo.MaximumNetworkInterfaces)), int64(aws.ToInt32(t.NetworkInfo.Ipv4AddressesPerInterface))
	}
	if enis < 0 || enis > maxENIs {
		return bad("network interfaces", enis, maxENIs)
	}
	if ips < 0 || ips > maxIPsPerENI {
		return bad("IPv4 addresses per interface", ips, maxIPsPerENI)
	}
	ti.maxPods = maxPods(enis, ips)
	if t.GpuInfo != nil {
		for _, g := range t.GpuInfo.Gpus {
			res := "nvidia.com/gpu"
			if strings.EqualFold(aws.ToString(g.Manufacturer), "AMD") {
				res = "amd.com/gpu"
			}
			n := int64(aws.ToInt32(g.Count))
			if n < 0 || n > maxGPUs || ti.gpus[res]+n > maxGPUs {
				return bad("GPUs", ti.gpus[res]+n, maxGPUs)
			}
			if ti.gpus == nil {
				ti.gpus = map[string]int64{}
			}
			ti.gpus[res] += n
		}
	}
	if t.InstanceStorageInfo != nil {
		ti.localStorageGB = aws.ToInt64(t.InstanceStorageInfo.TotalSizeInGB)
	}
	if ti.localStorageGB < 0 || ti.localStorageGB > maxLocalDiskGB {
		return bad("instance storage GB", ti.localStorageGB, maxLocalDiskGB)
	}
	return ti, nil
}

func (p *Provider) cachedLaunch(key string, alias bool) (launchData, bool) {
	p.typesMu.Lock()
	defer p.typesMu.Unlock()
	e, ok := p.lts[key]
	if !ok || (alias && p.now().Sub(e.at) >= aliasTTL) {
		return launchData{}, false
	}
	return e.data, true
}

func (p *Provider) storeLaunch(key string, d launchData) {
	p.typesMu.Lock()
	defer p.typesMu.Unlock()
	p.lts[key] = ltCacheEntry{data: d, at: p.now()}
}

// launchTemplate reads one launch template version with
// DescribeLaunchTemplateVersions, cached.
func (p *Provider) launchTemplate(ctx context.Context, spec *astypes.LaunchTemplateSpecification) (launchData, error) {
	version := aws.ToString(spec.Version)
	if version == "" {
		version = "$Default"
	}
	key := "lt:" + aws.ToString(spec.LaunchTemplateId) + "/" + aws.ToString(spec.LaunchTemplateName) + "@" + version
	alias := strings.HasPrefix(version, "$")
	if d, ok := p.cachedLaunch(key, alias); ok {
		return d, nil
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{version}}
	if spec.LaunchTemplateId != nil {
		in.LaunchTemplateId = spec.LaunchTemplateId
	} else {
		in.LaunchTemplateName = spec.LaunchTemplateName
	}
	out, err := p.cfg.EC2.DescribeLaunchTemplateVersions(ctx, in, ec2Guard)
	if err != nil {
		return launchData{}, fmt.Errorf("DescribeLaunchTemplateVersions: %w", classify(err))
	}
	if len(out.LaunchTemplateVersions) == 0 || out.LaunchTemplateVersions[0].LaunchTemplateData == nil {
		return launchData{}, fmt.Errorf("DescribeLaunchTemplateVersions: no version %s of %s", version, key)
	}
	data := out.LaunchTemplateVersions[0].LaunchTemplateData
	d := launchData{instanceType: string(data.InstanceType)}
	if m := data.InstanceMarketOptions; m != nil && m.MarketType == ec2types.MarketTypeSpot {
		d.spot = true
	}
	if len(data.BlockDeviceMappings) > 0 && data.BlockDeviceMappings[0].Ebs != nil {
		d.rootVolumeGB = int64(aws.ToInt32(data.BlockDeviceMappings[0].Ebs.VolumeSize))
		if d.rootVolumeGB < 0 {
			return launchData{}, fmt.Errorf("DescribeLaunchTemplateVersions: %w: %s: root volume of %d GiB", ErrBadResponse, key, d.rootVolumeGB)
		}
	}
	p.storeLaunch(key, d)
	return d, nil
}

// launchConfiguration reads a launch configuration with
// DescribeLaunchConfigurations, cached.
func (p *Provider) launchConfiguration(ctx context.Context, name string) (launchData, error) {
	key := "lc:" + name
	if d, ok := p.cachedLaunch(key, true); ok {
		return d, nil
	}
	out, err := p.cfg.AutoScaling.DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{LaunchConfigurationNames: []string{name}}, asGuard)
	if err != nil {
		return launchData{}, fmt.Errorf("DescribeLaunchConfigurations: %w", classify(err))
	}
	if len(out.LaunchConfigurations) == 0 {
		return launchData{}, fmt.Errorf("DescribeLaunchConfigurations: no launch configuration %s", name)
	}
	lc := out.LaunchConfigurations[0]
	d := launchData{instanceType: aws.ToString(lc.InstanceType), spot: aws.ToString(lc.SpotPrice) != ""}
	p.storeLaunch(key, d)
	return d, nil
}
