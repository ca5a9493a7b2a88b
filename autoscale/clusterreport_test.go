package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/yaml"

	"github.com/kscale/kscale/simulate"
	"github.com/kscale/kscale/simulate/autoscaler"
)

var caReportT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// reportScan is a realistic scan: group "a" grows 3→5 for two pending
// pods, "b" is backed off after launches that never registered (one node
// NotReady), "c" is idle; one pod is explained, one removal finished and
// one failed.
func caReportScan(now time.Time) *ScanResult {
	return &ScanResult{
		Time: now,
		Groups: []GroupStatus{
			{ID: "a", Min: 1, Max: 10, Target: 3, Registered: 3, Ready: 3, Upcoming: 2},
			{ID: "b", Min: 0, Max: 4, Target: 2, Registered: 2, Ready: 1},
			{ID: "c", Min: 0, Max: 3, Target: 1, Registered: 1, Ready: 1},
		},
		Nodes: 7, ReadyNodes: 6,
		Unschedulable: []PodRef{
			{Namespace: "default", Name: "web-1", UID: "u1"},
			{Namespace: "default", Name: "web-2", UID: "u2"},
			{Namespace: "default", Name: "gpu-1", UID: "u3"},
		},
		Actions: autoscaler.Actions{
			Increases: []autoscaler.Change{{Group: "a", Delta: 2, Reason: autoscaler.ReasonScaleUp, Pods: 2}},
			Pending: []autoscaler.PodExplanation{{Pod: "default/gpu-1", Reason: autoscaler.ReasonNotTriggerScaleUp,
				Reasons: map[string]string{"a": "Insufficient nvidia.com/gpu", "b": "in backoff after failed scale-up", "c": "Insufficient nvidia.com/gpu"}}},
			Deletes:   []autoscaler.Delete{{Group: "c", Node: "c-1", Reason: autoscaler.ReasonScaleDown}},
			ScaleUp:   "TriggeredScaleUp: +2 node(s) of a",
			Upcoming:  map[string]int{"a": 2},
			ScaleDown: "",
		},
		Increases: []Outcome{{}},
		Deletes:   []Outcome{{Started: true}},
		Finished: []Removal{
			{Node: "c-0", Group: "c", Empty: true, Start: now.Add(-time.Minute), End: now},
			{Node: "a-9", Group: "a", Evicted: 2, Err: "evicting default/db-0: Cannot evict pod as it would violate the pod's disruption budget", Start: now.Add(-3 * time.Minute), End: now},
		},
		Backoff: simulate.Backoff{Groups: map[string]simulate.BackoffEntry{
			"b": {Duration: 5 * time.Minute, Until: now.Add(4 * time.Minute), LastFailed: now.Add(-time.Minute), Reason: autoscaler.ReasonMaxNodeProvisionTime},
			"c": {Duration: 5 * time.Minute, Until: now.Add(-time.Second), LastFailed: now.Add(-6 * time.Minute), Reason: autoscaler.ReasonOutOfCapacity},
		}},
	}
}

type caReportEnv struct {
	kube *fake.Clientset
	rec  *record.FakeRecorder
	reg  *prometheus.Registry
	c    *clusterReporter
}

