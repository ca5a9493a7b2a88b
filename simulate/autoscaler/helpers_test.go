package autoscaler_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/kscale/kscale/nodegroup"
	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

const gib = int64(1) << 30

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// template is a 4-core, 16 GiB node taking 110 pods.
func template(price float64) nodegroup.Template {
	r := nodegroup.Resources{MilliCPU: 4000, Memory: 16 * gib, Pods: 110}
	return nodegroup.Template{InstanceType: "m5.xlarge", Capacity: r, Allocatable: r, PricePerHour: price,
		Labels: map[string]string{nodegroup.LabelInstanceType: "m5.xlarge"}}
}

func group(id string, minSize, maxSize, target int) autoscaler.Group {
	return autoscaler.Group{ID: id, Min: minSize, Max: maxSize, Target: target, Template: template(0.1)}
}

func node(name, group string) autoscaler.Node {
	t := template(0)
	return autoscaler.Node{ProviderID: "fake:///" + name, Node: simulate.Node{Name: name, Group: group, Labels: t.Labels, Allocatable: t.Allocatable}}
}

// pods are n replicas of a ReplicaSet, each asking milli CPU and 1 GiB,
// bound to nodeName ("" for pending).
func pods(rs string, n int, milli int64, nodeName string) []simulate.Pod {
	out := make([]simulate.Pod, n)
	for i := range out {
		out[i] = simulate.Pod{Namespace: "default", Name: rs + "-" + nodeName + "-" + strconv.Itoa(i), Labels: map[string]string{"app": rs},
			Requests: nodegroup.Resources{MilliCPU: milli, Memory: gib}, NodeName: nodeName,
			Owner: &simulate.Owner{Kind: "ReplicaSet", Name: rs}}
	}
	return out
}

func newLoop(t *testing.T, c autoscaler.Config) *autoscaler.Autoscaler {
	t.Helper()
	a, err := autoscaler.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func step(t *testing.T, a *autoscaler.Autoscaler, now time.Time, obs *autoscaler.Observation) autoscaler.Actions {
	t.Helper()
	act, err := a.Step(now, obs)
	if err != nil {
		t.Fatalf("Step at %s: %v", now.Format(time.TimeOnly), err)
	}
	return act
}

func deleted(act autoscaler.Actions) []string {
	var out []string
	for _, d := range act.Deletes {
		out = append(out, d.Node)
	}
	return out
}
