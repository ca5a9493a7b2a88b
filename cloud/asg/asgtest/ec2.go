package asgtest

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// EC2 wire types, with the element names of the 2016-11-15 API (lists are
// <item> elements under a …Set element).

type xmlEBS struct {
	VolumeSize int32  `xml:"volumeSize"`
	VolumeType string `xml:"volumeType"`
}

type xmlBlockDevice struct {
	DeviceName string `xml:"deviceName"`
	EBS        xmlEBS `xml:"ebs"`
}

type xmlMarketOptions struct {
	MarketType string `xml:"marketType"`
}

type xmlLTData struct {
	ImageID       string            `xml:"imageId"`
	InstanceType  string            `xml:"instanceType,omitempty"`
	MarketOptions *xmlMarketOptions `xml:"instanceMarketOptions,omitempty"`
	BlockDevices  []xmlBlockDevice  `xml:"blockDeviceMappingSet>item"`
}

type xmlLTVersion struct {
	LaunchTemplateID   string    `xml:"launchTemplateId"`
	LaunchTemplateName string    `xml:"launchTemplateName"`
	VersionNumber      int       `xml:"versionNumber"`
	DefaultVersion     bool      `xml:"defaultVersion"`
	CreateTime         time.Time `xml:"createTime"`
	Data               xmlLTData `xml:"launchTemplateData"`
}

type xmlGPU struct {
	Count        int    `xml:"count"`
	Manufacturer string `xml:"manufacturer"`
	Name         string `xml:"name"`
}

