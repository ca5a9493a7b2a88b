package esstest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kscale/kscale/cloud/ess/esstest"
)

// call sends one unsigned RPC request as a POST form and decodes the JSON.
func call(t *testing.T, s *esstest.Server, version string, params map[string]string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"Version": {version}, "Format": {"JSON"}}
	for k, v := range params {
		form.Set(k, v)
	}
	resp, err := http.Post(s.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

const essVersion, ecsVersion = "2014-08-28", "2014-05-26"

func newServer(t *testing.T, cfg esstest.Config) (*esstest.Server, string) {
	s := esstest.NewServer(cfg)
	t.Cleanup(s.Close)
	id := s.AddGroup(esstest.Group{MinSize: 1, MaxSize: 4, Size: 2, Tags: map[string]string{"team": "a"},
		Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	return s, id
}

func TestWireShapes(t *testing.T) {
	s, id := newServer(t, esstest.Config{})
	code, body := call(t, s, essVersion, map[string]string{"Action": "DescribeScalingGroups", "ScalingGroupId.1": id})
	if code != 200 || body["TotalCount"] != 1.0 || body["RequestId"] == "" {
		t.Fatalf("%d %v", code, body)
	}
	g := body["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any)[0].(map[string]any)
	if g["ScalingGroupId"] != id || g["DesiredCapacity"] != 2.0 || g["MaxSize"] != 4.0 {
		t.Errorf("group %v", g)
	}
	tag := g["Tags"].(map[string]any)["Tag"].([]any)[0].(map[string]any)
	if tag["Key"] != "team" || tag["Value"] != "a" {
		t.Errorf("tags %v", g["Tags"])
	}
	_, body = call(t, s, ecsVersion, map[string]string{"Action": "DescribeInstanceTypes", "InstanceTypes.1": "ecs.g7.large"})
	it := body["InstanceTypes"].(map[string]any)["InstanceType"].([]any)
	if len(it) != 1 || it[0].(map[string]any)["CpuCoreCount"] != 2.0 {
		t.Errorf("instance types %v", it)
	}
}

func TestWireErrors(t *testing.T) {
	s, id := newServer(t, esstest.Config{})
	cases := []struct {
		name     string
		setup    func()
		version  string
		params   map[string]string
		status   int
		wantCode string
	}{
		{"throttling", func() { s.Throttle("ess:DescribeScalingGroups", 1) }, essVersion,
			map[string]string{"Action": "DescribeScalingGroups"}, 400, "Throttling"},
		{"user flow control", func() { s.InjectFault(esstest.Fault{Code: esstest.CodeThrottlingUser, Times: 1}) }, essVersion,
			map[string]string{"Action": "DescribeScalingGroups"}, 400, "Throttling.User"},
		{"5xx", func() { s.FailServer("", 1) }, essVersion, map[string]string{"Action": "DescribeScalingGroups"}, 503, "ServiceUnavailable"},
		{"page size", nil, essVersion, map[string]string{"Action": "DescribeScalingGroups", "PageSize": "51"}, 400, "InvalidParameter"},
		{"unknown action", nil, essVersion, map[string]string{"Action": "LaunchRocket"}, 400, "InvalidAction.NotFound"},
		{"over max", nil, essVersion, map[string]string{"Action": "ScaleWithAdjustment", "ScalingGroupId": id,
			"AdjustmentType": "TotalCapacity", "AdjustmentValue": "5"}, 400, "IncorrectCapacity.MaxSize"},
		{"unknown group", nil, essVersion, map[string]string{"Action": "DescribeScalingInstances", "ScalingGroupId": "asg-nope"}, 404, "InvalidScalingGroupId.NotFound"},
		{"RAM", func() {
			p, _ := esstest.ParsePolicy([]byte(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ess:Describe*","Resource":"*"}]}`))
			s.EnforcePolicy(p)
		}, essVersion, map[string]string{"Action": "RemoveInstances", "ScalingGroupId": id, "InstanceId.1": "i-1"}, 403, "Forbidden.RAM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			status, body := call(t, s, tc.version, tc.params)
			if status != tc.status || body["Code"] != tc.wantCode || body["Message"] == "" || body["RequestId"] == "" || body["HostId"] == "" {
				t.Errorf("%d %v, want %d %s", status, body, tc.status, tc.wantCode)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	s, id := newServer(t, esstest.Config{LaunchDelay: time.Minute, RemoveDelay: 30 * time.Second})
	call(t, s, essVersion, map[string]string{"Action": "ScaleWithAdjustment", "ScalingGroupId": id, "AdjustmentType": "TotalCapacity", "AdjustmentValue": "3"})
	states := func() string {
		var out []string
		for _, in := range s.Instances(id) {
			out = append(out, in.State)
		}
		return strings.Join(out, ",")
	}
	if got := states(); got != "InService,InService,Pending" {
		t.Fatalf("after scale-up: %s", got)
	}
	s.Advance(time.Minute)
	if got := states(); got != "InService,InService,InService" {
		t.Fatalf("after the launch delay: %s", got)
	}
	victim := s.Instances(id)[0].ID
	status, body := call(t, s, essVersion, map[string]string{"Action": "RemoveInstances", "ScalingGroupId": id, "InstanceId.1": victim})
	if status != 200 || s.Desired(id) != 2 || states() != "Removing,InService,InService" {
		t.Fatalf("RemoveInstances: %d %v; desired %d, %s", status, body, s.Desired(id), states())
	}
	s.Advance(30 * time.Second)
	if got := states(); got != "InService,InService" {
		t.Fatalf("after the removal delay: %s", got)
	}
	status, body = call(t, s, essVersion, map[string]string{"Action": "RemoveInstances", "ScalingGroupId": id, "InstanceId.1": s.Instances(id)[0].ID,
		"InstanceId.2": s.Instances(id)[1].ID})
	if status != 400 || body["Code"] != "IncorrectCapacity.MinSize" {
		t.Errorf("removing below the minimum: %d %v", status, body)
	}
	s.SetStockOut("ecs.g7.large", "cn-hangzhou-a", true)
	call(t, s, essVersion, map[string]string{"Action": "ScaleWithAdjustment", "ScalingGroupId": id, "AdjustmentType": "TotalCapacity", "AdjustmentValue": "4"})
	if a := s.Activities(id)[0]; a.StatusCode != "Failed" || a.ErrorCode != "OperationDenied.NoStock" || len(s.Instances(id)) != 2 || s.Desired(id) != 4 {
		t.Errorf("stock-out: activity %+v, %d instances, desired %d", a, len(s.Instances(id)), s.Desired(id))
	}
}

func TestPolicyMatching(t *testing.T) {
	p, err := esstest.ParsePolicy([]byte(`{"Version":"1","Statement":[
		{"Effect":"Allow","Action":["ess:Describe*","ecs:DescribeInstanceTypes"],"Resource":"*"},
		{"Effect":"Deny","Action":"ess:DescribeScalingRules","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]bool{
		"ess:DescribeScalingGroups": true, "ess:describescalinginstances": true, "ecs:DescribeInstanceTypes": true,
		"ess:DescribeScalingRules": false, "ess:ScaleWithAdjustment": false, "ecs:DescribeInstances": false,
	} {
		if got := p.Allows(action); got != want {
			t.Errorf("Allows(%s) = %v, want %v", action, got, want)
		}
	}
	for _, bad := range []string{`{`, `{"Version":"1","Statement":[]}`, `{"Statement":[{"Effect":"Maybe","Action":"*"}]}`} {
		if _, err := esstest.ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
}