func newCAReportEnv(t *testing.T, objs ...runtime.Object) *caReportEnv {
	t.Helper()
	e := &caReportEnv{kube: fake.NewClientset(objs...), rec: record.NewFakeRecorder(1000), reg: prometheus.NewRegistry()}
	c, err := newClusterReporter(e.kube, &recorder{rec: e.rec}, e.reg, logr.Discard(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func (e *caReportEnv) events() []string {
	var out []string
	for {
		select {
		case ev := <-e.rec.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func (e *caReportEnv) statusDoc(t *testing.T) (*corev1.ConfigMap, map[string]any) {
	t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "cluster-autoscaler-status", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["status"]), &doc); err != nil {
		t.Fatalf("status is not YAML: %v\n%s", err, cm.Data["status"])
	}
	return cm, doc
}

// yamlAt walks a parsed YAML document by keys and list indexes.
func yamlAt(t *testing.T, doc any, path ...any) any {
	t.Helper()
	cur := doc
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no index %d", path, k)
			}
			cur = l[k]
		}
	}
	return cur
}

func yamlNum(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func TestReportStatusYAML(t *testing.T) {
	e := newCAReportEnv(t)
	e.c.publish(context.Background(), caReportScan(caReportT0))
	cm, doc := e.statusDoc(t)

	stamp := cm.Annotations["cluster-autoscaler.kubernetes.io/last-updated"]
	if stamp != "2026-03-01 10:00:00 +0000 UTC" || yamlAt(t, doc, "time") != stamp {
		t.Errorf("time %q, annotation %q", yamlAt(t, doc, "time"), stamp)
	}
	probe := "2026-03-01T10:00:00Z"
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"autoscalerStatus"}, "Running"},
		{[]any{"clusterWide", "health", "status"}, "Healthy"},
		{[]any{"clusterWide", "health", "nodeCounts", "registered", "total"}, 7},
		{[]any{"clusterWide", "health", "nodeCounts", "registered", "ready"}, 6},
		{[]any{"clusterWide", "health", "nodeCounts", "registered", "notStarted"}, 0},
		{[]any{"clusterWide", "health", "nodeCounts", "registered", "unready", "total"}, 1},
		{[]any{"clusterWide", "health", "nodeCounts", "unregistered"}, 2},
		{[]any{"clusterWide", "health", "nodeCounts", "longUnregistered"}, 0},
		{[]any{"clusterWide", "health", "lastProbeTime"}, probe},
		{[]any{"clusterWide", "health", "lastTransitionTime"}, probe},
		{[]any{"clusterWide", "scaleUp", "status"}, "InProgress"},
		{[]any{"clusterWide", "scaleDown", "status"}, "CandidatesPresent"},
		{[]any{"clusterWide", "scaleDown", "candidates"}, 1},
		{[]any{"nodeGroups", 0, "name"}, "a"},
		{[]any{"nodeGroups", 0, "health", "status"}, "Healthy"},
		{[]any{"nodeGroups", 0, "health", "cloudProviderTarget"}, 3},
		{[]any{"nodeGroups", 0, "health", "minSize"}, 1},
		{[]any{"nodeGroups", 0, "health", "maxSize"}, 10},
		{[]any{"nodeGroups", 0, "health", "nodeCounts", "registered", "total"}, 3},
		{[]any{"nodeGroups", 0, "health", "nodeCounts", "unregistered"}, 2},
		{[]any{"nodeGroups", 0, "scaleUp", "status"}, "InProgress"},
		{[]any{"nodeGroups", 0, "scaleDown", "status"}, "NoCandidates"},
		{[]any{"nodeGroups", 1, "name"}, "b"},
		{[]any{"nodeGroups", 1, "health", "nodeCounts", "registered", "ready"}, 1},
		{[]any{"nodeGroups", 1, "health", "nodeCounts", "registered", "unready", "total"}, 1},
		{[]any{"nodeGroups", 1, "scaleUp", "status"}, "Backoff"},
		{[]any{"nodeGroups", 1, "scaleUp", "backoffInfo", "errorCode"}, "timeout"},
		// c's backoff ended a second before the scan.
		{[]any{"nodeGroups", 2, "scaleUp", "status"}, "NoActivity"},
		{[]any{"nodeGroups", 2, "scaleUp", "backoffInfo"}, nil},
		{[]any{"nodeGroups", 2, "scaleDown", "status"}, "CandidatesPresent"},
		{[]any{"nodeGroups", 2, "scaleDown", "candidates"}, 1},
	} {
		got := yamlAt(t, doc, c.path...)
		if w, ok := c.want.(int); ok {
			if _, isNum := got.(float64); !isNum || yamlNum(got) != w {
				t.Errorf("%v = %v, want %d", c.path, got, w)
			}
			continue
		}
		if c.want == nil {
			if m, ok := got.(map[string]any); got != nil && !(ok && len(m) == 0) {
				t.Errorf("%v = %v, want none", c.path, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%v = %v, want %v", c.path, got, c.want)
		}
	}
	if msg, _ := yamlAt(t, doc, "nodeGroups", 1, "scaleUp", "backoffInfo", "errorMessage").(string); !strings.Contains(msg, "node group b") ||
		!strings.Contains(msg, autoscaler.ReasonMaxNodeProvisionTime) {
		t.Errorf("backoff message %q", msg)
	}
	if len(yamlAt(t, doc, "nodeGroups").([]any)) != 3 {
		t.Errorf("nodeGroups: %v", yamlAt(t, doc, "nodeGroups"))
	}
}

func TestReportStatusUnhealthy(t *testing.T) {
	e := newCAReportEnv(t)
	r := &ScanResult{Time: caReportT0, Nodes: 10, ReadyNodes: 5,
		Groups: []GroupStatus{{ID: "g", Max: 10, Target: 10, Registered: 10, Ready: 5}}}
	e.c.publish(context.Background(), r)
	_, doc := e.statusDoc(t)
	// 5 unready of 10: above both 3 and 45 %.
	if yamlAt(t, doc, "clusterWide", "health", "status") != "Unhealthy" || yamlAt(t, doc, "nodeGroups", 0, "health", "status") != "Unhealthy" {
		t.Errorf("health: %v / %v", yamlAt(t, doc, "clusterWide", "health"), yamlAt(t, doc, "nodeGroups", 0, "health"))
	}
	if v := testutil.ToFloat64(e.c.m.safe); v != 0 {
		t.Errorf("safe_to_autoscale = %v", v)
	}
	// 4 unready of 10 is within 45 %: healthy.
	r.ReadyNodes, r.Groups[0].Ready = 6, 6
	e.c.publish(context.Background(), r)
	_, doc = e.statusDoc(t)
	if yamlAt(t, doc, "clusterWide", "health", "status") != "Healthy" || testutil.ToFloat64(e.c.m.safe) != 1 {
		t.Errorf("health: %v", yamlAt(t, doc, "clusterWide", "health"))
	}

	// Group health counts only nodes missing below the target that are
	// not on their way: 9 of 10 unready but 8 launching is healthy; a
	// group with no node although its target is 2 and nothing launches is
	// not, and its scale-up shows Unhealthy before its backoff.
	r = &ScanResult{Time: caReportT0.Add(time.Minute), Nodes: 2, ReadyNodes: 2,
		Groups: []GroupStatus{
			{ID: "launching", Max: 20, Target: 10, Registered: 2, Ready: 1, Upcoming: 8},
			{ID: "empty", Max: 5, Target: 2},
			{ID: "idle", Max: 5},
		},
		Backoff: simulate.Backoff{Groups: map[string]simulate.BackoffEntry{"empty": {Until: caReportT0.Add(time.Hour), Reason: "x"}}}}
	e.c.publish(context.Background(), r)
	_, doc = e.statusDoc(t)
	for i, want := range []string{"Healthy", "Unhealthy", "Healthy"} {
		if got := yamlAt(t, doc, "nodeGroups", i, "health", "status"); got != want {
			t.Errorf("group %d health %v, want %s", i, got, want)
		}
	}
	if yamlAt(t, doc, "nodeGroups", 0, "scaleUp", "status") != "InProgress" || yamlAt(t, doc, "nodeGroups", 1, "scaleUp", "status") != "Unhealthy" ||
		yamlAt(t, doc, "nodeGroups", 2, "scaleUp", "status") != "NoActivity" {
		t.Errorf("scaleUp: %v", yamlAt(t, doc, "nodeGroups"))
	}
	if testutil.ToFloat64(e.c.m.groupHealthy.WithLabelValues("empty")) != 0 || testutil.ToFloat64(e.c.m.groupHealthy.WithLabelValues("launching")) != 1 {
		t.Error("node_group_healthiness")
	}
}

func TestReportStatusCreateThenUpdate(t *testing.T) {
	// An existing ConfigMap: its other keys and annotations are kept.
	old := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "ca-status", Annotations: map[string]string{"team": "infra"}},
		Data: map[string]string{"note": "keep me"}}
	kube := fake.NewClientset(old)
	c, err := newClusterReporter(kube, &recorder{}, nil, logr.Discard(), "ops", "ca-status")
	if err != nil {
		t.Fatal(err)
	}
	idle := func(now time.Time, upcoming int) *ScanResult {
		return &ScanResult{Time: now, Nodes: 1, ReadyNodes: 1, Groups: []GroupStatus{{ID: "g", Max: 5, Target: 1, Registered: 1, Ready: 1, Upcoming: upcoming}}}
	}
	get := func() (*corev1.ConfigMap, map[string]any) {
		cm, err := kube.CoreV1().ConfigMaps("ops").Get(context.Background(), "ca-status", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(cm.Data["status"]), &doc); err != nil {
			t.Fatal(err)
		}
		return cm, doc
	}
	c.publish(context.Background(), idle(caReportT0, 0))
	cm, doc := get()
	if cm.Data["note"] != "keep me" || cm.Annotations["team"] != "infra" {
		t.Errorf("existing keys lost: %v %v", cm.Data, cm.Annotations)
	}
	if yamlAt(t, doc, "nodeGroups", 0, "scaleUp", "status") != "NoActivity" {
		t.Fatalf("scaleUp: %v", yamlAt(t, doc, "nodeGroups", 0, "scaleUp"))
	}

	// Same status a minute later: probe moves, transition stays.
	t1 := caReportT0.Add(time.Minute)
	c.publish(context.Background(), idle(t1, 0))
	cm, doc = get()
	if cm.Annotations["cluster-autoscaler.kubernetes.io/last-updated"] != "2026-03-01 10:01:00 +0000 UTC" {
		t.Errorf("annotation %q", cm.Annotations["cluster-autoscaler.kubernetes.io/last-updated"])
	}
	for _, cond := range []string{"health", "scaleUp", "scaleDown"} {
		if yamlAt(t, doc, "nodeGroups", 0, cond, "lastProbeTime") != "2026-03-01T10:01:00Z" ||
			yamlAt(t, doc, "nodeGroups", 0, cond, "lastTransitionTime") != "2026-03-01T10:00:00Z" {
			t.Errorf("%s: %v", cond, yamlAt(t, doc, "nodeGroups", 0, cond))
		}
		if yamlAt(t, doc, "clusterWide", cond, "lastTransitionTime") != "2026-03-01T10:00:00Z" {
			t.Errorf("cluster %s: %v", cond, yamlAt(t, doc, "clusterWide", cond))
		}
	}

	// A scale-up in progress: the scale-up conditions move.
	t2 := caReportT0.Add(2 * time.Minute)
	c.publish(context.Background(), idle(t2, 1))
	_, doc = get()
	if yamlAt(t, doc, "nodeGroups", 0, "scaleUp", "status") != "InProgress" ||
		yamlAt(t, doc, "nodeGroups", 0, "scaleUp", "lastTransitionTime") != "2026-03-01T10:02:00Z" ||
		yamlAt(t, doc, "clusterWide", "scaleUp", "lastTransitionTime") != "2026-03-01T10:02:00Z" ||
		yamlAt(t, doc, "nodeGroups", 0, "health", "lastTransitionTime") != "2026-03-01T10:00:00Z" {
		t.Errorf("after scale-up: %v / %v", yamlAt(t, doc, "nodeGroups", 0), yamlAt(t, doc, "clusterWide", "scaleUp"))
	}
	creates, updates := 0, 0
	for _, a := range kube.Actions() {
		if a.GetResource().Resource != "configmaps" {
			continue
		}
		switch a.GetVerb() {
		case "create":
			creates++
		case "update":
			updates++
		}
	}
	if creates != 0 || updates != 3 {
		t.Errorf("creates %d, updates %d; want 0, 3", creates, updates)
	}
}

