package nodegroup

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApplyTemplateTags(t *testing.T) {
	labels := map[string]string{LabelZone: "a", "pool": "general"}
	var taints []Taint
	c := Resources{MilliCPU: 2000, Memory: 8 << 30, Pods: 29}
	err := ApplyTemplateTags(map[string]string{
		TagLabelPrefix + "pool":                   "gpu",
		TagLabelPrefix + "example.com/team":       "",
		TagTaintPrefix + "dedicated":              "ml:NoSchedule",
		TagTaintPrefix + "spot":                   "PreferNoSchedule",
		TagTaintPrefix + "example.com/evict":      ":NoExecute",
		TagResourcePrefix + "nvidia.com/gpu":      "4",
		TagResourcePrefix + "memory":              "7Gi",
		TagResourcePrefix + "cpu":                 "1500m",
		TagResourcePrefix + "ephemeral-storage":   "100G",
		TagResourcePrefix + "hugepages-2Mi":       "1Gi",
		TagResourcePrefix + "pods":                "110",
		TagResourcePrefix + "example.com/dongles": "0",
		"unrelated": "x",
		TagOptionPrefix + "scaledownunneededtime": "not read here",
	}, labels, &taints, &c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{LabelZone: "a", "pool": "gpu", "example.com/team": ""}, labels); d != "" {
		t.Error(d)
	}
	want := []Taint{{Key: "dedicated", Value: "ml", Effect: "NoSchedule"}, {Key: "example.com/evict", Effect: "NoExecute"}, {Key: "spot", Effect: "PreferNoSchedule"}}
	if d := cmp.Diff(want, taints); d != "" {
		t.Error(d)
	}
	wantC := Resources{MilliCPU: 1500, Memory: 7 << 30, EphemeralStorage: 100e9, Pods: 110,
		Extended: map[string]int64{"nvidia.com/gpu": 4, "hugepages-2Mi": 1 << 30, "example.com/dongles": 0}}
	if d := cmp.Diff(wantC, c); d != "" {
		t.Error(d)
	}
}

