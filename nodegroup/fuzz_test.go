package nodegroup_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/kscale/kscale/nodegroup"
)

// FuzzApplyTemplateTags: any tag either applies or is refused with a
// *TagError naming it and the template untouched; what applies is valid as
// the API server sees a Node (label keys and values, taint effects,
// non-negative capacity). Never a panic.
func FuzzApplyTemplateTags(f *testing.F) {
	f.Add(uint8(0), "pool", "gpu")
	f.Add(uint8(0), "example.com/team", "")
	f.Add(uint8(0), "bad key", "x")
	f.Add(uint8(1), "dedicated", "ml:NoSchedule")
	f.Add(uint8(1), "k", "a:b:NoExecute")
	f.Add(uint8(1), "", "NoSchedule")
	f.Add(uint8(2), "cpu", "1500m")
	f.Add(uint8(2), "memory", "1e308")
	f.Add(uint8(2), "nvidia.com/gpu", "0.5")
	f.Add(uint8(2), "hugepages-2Mi", "1Gi")
	f.Add(uint8(2), "pods", "9223372036854775808")
	f.Add(uint8(3), "scaledownutilizationthreshold", "NaN")
	prefixes := []string{nodegroup.TagLabelPrefix, nodegroup.TagTaintPrefix, nodegroup.TagResourcePrefix, nodegroup.TagOptionPrefix}
	f.Fuzz(func(t *testing.T, kind uint8, name, value string) {
		key := prefixes[int(kind)%len(prefixes)] + name
		tags := map[string]string{key: value}
		labels := map[string]string{"pool": "general"}
		taints := []nodegroup.Taint{{Key: "existing", Effect: "NoSchedule"}}
		c := nodegroup.Resources{MilliCPU: 1000, Memory: 1 << 30, Pods: 10}
		before, beforeTaints, beforeC := maps.Clone(labels), slices.Clone(taints), c
		if err := nodegroup.ApplyTemplateTags(tags, labels, &taints, &c); err != nil {
			var te *nodegroup.TagError
			if !errors.Is(err, nodegroup.ErrInvalidTag) || !errors.As(err, &te) || te.Key != key {
				t.Fatalf("%s=%q: untyped error %v", key, value, err)
			}
			if !maps.Equal(before, labels) || !slices.Equal(beforeTaints, taints) || c.Extended != nil || c.MilliCPU != beforeC.MilliCPU || c.Memory != beforeC.Memory || c.Pods != beforeC.Pods || c.EphemeralStorage != 0 {
				t.Fatalf("%s=%q: refused but the template changed", key, value)
			}
		}
		for k, v := range labels {
			if len(content.IsLabelKey(k)) > 0 || len(content.IsLabelValue(v)) > 0 {
				t.Fatalf("invalid label %q=%q applied", k, v)
			}
		}
		for _, tn := range taints {
			if len(content.IsLabelKey(tn.Key)) > 0 || len(content.IsLabelValue(tn.Value)) > 0 ||
				(tn.Effect != "NoSchedule" && tn.Effect != "PreferNoSchedule" && tn.Effect != "NoExecute") {
				t.Fatalf("invalid taint %+v applied", tn)
			}
		}
		if c.MilliCPU < 0 || c.Memory < 0 || c.Pods < 0 || c.EphemeralStorage < 0 {
			t.Fatalf("negative capacity %+v", c)
		}
		for r, n := range c.Extended {
			if n < 0 {
				t.Fatalf("negative %s", r)
			}
		}
		if _, err := nodegroup.OptionsFromTags(tags); err != nil && !errors.Is(err, nodegroup.ErrInvalidTag) {
			t.Fatalf("%s=%q: untyped options error %v", key, value, err)
		}
	})
}

// A node-template tag set on an Auto Scaling group or ESS scaling group, as
// cluster-autoscaler reads it, applied to a template.
func ExampleApplyTemplateTags() {
	labels := map[string]string{nodegroup.LabelInstanceType: "g5.xlarge"}
	var taints []nodegroup.Taint
	capacity := nodegroup.Resources{MilliCPU: 4000, Memory: 16 << 30, Pods: 58}
	err := nodegroup.ApplyTemplateTags(map[string]string{
		nodegroup.TagLabelPrefix + "workload":          "ml",
		nodegroup.TagTaintPrefix + "nvidia.com/gpu":    "present:NoSchedule",
		nodegroup.TagResourcePrefix + "nvidia.com/gpu": "1",
	}, labels, &taints, &capacity)
	fmt.Println(err, labels["workload"], taints, capacity.Extended)

	err = nodegroup.ApplyTemplateTags(map[string]string{nodegroup.TagResourcePrefix + "gpu": "1"}, labels, &taints, &capacity)
	fmt.Println(errors.Is(err, nodegroup.ErrInvalidTag))
	// Output:
	// <nil> ml [{nvidia.com/gpu present NoSchedule}] map[nvidia.com/gpu:1]
	// true
}