func TestReportStatusCreatesWhenMissing(t *testing.T) {
	e := newCAReportEnv(t)
	e.c.publish(context.Background(), &ScanResult{Time: caReportT0})
	cm, doc := e.statusDoc(t)
	if cm.Namespace != "kube-system" || yamlAt(t, doc, "clusterWide", "scaleDown", "status") != "NoCandidates" {
		t.Errorf("created %s/%s: %v", cm.Namespace, cm.Name, doc)
	}
	e.c.publish(context.Background(), &ScanResult{Time: caReportT0.Add(time.Second)})
	cm, _ = e.statusDoc(t)
	if cm.Annotations[caAnnotationLastUpdated] != "2026-03-01 10:00:01 +0000 UTC" {
		t.Errorf("not updated: %v", cm.Annotations)
	}
}

func TestReportStatusDryRunWritesNothing(t *testing.T) {
	e := newCAReportEnv(t)
	r := caReportScan(caReportT0)
	r.DryRun = true
	r.Increases, r.Deletes = nil, nil
	e.c.publish(context.Background(), r)
	for _, a := range e.kube.Actions() {
		t.Errorf("dry run called the API: %s %s", a.GetVerb(), a.GetResource().Resource)
	}
	if ev := e.events(); len(ev) != 0 {
		t.Errorf("dry run recorded events: %v", ev)
	}
	// Gauges show what the scan saw; counters count nothing.
	if v := testutil.ToFloat64(e.c.m.unschedulable.WithLabelValues("unschedulable")); v != 3 {
		t.Errorf("unschedulable = %v", v)
	}
	if v := testutil.ToFloat64(e.c.m.scaledUp.WithLabelValues("", "", "")); v != 0 {
		t.Errorf("scaled_up = %v", v)
	}
	// A dry run does not become the previous status.
	if e.c.last != nil {
		t.Error("dry run kept as last status")
	}
}

