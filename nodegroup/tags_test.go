package nodegroup

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApplyTemplateTags(t *testing.T) {
	labels := map[string]string{LabelZone: "a"}
	var taints []Taint
	c := Resources{MilliCPU: 2000, Memory: 8 << 30, Pods: 29}
	err := ApplyTemplateTags(map[string]string{
		TagLabelPrefix + "pool":              "gpu",
		TagTaintPrefix + "dedicated":         "ml:NoSchedule",
		TagTaintPrefix + "spot":              "PreferNoSchedule",
		TagResourcePrefix + "nvidia.com/gpu": "4",
		TagResourcePrefix + "memory":         "7Gi",
		"unrelated":                          "x",
	}, labels, &taints, &c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{LabelZone: "a", "pool": "gpu"}, labels); d != "" {
		t.Error(d)
	}
	if d := cmp.Diff([]Taint{{Key: "dedicated", Value: "ml", Effect: "NoSchedule"}, {Key: "spot", Effect: "PreferNoSchedule"}}, taints); d != "" {
		t.Error(d)
	}
	if d := cmp.Diff(Resources{MilliCPU: 2000, Memory: 7 << 30, Pods: 29, Extended: map[string]int64{"nvidia.com/gpu": 4}}, c); d != "" {
		t.Error(d)
	}
	for _, bad := range []map[string]string{
		{TagTaintPrefix + "k": "v:Sometimes"},
		{TagTaintPrefix: "NoSchedule"},
		{TagResourcePrefix + "cpu": "lots"},
		{TagResourcePrefix + "memory": "-1Gi"},
		{TagResourcePrefix: "1"},
	} {
		if err := ApplyTemplateTags(bad, map[string]string{}, &taints, &c); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestOptionsFromTags(t *testing.T) {
	o, err := OptionsFromTags(map[string]string{
		TagOptionPrefix + "scaledownutilizationthreshold": "0.3",
		TagOptionPrefix + "ScaleDownUnneededTime":         "7m",
		TagOptionPrefix + "ignoredaemonsetsutilization":   "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if *o.ScaleDownUtilizationThreshold != 0.3 || *o.ScaleDownUnneededTime != 7*time.Minute || !*o.IgnoreDaemonSetsUtilization || o.ScaleDownUnreadyTime != nil {
		t.Fatalf("%+v", o)
	}
	if _, err := OptionsFromTags(map[string]string{TagOptionPrefix + "scaledownunreadytime": "soon"}); err == nil {
		t.Fatal("bad duration accepted")
	}
}