// Bad tags are refused as the API server refuses a Node with such labels,
// taints or capacity (label keys and taint keys are qualified names, values
// are label values, effects one of three, integer resources whole), each
// error naming the tag's key.
func TestApplyTemplateTagsRefuses(t *testing.T) {
	long := strings.Repeat("a", 64)
	cases := []struct {
		name, key, value, want string
	}{
		// labels
		{"empty label key", TagLabelPrefix, "x", "label key"},
		{"label key with a space", TagLabelPrefix + "bad key", "x", "label key"},
		{"label key starting with a dash", TagLabelPrefix + "-pool", "x", "label key"},
		{"label key with two slashes", TagLabelPrefix + "a/b/c", "x", "label key"},
		{"label name of 64 characters", TagLabelPrefix + long, "x", "label key"},
		{"label prefix not a DNS subdomain", TagLabelPrefix + "Example.COM/team", "x", "label key"},
		{"label with an empty name after the prefix", TagLabelPrefix + "example.com/", "x", "label key"},
		{"label value with a space", TagLabelPrefix + "pool", "gpu pool", "label value"},
		{"label value of 64 characters", TagLabelPrefix + "pool", long, "label value"},
		{"label value ending with a dash", TagLabelPrefix + "pool", "gpu-", "label value"},
		{"label value with a colon", TagLabelPrefix + "pool", "a:b", "label value"},
		// taints
		{"unknown effect", TagTaintPrefix + "k", "v:Sometimes", "effect"},
		{"effect in the wrong case", TagTaintPrefix + "k", "v:noschedule", "effect"},
		{"no effect", TagTaintPrefix + "k", "v:", "effect"},
		{"empty taint value", TagTaintPrefix + "k", "", "effect"},
		{"value only", TagTaintPrefix + "k", "novalue", "effect"},
		{"empty taint key", TagTaintPrefix, "NoSchedule", "taint key"},
		{"taint key with a space", TagTaintPrefix + "bad key", "v:NoSchedule", "taint key"},
		{"taint value with a colon", TagTaintPrefix + "k", "a:b:NoSchedule", "taint value"},
		{"taint value of 64 characters", TagTaintPrefix + "k", long + ":NoSchedule", "taint value"},
		// resources
		{"quantity not a number", TagResourcePrefix + "cpu", "lots", "resource cpu"},
		{"empty quantity", TagResourcePrefix + "memory", "", "resource memory"},
		{"quantity with a space", TagResourcePrefix + "memory", " 1Gi", "resource memory"},
		{"NaN quantity", TagResourcePrefix + "memory", "NaN", "resource memory"},
		{"negative quantity", TagResourcePrefix + "memory", "-1Gi", "negative"},
		{"quantity overflowing int64 (1e308)", TagResourcePrefix + "memory", "1e308", "above"},
		{"quantity just past int64", TagResourcePrefix + "ephemeral-storage", "9223372036854775808", "above"},
		{"absurd cpu", TagResourcePrefix + "cpu", "1e13", "cores"},
		{"fractional pods", TagResourcePrefix + "pods", "1.5", "whole"},
		{"fractional GPU", TagResourcePrefix + "nvidia.com/gpu", "500m", "whole"},
		{"empty resource name", TagResourcePrefix, "1", "empty resource name"},
		{"extended resource without a domain", TagResourcePrefix + "gpu", "1", "domain-prefixed"},
		{"extended resource with a bad name", TagResourcePrefix + "example.com/bad name", "1", "resource name"},
		{"hugepages of no size", TagResourcePrefix + "hugepages-big", "1Gi", "page size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			labels := map[string]string{"pool": "general"}
			taints := []Taint{{Key: "existing", Effect: "NoSchedule"}}
			c := Resources{MilliCPU: 2000, Memory: 8 << 30, Pods: 29}
			tags := map[string]string{tc.key: tc.value,
				// good tags beside the bad one are not applied either
				TagLabelPrefix + "team": "ml", TagTaintPrefix + "spot": "PreferNoSchedule", TagResourcePrefix + "pods": "64"}
			err := ApplyTemplateTags(tags, labels, &taints, &c)
			var te *TagError
			if !errors.Is(err, ErrInvalidTag) || !errors.As(err, &te) || te.Key != tc.key {
				t.Fatalf("%s=%q: error %v, want a *TagError for that key", tc.key, tc.value, err)
			}
			if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name the key or say %q", err, tc.want)
			}
			if len(labels) != 1 || len(taints) != 1 || c.Pods != 29 || c.Memory != 8<<30 || c.MilliCPU != 2000 || c.Extended != nil {
				t.Errorf("a refused call changed the template: %v %v %+v", labels, taints, c)
			}
		})
	}
}

func TestApplyTemplateTagsReportsEveryBadTag(t *testing.T) {
	tags := map[string]string{
		TagLabelPrefix + "bad key":    "x",
		TagTaintPrefix + "k":          "v:Sometimes",
		TagResourcePrefix + "memory":  "lots",
		TagResourcePrefix + "example": "1",
		TagLabelPrefix + "fine":       "yes",
	}
	err := ApplyTemplateTags(tags, map[string]string{}, new([]Taint), &Resources{})
	for k := range tags {
		if k == TagLabelPrefix+"fine" {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("error %v does not report %s", err, k)
		}
	}
	if strings.Contains(err.Error(), TagLabelPrefix+"fine") {
		t.Errorf("a good tag is reported: %v", err)
	}
}

// Kubernetes refuses a Node with two taints of one key and effect.
func TestApplyTemplateTagsDuplicateTaint(t *testing.T) {
	taints := []Taint{{Key: "dedicated", Value: "a", Effect: "NoSchedule"}}
	err := ApplyTemplateTags(map[string]string{TagTaintPrefix + "dedicated": "b:NoSchedule"}, map[string]string{}, &taints, &Resources{})
	if !errors.Is(err, ErrInvalidTag) || !strings.Contains(err.Error(), "unique") {
		t.Fatalf("duplicate taint: %v", err)
	}
	// Another effect for the same key is a different taint.
	if err := ApplyTemplateTags(map[string]string{TagTaintPrefix + "dedicated": "b:NoExecute"}, map[string]string{}, &taints, &Resources{}); err != nil || len(taints) != 2 {
		t.Fatalf("same key, other effect: %v %v", err, taints)
	}
}

