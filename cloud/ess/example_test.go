package ess_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/cloud/ess/esstest"
	"github.com/kscale/kscale/nodegroup"
)

// A provider pointed at the emulator: discover groups by tag, scale one up
// and read its template.
func Example() {
	srv := esstest.NewServer(esstest.Config{Region: "cn-shanghai"})
	defer srv.Close()
	srv.AddGroup(esstest.Group{ID: "asg-workers", MinSize: 1, MaxSize: 10, Size: 2, Zone: "cn-shanghai-b",
		Tags: map[string]string{"k8s.io/cluster-autoscaler/enabled": "true"},
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.xlarge"},
			Tags: map[string]string{ess.TagTaintPrefix + "dedicated": "ml:NoSchedule"}}})

	ctx := context.Background()
	p, err := ess.New(ctx, ess.Config{
		Region:        "cn-shanghai",
		AccessKeyID:   "LTAI-example",
		ESSEndpoint:   srv.URL, // "http://127.0.0.1:port": the emulator speaks plain HTTP
		ECSEndpoint:   srv.URL,
		DiscoveryTags: map[string]string{"k8s.io/cluster-autoscaler/enabled": ""},
		// A real account would leave the endpoints empty
		// (ess.cn-shanghai.aliyuncs.com) and set the secret.
		AccessKeySecret: "secret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	groups, _ := p.NodeGroups(ctx)
	g := groups[0]
	if err := g.IncreaseSize(ctx, 3); err != nil {
		fmt.Println(err)
		return
	}
	target, _ := g.TargetSize(ctx)
	tpl, _ := g.Template(ctx)
	fmt.Println(g.Id(), "target", target)
	fmt.Println(tpl.InstanceType, tpl.Labels[nodegroup.LabelZone], tpl.Labels[nodegroup.LabelArch], tpl.Taints[0].Key+"="+tpl.Taints[0].Value+":"+tpl.Taints[0].Effect)
	fmt.Printf("cpu %dm of %dm allocatable\n", tpl.Allocatable.MilliCPU, tpl.Capacity.MilliCPU)
	// Output:
	// asg-workers target 5
	// ecs.g7.xlarge cn-shanghai-b amd64 dedicated=ml:NoSchedule
	// cpu 3920m of 4000m allocatable
}

// RAM policy enforcement: a call the policy does not allow is denied and
// surfaces as ErrAccessDenied.
func Example_ramPolicy() {
	srv := esstest.NewServer(esstest.Config{})
	defer srv.Close()
	id := srv.AddGroup(esstest.Group{MinSize: 0, MaxSize: 5, Size: 1,
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	if err := srv.EnforcePolicyFile("ram-policy-rules.json"); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	cfg := ess.Config{Region: srv.Region(), AccessKeyID: "id", AccessKeySecret: "secret",
		ESSEndpoint: srv.URL, ECSEndpoint: srv.URL, GroupIDs: []string{id}}
	for _, mode := range []ess.ScaleMode{ess.ScalingRules, ess.ScaleWithAdjustment} {
		cfg.ScaleMode = mode
		p, err := ess.New(ctx, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		groups, _ := p.NodeGroups(ctx)
		err = groups[0].IncreaseSize(ctx, 1)
		fmt.Printf("%s: denied=%v\n", mode, errors.Is(err, ess.ErrAccessDenied))
	}
	// Output:
	// ScalingRules: denied=false
	// ScaleWithAdjustment: denied=true
}

// Under the RAM policy cluster-autoscaler's documentation gives, which
// lacks ess:ScaleWithAdjustment, the default mode fails with a
// *ScaleModeError saying what to do; FallbackToScalingRules switches to
// the scaling-rule actions the policy does grant.
func Example_fallbackToScalingRules() {
	srv := esstest.NewServer(esstest.Config{})
	defer srv.Close()
	id := srv.AddGroup(esstest.Group{MinSize: 0, MaxSize: 5, Size: 1,
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	policy, _ := esstest.ParsePolicy([]byte(`{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*","Action":[
		"ess:Describe*","ess:CreateScalingRule","ess:ModifyScalingRule","ess:RemoveInstances",
		"ess:ExecuteScalingRule","ess:DetachInstances","ecs:DescribeInstanceTypes"]}]}`))
	srv.EnforcePolicy(policy)
	ctx := context.Background()
	cfg := ess.Config{Region: srv.Region(), AccessKeyID: "id", AccessKeySecret: "secret",
		ESSEndpoint: srv.URL, ECSEndpoint: srv.URL, GroupIDs: []string{id}}
	for _, fallback := range []bool{false, true} {
		cfg.FallbackToScalingRules = fallback
		p, err := ess.New(ctx, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		groups, _ := p.NodeGroups(ctx)
		err = groups[0].IncreaseSize(ctx, 1)
		var sme *ess.ScaleModeError
		if errors.As(err, &sme) {
			fmt.Printf("denied: %s needs %s; alternative %s\n", sme.Mode, sme.Action, sme.Alternative)
			continue
		}
		fmt.Println("fallback:", err, "mode now", p.ScaleMode(), "desired", srv.Desired(id))
	}
	// Output:
	// denied: ScaleWithAdjustment needs ess:ScaleWithAdjustment; alternative ScalingRules
	// fallback: <nil> mode now ScalingRules desired 2
}
