package autoscale_test

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"

	"github.com/kscale/kscale/autoscale"
	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/nodegroup/fake"
)

// Three pods the scheduler could not place ask for a scale-up: Recommend
// says which group would grow and by how much, writing nothing; Scan
// would carry it out (IncreaseSize). In a program Kube comes from a
// rest.Config and Provider from cloud/asg or cloud/ess, and Run drives
// the scans; fakes stand in for them here.
func ExampleClusterAutoscaler_Recommend() {
	provider := fake.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		fake.GroupConfig{ID: "general", Min: 0, Max: 20, Template: nodegroup.Template{InstanceType: "m5.large",
			Allocatable: nodegroup.Resources{MilliCPU: 2000, Memory: 8 << 30, Pods: 110}}})
	var objs []runtime.Object
	for i := range 3 {
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: "shop"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
				Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}}})
	}
	ca, err := autoscale.NewClusterAutoscaler(autoscale.ClusterAutoscalerConfig{
		Kube: kubefake.NewClientset(objs...), Provider: provider, Recorder: record.NewFakeRecorder(100)})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ca.StartInformers(ctx); err != nil { // Run does this itself
		fmt.Println(err)
		return
	}
	res, err := ca.Recommend(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("unschedulable pods:", len(res.Unschedulable))
	for _, c := range res.Actions.Increases {
		fmt.Printf("%s: +%d node(s) for %d pod(s) (%s)\n", c.Group, c.Delta, c.Pods, c.Reason)
	}
	fmt.Println("provider calls:", len(provider.Events())-1) // the Refresh
	// Output:
	// unschedulable pods: 3
	// general: +3 node(s) for 3 pod(s) (TriggeredScaleUp)
	// provider calls: 0
}