func TestApplyTemplateTagsNilTargets(t *testing.T) {
	if err := ApplyTemplateTags(map[string]string{TagLabelPrefix + "a": "b"}, nil, new([]Taint), &Resources{}); err == nil {
		t.Error("label tags with nil labels accepted")
	}
	if err := ApplyTemplateTags(map[string]string{TagTaintPrefix + "a": "NoSchedule"}, map[string]string{}, nil, &Resources{}); err == nil {
		t.Error("taint tags with nil taints accepted")
	}
	if err := ApplyTemplateTags(map[string]string{TagResourcePrefix + "pods": "1"}, map[string]string{}, new([]Taint), nil); err == nil {
		t.Error("resource tags with nil capacity accepted")
	}
	if err := ApplyTemplateTags(map[string]string{"other": "x"}, nil, nil, nil); err != nil {
		t.Errorf("no template tags: %v", err)
	}
}

func TestOptionsFromTags(t *testing.T) {
	o, err := OptionsFromTags(map[string]string{
		TagOptionPrefix + "scaledownutilizationthreshold":    "0.3",
		TagOptionPrefix + "ScaleDownGpuUtilizationThreshold": "1",
		TagOptionPrefix + "ScaleDownUnneededTime":            "7m",
		TagOptionPrefix + "scaledownunreadytime":             "0s",
		TagOptionPrefix + "ignoredaemonsetsutilization":      "true",
		TagOptionPrefix + "maxnodeprovisiontime":             "15m", // not modelled: left alone
		TagLabelPrefix + "pool":                              "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if *o.ScaleDownUtilizationThreshold != 0.3 || *o.ScaleDownGpuUtilizationThreshold != 1 || *o.ScaleDownUnneededTime != 7*time.Minute ||
		*o.ScaleDownUnreadyTime != 0 || !*o.IgnoreDaemonSetsUtilization {
		t.Fatalf("%+v", o)
	}
	if o, err := OptionsFromTags(nil); err != nil || o != (Options{}) {
		t.Fatalf("no tags: %+v %v", o, err)
	}
}

func TestOptionsFromTagsRefuses(t *testing.T) {
	cases := []struct{ option, value, want string }{
		{"scaledownutilizationthreshold", "abc", "invalid syntax"},
		{"scaledownutilizationthreshold", "1.5", "not in [0, 1]"},
		{"scaledownutilizationthreshold", "-0.1", "not in [0, 1]"},
		{"scaledowngpuutilizationthreshold", "NaN", "not in [0, 1]"},
		{"scaledowngpuutilizationthreshold", "Inf", "not in [0, 1]"},
		{"scaledownunneededtime", "soon", "invalid duration"},
		{"scaledownunneededtime", "10", "missing unit"},
		{"scaledownunreadytime", "-5m", "negative"},
		{"ignoredaemonsetsutilization", "yes", "invalid syntax"},
	}
	for _, tc := range cases {
		key := TagOptionPrefix + tc.option
		_, err := OptionsFromTags(map[string]string{key: tc.value, TagOptionPrefix + "scaledownunneededtime2": "x"})
		var te *TagError
		if !errors.Is(err, ErrInvalidTag) || !errors.As(err, &te) || te.Key != key || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v, want a *TagError for the key saying %q", tc.option, tc.value, err, tc.want)
		}
	}
	// Two tags naming one option (the names are case-insensitive) would
	// make the result depend on map order.
	_, err := OptionsFromTags(map[string]string{TagOptionPrefix + "ScaleDownUnneededTime": "5m", TagOptionPrefix + "scaledownunneededtime": "10m"})
	if !errors.Is(err, ErrInvalidTag) || !strings.Contains(err.Error(), "also set by tag") {
		t.Errorf("duplicate option: %v", err)
	}
}