func TestReportStatusAPIFailureCounted(t *testing.T) {
	e := newCAReportEnv(t)
	e.kube.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd down"))
	})
	e.c.publish(context.Background(), caReportScan(caReportT0))
	if v := testutil.ToFloat64(e.c.m.statusErrors); v != 1 {
		t.Errorf("status_write_errors_total = %v", v)
	}
	// Pod and node Events still went out; none on a ConfigMap never
	// written.
	ev := e.events()
	if len(ev) == 0 {
		t.Error("no events")
	}
	for _, x := range ev {
		if strings.Contains(x, "ScaledUpGroup") || strings.Contains(x, "ScaleDownEmpty") {
			t.Errorf("event on an unwritten ConfigMap: %q", x)
		}
	}
}

func TestReportStatusCreateFailureCounted(t *testing.T) {
	e := newCAReportEnv(t)
	e.kube.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("configmaps"), "cluster-autoscaler-status", errors.New("rbac"))
	})
	e.c.publish(context.Background(), &ScanResult{Time: caReportT0})
	e.c.publish(context.Background(), &ScanResult{Time: caReportT0.Add(time.Second)})
	if v := testutil.ToFloat64(e.c.m.statusErrors); v != 2 {
		t.Errorf("status_write_errors_total = %v", v)
	}
}