type xmlInstanceType struct {
	InstanceType string `xml:"instanceType"`
	VCPU         struct {
		DefaultVCpus int `xml:"defaultVCpus"`
	} `xml:"vCpuInfo"`
	Memory struct {
		SizeInMiB int64 `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
	Processor struct {
		Architectures []string `xml:"supportedArchitectures>item"`
	} `xml:"processorInfo"`
	Network struct {
		MaxENIs    int `xml:"maximumNetworkInterfaces"`
		IPv4PerENI int `xml:"ipv4AddressesPerInterface"`
	} `xml:"networkInfo"`
	GPU *struct {
		GPUs []xmlGPU `xml:"gpus>item"`
	} `xml:"gpuInfo,omitempty"`
	Storage *struct {
		TotalSizeInGB int64 `xml:"totalSizeInGB"`
	} `xml:"instanceStorageInfo,omitempty"`
	InstanceStorageSupported bool     `xml:"instanceStorageSupported"`
	UsageClasses             []string `xml:"supportedUsageClasses>item"`
	CurrentGeneration        bool     `xml:"currentGeneration"`
}

func (s *Server) ec2Handlers() map[string]handler {
	return map[string]handler{
		"DescribeLaunchTemplateVersions": s.describeLaunchTemplateVersions,
		"DescribeInstanceTypes":          s.describeInstanceTypes,
	}
}

func ec2Error(code, format string, args ...any) *apiError {
	return &apiError{status: 400, code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) describeLaunchTemplateVersions(r request) (any, error) {
	ref := LaunchTemplateRef{ID: r.get("LaunchTemplateId"), Name: r.get("LaunchTemplateName")}
	if ref.ID == "" && ref.Name == "" {
		return nil, ec2Error("MissingParameter", "The request must contain the parameter LaunchTemplateId or LaunchTemplateName")
	}
	t, _, _ := s.resolveLT(ref)
	if t == nil {
		if ref.ID != "" {
			return nil, ec2Error("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", ref.ID)
		}
		return nil, ec2Error("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", ref.Name)
	}
	versions := r.list("LaunchTemplateVersion")
	var nums []int
	if len(versions) == 0 {
		for i := range t.versions {
			nums = append(nums, i+1)
		}
	}
	for _, v := range versions {
		ref.Version = v
		_, n, lt := s.resolveLT(ref)
		if lt == nil {
			return nil, ec2Error("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for template %s.", v, t.id)
		}
		nums = append(nums, n)
	}
	maxResults, err := r.intParam("MaxResults", 200)
	if err != nil {
		return nil, err
	}
	if maxResults < 1 || maxResults > 200 {
		return nil, ec2Error("InvalidParameterValue", "MaxResults must be between 1 and 200")
	}
	from, to, next, err := page(len(nums), r.get("NextToken"), maxResults)
	if err != nil {
		return nil, err
	}
	out := struct {
		Versions  []xmlLTVersion `xml:"launchTemplateVersionSet>item"`
		NextToken string         `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, n := range nums[from:to] {
		v := t.versions[n-1]
		x := xmlLTVersion{LaunchTemplateID: t.id, LaunchTemplateName: t.name, VersionNumber: n, DefaultVersion: n == t.def, CreateTime: s.cfg.Start,
			Data: xmlLTData{ImageID: "ami-00000000000000001", InstanceType: v.InstanceType}}
		if v.Spot {
			x.Data.MarketOptions = &xmlMarketOptions{MarketType: "spot"}
		}
		if v.RootVolumeGB > 0 {
			x.Data.BlockDevices = []xmlBlockDevice{{DeviceName: "/dev/xvda", EBS: xmlEBS{VolumeSize: v.RootVolumeGB, VolumeType: "gp3"}}}
		}
		out.Versions = append(out.Versions, x)
	}
	return out, nil
}

// instanceTypeFilters are the DescribeInstanceTypes filter names the
// emulator evaluates (a subset of EC2's), each giving an instance type's
// values as strings; a filter's values may use the * and ? wildcards.
var instanceTypeFilters = map[string]func(t InstanceType) []string{
	"instance-type":                           func(t InstanceType) []string { return []string{t.Name} },
	"current-generation":                      func(t InstanceType) []string { return []string{"true"} },
	"processor-info.supported-architecture":   func(t InstanceType) []string { return []string{t.Arch} },
	"vcpu-info.default-vcpus":                 func(t InstanceType) []string { return []string{strconv.Itoa(t.VCPUs)} },
	"memory-info.size-in-mib":                 func(t InstanceType) []string { return []string{strconv.FormatInt(t.MemoryMiB, 10)} },
	"network-info.maximum-network-interfaces": func(t InstanceType) []string { return []string{strconv.Itoa(t.ENIs)} },
	"network-info.ipv4-addresses-per-interface": func(t InstanceType) []string {
		return []string{strconv.Itoa(t.IPv4PerENI)}
	},
	"instance-storage-supported": func(t InstanceType) []string { return []string{strconv.FormatBool(t.LocalDiskGB > 0)} },
	"instance-storage-info.total-size-in-gb": func(t InstanceType) []string {
		if t.LocalDiskGB == 0 {
			return nil
		}
		return []string{strconv.FormatInt(t.LocalDiskGB, 10)}
	},
	"supported-usage-class": func(t InstanceType) []string {
		if t.SpotSupported {
			return []string{"on-demand", "spot"}
		}
		return []string{"on-demand"}
	},
	"gpu-info.gpus.count": func(t InstanceType) []string {
		if t.GPUs == 0 {
			return nil
		}
		return []string{strconv.Itoa(t.GPUs)}
	},
	"gpu-info.gpus.manufacturer": func(t InstanceType) []string {
		if t.GPUs == 0 {
			return nil
		}
		return []string{t.GPUMaker}
	},
}

// ec2Filters reads EC2's Filter.N.Name / Filter.N.Value.M parameters.
func ec2Filters(r request, known func(string) bool) ([]filter, error) {
	var out []filter
	for i := 1; ; i++ {
		p := "Filter." + strconv.Itoa(i)
		name, ok := r.form[p+".Name"]
		if !ok {
			return out, nil
		}
		if !known(name[0]) {
			return nil, ec2Error("InvalidParameterValue", "The filter '%s' is invalid", name[0])
		}
		values := r.list(p + ".Value")
		if len(values) == 0 {
			return nil, ec2Error("InvalidParameterValue", "The filter '%s' has no values", name[0])
		}
		out = append(out, filter{name[0], values})
	}
}

// typeMatches applies the filters: values of one filter OR'ed, filters AND'ed.
func typeMatches(t InstanceType, filters []filter) bool {
	for _, f := range filters {
		have := instanceTypeFilters[f.name](t)
		if !slices.ContainsFunc(f.values, func(v string) bool {
			return slices.ContainsFunc(have, func(h string) bool { return wildcardMatch(v, h) })
		}) {
			return false
		}
	}
	return true
}

func (s *Server) describeInstanceTypes(r request) (any, error) {
	names := r.list("InstanceType")
	if len(names) > 100 {
		return nil, ec2Error("InvalidParameterValue", "The maximum number of instance types is 100.")
	}
	filters, err := ec2Filters(r, func(n string) bool { _, ok := instanceTypeFilters[n]; return ok })
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = sortedKeys(s.types)
	}
	for _, n := range names {
		if _, ok := s.types[n]; !ok {
			return nil, ec2Error("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", n)
		}
	}
	if len(filters) > 0 {
		names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !typeMatches(s.types[n], filters) })
	}
	maxResults := 100
	if v := r.get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 100 {
			return nil, ec2Error("InvalidParameterValue", "MaxResults must be between 5 and 100")
		}
		maxResults = n
	}
	from, to, next, err := page(len(names), r.get("NextToken"), maxResults)
	if err != nil {
		return nil, err
	}
	out := struct {
		Types     []xmlInstanceType `xml:"instanceTypeSet>item"`
		NextToken string            `xml:"nextToken,omitempty"`
	}{NextToken: next}
	for _, n := range names[from:to] {
		t := s.types[n]
		x := xmlInstanceType{InstanceType: t.Name, CurrentGeneration: true, UsageClasses: []string{"on-demand"}}
		if t.SpotSupported {
			x.UsageClasses = append(x.UsageClasses, "spot")
		}
		x.VCPU.DefaultVCpus = t.VCPUs
		x.Memory.SizeInMiB = t.MemoryMiB
		x.Processor.Architectures = []string{t.Arch}
		x.Network.MaxENIs, x.Network.IPv4PerENI = t.ENIs, t.IPv4PerENI
		if t.GPUs > 0 {
			x.GPU = &struct {
				GPUs []xmlGPU `xml:"gpus>item"`
			}{[]xmlGPU{{Count: t.GPUs, Manufacturer: t.GPUMaker, Name: "GPU"}}}
		}
		if t.LocalDiskGB > 0 {
			x.InstanceStorageSupported = true
			x.Storage = &struct {
				TotalSizeInGB int64 `xml:"totalSizeInGB"`
			}{t.LocalDiskGB}
		}
		out.Types = append(out.Types, x)
	}
	return out, nil
}