func TestReportStatusUpdateConflictRetried(t *testing.T) {
	e := newCAReportEnv(t)
	e.c.publish(context.Background(), &ScanResult{Time: caReportT0})
	conflicts := 0
	e.kube.PrependReactor("update", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts < 2 {
			conflicts++
			return true, nil, apierrors.NewConflict(corev1.Resource("configmaps"), "cluster-autoscaler-status", errors.New("stale"))
		}
		return false, nil, nil
	})
	e.c.publish(context.Background(), &ScanResult{Time: caReportT0.Add(time.Minute)})
	cm, _ := e.statusDoc(t)
	if conflicts != 2 || cm.Annotations[caAnnotationLastUpdated] != "2026-03-01 10:01:00 +0000 UTC" {
		t.Errorf("conflicts %d, annotation %q", conflicts, cm.Annotations[caAnnotationLastUpdated])
	}
	if v := testutil.ToFloat64(e.c.m.statusErrors); v != 0 {
		t.Errorf("status_write_errors_total = %v", v)
	}
}

func TestReportEventsScaleUpAndNodes(t *testing.T) {
	e := newCAReportEnv(t)
	e.rec.IncludeObject = true
	e.c.publish(context.Background(), caReportScan(caReportT0))
	got := e.events()
	pod, node, cm := " involvedObject{kind=Pod,apiVersion=v1}", " involvedObject{kind=Node,apiVersion=v1}", " involvedObject{kind=ConfigMap,apiVersion=v1}"
	want := []string{
		"Normal TriggeredScaleUp pod triggered scale-up: [{a 3->5 (max: 10)}]" + pod,
		"Normal TriggeredScaleUp pod triggered scale-up: [{a 3->5 (max: 10)}]" + pod,
		"Normal ScaleDown nodes removed by cluster autoscaler" + node,
		"Warning ScaleDownFailed failed to drain and delete node: evicting default/db-0: Cannot evict pod as it would violate the pod's disruption budget" + node,
		// On the status ConfigMap, as cluster-autoscaler's log recorder.
		"Normal ScaledUpGroup Scale-up: group a size set to 5 instead of 3 (max: 10)" + cm,
		"Normal ScaleDownEmpty Scale-down: empty node c-0 removed" + cm,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestReportEventsNotTriggered(t *testing.T) {
	e := newCAReportEnv(t)
	r := caReportScan(caReportT0)
	r.Actions.Increases, r.Increases, r.Finished = nil, nil, nil
	r.Actions.Pending = append(r.Actions.Pending,
		autoscaler.PodExplanation{Pod: "default/web-1", Reasons: map[string]string{"": "max total nodes reached"}},
		autoscaler.PodExplanation{Pod: "default/web-2"},
		autoscaler.PodExplanation{Pod: "no-slash"})
	e.c.publish(context.Background(), r)
	got := e.events()
	want := []string{
		"Normal NotTriggerScaleUp pod didn't trigger scale-up: 1 in backoff after failed scale-up, 2 Insufficient nvidia.com/gpu",
		"Normal NotTriggerScaleUp pod didn't trigger scale-up: max total nodes reached",
		"Normal NotTriggerScaleUp pod didn't trigger scale-up",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A scan that scales up records no NotTriggerScaleUp (cluster-autoscaler
// records those only in loops without a scale-up).
func TestReportEventsNoNotTriggeredWithScaleUp(t *testing.T) {
	e := newCAReportEnv(t)
	e.c.publish(context.Background(), caReportScan(caReportT0))
	for _, ev := range e.events() {
		if strings.Contains(ev, "NotTriggerScaleUp") {
			t.Errorf("unexpected %q", ev)
		}
	}
}

func TestReportEventsFailedIncreaseTriggersNothing(t *testing.T) {
	e := newCAReportEnv(t)
	r := caReportScan(caReportT0)
	r.Increases = []Outcome{{Err: "throttled"}}
	r.Finished = nil
	e.c.publish(context.Background(), r)
	// Neither TriggeredScaleUp nor, the scale-up having been attempted,
	// NotTriggerScaleUp; the failure is on the status ConfigMap.
	if ev := e.events(); len(ev) != 1 || ev[0] != "Warning FailedToScaleUpGroup Scale-up failed for group a: throttled" {
		t.Errorf("events after a failed increase: %q", ev)
	}
	if v := testutil.ToFloat64(e.c.m.failedUps.WithLabelValues("cloudProviderError", "", "", "")); v != 1 {
		t.Errorf("failed_scale_ups_total{cloudProviderError} = %v", v)
	}
}

func TestReportEventsBounded(t *testing.T) {
	e := newCAReportEnv(t)
	podEvents := func() int {
		n := 0
		for _, ev := range e.events() {
			if strings.HasPrefix(ev, "Normal TriggeredScaleUp ") || strings.HasPrefix(ev, "Normal NotTriggerScaleUp ") {
				n++
			}
		}
		return n
	}
	const n = 3*maxPodEventsPerScan + 7
	r := &ScanResult{Time: caReportT0, Groups: []GroupStatus{{ID: "g", Max: 1000, Target: 1}},
		Actions:   autoscaler.Actions{Increases: []autoscaler.Change{{Group: "g", Delta: 40, Reason: autoscaler.ReasonScaleUp, Pods: n}}},
		Increases: []Outcome{{}}}
	for i := range n {
		r.Unschedulable = append(r.Unschedulable, PodRef{Namespace: "ns", Name: fmt.Sprintf("p%d", i)})
	}
	e.c.publish(context.Background(), r)
	if got := podEvents(); got != maxPodEventsPerScan {
		t.Errorf("%d events, want %d", got, maxPodEventsPerScan)
	}
	if v := testutil.ToFloat64(e.c.m.eventsDropped); v != n-maxPodEventsPerScan {
		t.Errorf("dropped = %v", v)
	}

	// An increase for fewer pods than are pending triggers only that many.
	r.Actions.Increases[0].Pods = 5
	e.c.publish(context.Background(), r)
	if got := podEvents(); got != 5 {
		t.Errorf("%d events, want 5", got)
	}

	// NotTriggerScaleUp is bounded the same way.
	r.Actions.Increases, r.Increases = nil, nil
	for i := range n {
		r.Actions.Pending = append(r.Actions.Pending, autoscaler.PodExplanation{Pod: fmt.Sprintf("ns/p%d", i)})
	}
	e.c.publish(context.Background(), r)
	if got := podEvents(); got != maxPodEventsPerScan {
		t.Errorf("%d events, want %d", got, maxPodEventsPerScan)
	}
}

func TestReportEventNodeAndEviction(t *testing.T) {
	e := newCAReportEnv(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-0"}}
	e.c.nodeEvent(node, corev1.EventTypeNormal, "ScaleDown", "marked the node as toBeDeleted/unschedulable")
	e.c.nodeEvent(nil, corev1.EventTypeNormal, "ScaleDown", "dropped")
	e.c.nodeEvent(node, corev1.EventTypeWarning, "ScaleDownFailed", strings.Repeat("é", 2000))
	e.c.podEvicted(pod, "n1")
	e.c.podEvicted(nil, "n1")
	got := e.events()
	if len(got) != 3 || got[0] != "Normal ScaleDown marked the node as toBeDeleted/unschedulable" ||
		got[2] != "Normal ScaleDown deleting pod for node scale down" {
		t.Fatalf("events: %q", got)
	}
	if msg := strings.TrimPrefix(got[1], "Warning ScaleDownFailed "); len(msg) > maxEventMessageLen || !strings.HasSuffix(msg, "...") ||
		!strings.HasPrefix(msg, "é") || strings.ContainsRune(msg, '\uFFFD') {
		t.Errorf("long message not clipped on a rune boundary: %d bytes", len(msg))
	}
	if v := testutil.ToFloat64(e.c.m.evicted.WithLabelValues("succeeded")); v != 2 {
		t.Errorf("evicted_pods_total = %v", v)
	}
}

func TestReportEventsWithoutRecorder(t *testing.T) {
	c, err := newClusterReporter(fake.NewClientset(), &recorder{}, nil, logr.Discard(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.publish(context.Background(), caReportScan(caReportT0))
	c.nodeEvent(&corev1.Node{}, corev1.EventTypeNormal, "ScaleDown", "x")
	c.podEvicted(&corev1.Pod{}, "n")
	c.publish(context.Background(), nil)
	var nilc *clusterReporter
	nilc.publish(context.Background(), caReportScan(caReportT0))
	nilc.podEvicted(nil, "")
	nilc.nodeEvent(nil, "", "", "")
}

func TestReportMetrics(t *testing.T) {
	e := newCAReportEnv(t)
	r := caReportScan(caReportT0)
	r.Actions.Cancels = []autoscaler.Change{{Group: "b", Delta: 1, Reason: autoscaler.ReasonMaxNodeProvisionTime}}
	r.Cancels = []Outcome{{}}
	r.Actions.Increases = append(r.Actions.Increases, autoscaler.Change{Group: "c", Delta: 1, Reason: autoscaler.ReasonPreProvision})
	r.Increases = append(r.Increases, Outcome{})
	r.Actions.Unremovable = []simulate.Unremovable{{Node: "a-0", Reason: "NotUnderutilized", Pod: -1}, {Node: "a-1", Reason: "NotUnderutilized", Pod: -1}}
	r.Err = "listing pods: timeout"
	e.c.publish(context.Background(), r)
	m := e.c.m
	for _, c := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"safe", m.safe, 1},
		{"nodes ready", m.nodes.WithLabelValues("ready"), 6},
		{"nodes unready", m.nodes.WithLabelValues("unready"), 1},
		{"nodes unregistered", m.nodes.WithLabelValues("unregistered"), 2},
		{"groups", m.nodeGroups.WithLabelValues("autoscaled"), 3},
		{"unschedulable", m.unschedulable.WithLabelValues("unschedulable"), 3},
		{"last main", m.lastActivity.WithLabelValues("main"), float64(caReportT0.Unix())},
		{"last scaleUp", m.lastActivity.WithLabelValues("scaleUp"), float64(caReportT0.Unix())},
		{"last scaleDown", m.lastActivity.WithLabelValues("scaleDown"), float64(caReportT0.Unix())},
		{"scaled up", m.scaledUp.WithLabelValues("", "", ""), 3},
		{"preprovisioned", m.preProvisioned, 1},
		{"scaled down empty", m.scaledDown.WithLabelValues("empty", "", "", ""), 1},
		{"scaled down underutilized", m.scaledDown.WithLabelValues("underutilized", "", "", ""), 0},
		{"failed timeout", m.failedUps.WithLabelValues("timeout", "", "", ""), 1},
		{"errors internal", m.errs.WithLabelValues("internalError"), 1},
		{"unneeded", m.unneeded, 1},
		{"unremovable", m.unremovable.WithLabelValues("NotUnderutilized"), 2},
		{"cooldown", m.cooldown, 0},
		{"min a", m.groupMin.WithLabelValues("a"), 1},
		{"max a", m.groupMax.WithLabelValues("a"), 10},
		{"target a", m.groupTarget.WithLabelValues("a"), 5},
		{"target b", m.groupTarget.WithLabelValues("b"), 1},
		{"target c", m.groupTarget.WithLabelValues("c"), 2},
		{"healthy b", m.groupHealthy.WithLabelValues("b"), 1},
		{"backoff b", m.groupBackoff.WithLabelValues("b", "timeout"), 1},
		{"backoff a", m.groupBackoff.WithLabelValues("a", ""), 0},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// The upstream names are on the registry.
	if n, err := testutil.GatherAndCount(e.reg, "cluster_autoscaler_node_group_target_count", "cluster_autoscaler_scaled_up_nodes_total",
		"cluster_autoscaler_evicted_pods_total", "cluster_autoscaler_cluster_safe_to_autoscale"); err != nil || n != 3+1+2+1 {
		t.Errorf("gathered %d series (%v)", n, err)
	}

	// b's backoff ends and c goes away: b's backoff series is replaced,
	// c's series are deleted.
	r2 := &ScanResult{Time: caReportT0.Add(10 * time.Minute), Nodes: 5, ReadyNodes: 5, Groups: r.Groups[:2],
		Actions: autoscaler.Actions{ScaleDown: autoscaler.ReasonScaleDownInCooldown + ": scale-down-delay-after-add 10m0s"}}
	e.c.publish(context.Background(), r2)
	if n := testutil.CollectAndCount(m.groupTarget); n != 2 {
		t.Errorf("target series after c left: %d", n)
	}
	if n := testutil.CollectAndCount(m.groupBackoff); n != 2 || testutil.ToFloat64(m.groupBackoff.WithLabelValues("b", "")) != 0 {
		t.Errorf("backoff series: %d", n)
	}
	if testutil.ToFloat64(m.cooldown) != 1 || testutil.CollectAndCount(m.unremovable) != 0 {
		t.Errorf("cooldown %v, unremovable %v", testutil.ToFloat64(m.cooldown), testutil.CollectAndCount(m.unremovable))
	}
	if testutil.ToFloat64(m.lastActivity.WithLabelValues("scaleDown")) != float64(caReportT0.Unix()) {
		t.Error("scaleDown activity moved in a cooldown")
	}
	// A loop that scaled up keeps the last unremovable counts; a loop
	// whose scale-down ran replaces them.
	r3 := &ScanResult{Time: caReportT0.Add(11 * time.Minute), Groups: r.Groups[:2], Actions: autoscaler.Actions{Unremovable: r.Actions.Unremovable}}
	e.c.publish(context.Background(), r3)
	r3.Actions = autoscaler.Actions{ScaleDown: autoscaler.ReasonScaleUpInLoop}
	e.c.publish(context.Background(), r3)
	if v := testutil.ToFloat64(m.unremovable.WithLabelValues("NotUnderutilized")); v != 2 {
		t.Errorf("unremovable after a scale-up loop = %v", v)
	}
	r3.Actions = autoscaler.Actions{}
	e.c.publish(context.Background(), r3)
	if n := testutil.CollectAndCount(m.unremovable); n != 0 {
		t.Errorf("unremovable series after a scale-down loop with none: %d", n)
	}
	// Counters count only what scans carried out, once.
	if v := testutil.ToFloat64(m.scaledUp.WithLabelValues("", "", "")); v != 3 {
		t.Errorf("scaled_up = %v, want 3", v)
	}
}

func TestReportMetricsSetUnneeded(t *testing.T) {
	e := newCAReportEnv(t)
	e.c.setUnneeded(map[string]int{"a": 2, "b": -4})
	e.c.publish(context.Background(), caReportScan(caReportT0))
	_, doc := e.statusDoc(t)
	if yamlNum(yamlAt(t, doc, "clusterWide", "scaleDown", "candidates")) != 2 || yamlNum(yamlAt(t, doc, "nodeGroups", 0, "scaleDown", "candidates")) != 2 ||
		yamlAt(t, doc, "nodeGroups", 2, "scaleDown", "status") != "NoCandidates" {
		t.Errorf("candidates: %v", yamlAt(t, doc, "nodeGroups"))
	}
	if v := testutil.ToFloat64(e.c.m.unneeded); v != 2 {
		t.Errorf("unneeded = %v", v)
	}
}

func TestReportMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	// Two autoscalers on one registry share the collectors.
	a, err := newClusterReporter(fake.NewClientset(), &recorder{}, reg, logr.Discard(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := newClusterReporter(fake.NewClientset(), &recorder{}, reg, logr.Discard(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	a.podEvicted(nil, "")
	if v := testutil.ToFloat64(b.m.evicted.WithLabelValues("succeeded")); v != 1 {
		t.Errorf("shared counter = %v", v)
	}
	// A different collector under an upstream name is an error.
	bad := prometheus.NewRegistry()
	bad.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "cluster_autoscaler_nodes_count", Help: "other"}))
	if _, err := newClusterReporter(fake.NewClientset(), &recorder{}, bad, logr.Discard(), "", ""); err == nil {
		t.Error("conflicting registration accepted")
	}
}

// Inputs the reporter does not trust: negative counts, ready above
// registered, duplicate and empty group IDs, invalid UTF-8 in a label.
func TestReportStatusDistrustsInput(t *testing.T) {
	e := newCAReportEnv(t)
	r := &ScanResult{Time: caReportT0, Nodes: -3, ReadyNodes: 9,
		Groups: []GroupStatus{
			{ID: "g", Min: -1, Max: -2, Target: -5, Registered: 2, Ready: 7, Upcoming: -1},
			{ID: "g", Min: 9, Max: 9},
			{ID: ""},
			{ID: "bad\xff"},
		},
		Actions:   autoscaler.Actions{Increases: []autoscaler.Change{{Group: "g", Delta: -4, Reason: autoscaler.ReasonScaleUp, Pods: -2}}},
		Increases: []Outcome{{}, {}}, // more outcomes than actions
		Cancels:   []Outcome{{}},
		Backoff:   simulate.Backoff{Groups: map[string]simulate.BackoffEntry{"bad\xff": {Until: caReportT0.Add(time.Minute), Reason: "x\xff"}}},
	}
	e.c.publish(context.Background(), r)
	_, doc := e.statusDoc(t)
	for _, c := range []struct {
		path []any
		want int
	}{
		{[]any{"clusterWide", "health", "nodeCounts", "registered", "total"}, 0},
		{[]any{"clusterWide", "health", "nodeCounts", "registered", "ready"}, 0},
		{[]any{"nodeGroups", 0, "health", "minSize"}, 0},
		{[]any{"nodeGroups", 0, "health", "maxSize"}, 0},
		{[]any{"nodeGroups", 0, "health", "cloudProviderTarget"}, 0},
		{[]any{"nodeGroups", 0, "health", "nodeCounts", "registered", "ready"}, 2},
		{[]any{"nodeGroups", 0, "health", "nodeCounts", "unregistered"}, 0},
	} {
		if got := yamlNum(yamlAt(t, doc, c.path...)); got != c.want {
			t.Errorf("%v = %d, want %d", c.path, got, c.want)
		}
	}
	if n := len(yamlAt(t, doc, "nodeGroups").([]any)); n != 2 {
		t.Errorf("%d groups, want 2 (g once, bad)", n)
	}
	if got := e.events(); len(got) != 0 {
		t.Errorf("events for a negative increase: %v", got)
	}
	if v := testutil.ToFloat64(e.c.m.scaledUp.WithLabelValues("", "", "")); v != 0 {
		t.Errorf("scaled_up = %v", v)
	}
}

func TestReportNotTriggeredMessage(t *testing.T) {
	for _, c := range []struct {
		in   map[string]string
		want string
	}{
		{nil, "pod didn't trigger scale-up"},
		{map[string]string{"a": "max node group size reached", "b": "max node group size reached"}, "pod didn't trigger scale-up: 2 max node group size reached"},
		{map[string]string{"a": "z", "b": "y", "": "no group fits"}, "pod didn't trigger scale-up: 1 y, 1 z, no group fits"},
	} {
		if got := notTriggeredMessage(c.in); got != c.want {
			t.Errorf("%v: %q, want %q", c.in, got, c.want)
		}
	}
}

// Drains report evictions from their goroutines while scans publish.
func TestReportConcurrentUse(t *testing.T) {
	e := newCAReportEnv(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			e.c.podEvicted(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, "n")
			e.c.nodeEvent(&corev1.Node{}, corev1.EventTypeNormal, "ScaleDown", "x")
		}
	}()
	for i := range 20 {
		e.c.publish(context.Background(), caReportScan(caReportT0.Add(time.Duration(i)*time.Second)))
		e.c.setUnneeded(map[string]int{"a": i})
	}
	<-done
	if v := testutil.ToFloat64(e.c.m.evicted.WithLabelValues("succeeded")); v != 50 {
		t.Errorf("evicted = %v", v)
	}
}
