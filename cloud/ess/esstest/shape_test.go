package esstest_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ess"

	"github.com/kscale/kscale/cloud/ess/esstest"
)

// checkShape walks a decoded JSON value beside the SDK type that reads it:
// every key must be a field's json name and every value of the field's
// kind, so the SDK never silently drops or misreads what the emulator
// sends.
func checkShape(t *testing.T, path string, v any, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch val := v.(type) {
	case map[string]any:
		if typ.Kind() != reflect.Struct {
			t.Errorf("%s: object where the SDK has %s", path, typ)
			return
		}
		fields := map[string]reflect.Type{}
		var collect func(reflect.Type)
		collect = func(st reflect.Type) {
			for i := range st.NumField() {
				f := st.Field(i)
				if f.Anonymous {
					continue // *responses.BaseResponse: HTTP metadata, not JSON
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" {
					name = f.Name
				}
				fields[name] = f.Type
			}
		}
		collect(typ)
		for k, sub := range val {
			ft, ok := fields[k]
			if !ok {
				t.Errorf("%s.%s: key the SDK's %s does not have", path, k, typ.Name())
				continue
			}
			checkShape(t, path+"."+k, sub, ft)
		}
	case []any:
		if typ.Kind() != reflect.Slice {
			t.Errorf("%s: array where the SDK has %s", path, typ)
			return
		}
		for i, e := range val {
			if i > 2 {
				break
			}
			checkShape(t, path+"[]", e, typ.Elem())
		}
	case string:
		if typ.Kind() != reflect.String {
			t.Errorf("%s: string %q where the SDK has %s", path, val, typ)
		}
	case float64:
		switch typ.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
			if k := typ.Kind(); k != reflect.Float32 && k != reflect.Float64 && val != float64(int64(val)) {
				t.Errorf("%s: fraction %v where the SDK has %s", path, val, typ)
			}
		default:
			t.Errorf("%s: number %v where the SDK has %s", path, val, typ)
		}
	case bool:
		if typ.Kind() != reflect.Bool {
			t.Errorf("%s: bool where the SDK has %s", path, typ)
		}
	case nil:
		t.Errorf("%s: null where the SDK has %s", path, typ)
	}
}

// Every response the provider reads, and the error body, has exactly the
// SDK's keys and kinds; the fields the provider relies on are present.
func TestResponsesMatchSDKTypes(t *testing.T) {
	s, id := newServer(t, esstest.Config{})
	s.SetStockOut("ecs.g7.large", "cn-hangzhou-a", true)
	call(t, s, essVersion, map[string]string{"Action": "ScaleWithAdjustment", "ScalingGroupId": id, "AdjustmentType": "TotalCapacity", "AdjustmentValue": "3"})
	s.SetStockOut("ecs.g7.large", "cn-hangzhou-a", false)
	_, rule := call(t, s, essVersion, map[string]string{"Action": "CreateScalingRule", "ScalingGroupId": id, "ScalingRuleName": "r",
		"AdjustmentType": "TotalCapacity", "AdjustmentValue": "2"})
	inst := s.Instances(id)[0].ID
	cases := []struct {
		params map[string]string
		resp   any
		want   []string // keys the provider reads, beyond RequestId
	}{
		{map[string]string{"Action": "DescribeScalingGroups"}, &ess.DescribeScalingGroupsResponse{}, []string{"TotalCount", "PageNumber", "ScalingGroups"}},
		{map[string]string{"Action": "DescribeScalingConfigurations"}, &ess.DescribeScalingConfigurationsResponse{}, []string{"ScalingConfigurations"}},
		{map[string]string{"Action": "DescribeScalingInstances", "ScalingGroupId": id}, &ess.DescribeScalingInstancesResponse{}, []string{"TotalCount", "PageNumber", "ScalingInstances"}},
		{map[string]string{"Action": "DescribeScalingActivities", "ScalingGroupId": id}, &ess.DescribeScalingActivitiesResponse{}, []string{"ScalingActivities"}},
		{map[string]string{"Action": "DescribeScalingRules", "ScalingGroupId": id}, &ess.DescribeScalingRulesResponse{}, []string{"ScalingRules"}},
		{map[string]string{"Action": "ModifyScalingRule", "ScalingRuleId": rule["ScalingRuleId"].(string), "AdjustmentValue": "2"}, &ess.ModifyScalingRuleResponse{}, nil},
		{map[string]string{"Action": "ExecuteScalingRule", "ScalingRuleAri": rule["ScalingRuleAri"].(string)}, &ess.ExecuteScalingRuleResponse{}, []string{"ScalingActivityId"}},
		{map[string]string{"Action": "CreateScalingRule", "ScalingGroupId": id, "AdjustmentType": "TotalCapacity", "AdjustmentValue": "1"}, &ess.CreateScalingRuleResponse{}, []string{"ScalingRuleId", "ScalingRuleAri"}},
		{map[string]string{"Action": "ScaleWithAdjustment", "ScalingGroupId": id, "AdjustmentType": "TotalCapacity", "AdjustmentValue": "2"}, &ess.ScaleWithAdjustmentResponse{}, []string{"ScalingActivityId"}},
		{map[string]string{"Action": "RemoveInstances", "ScalingGroupId": id, "InstanceId.1": inst}, &ess.RemoveInstancesResponse{}, []string{"ScalingActivityId"}},
	}
	for _, c := range cases {
		t.Run(c.params["Action"], func(t *testing.T) {
			status, body := call(t, s, essVersion, c.params)
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			checkShape(t, c.params["Action"], body, reflect.TypeOf(c.resp))
			for _, k := range append(c.want, "RequestId") {
				if _, ok := body[k]; !ok {
					t.Errorf("no %s in %v", k, body)
				}
			}
		})
	}
	t.Run("DescribeInstanceTypes", func(t *testing.T) {
		_, body := call(t, s, ecsVersion, map[string]string{"Action": "DescribeInstanceTypes", "MaxResults": "3"})
		checkShape(t, "DescribeInstanceTypes", body, reflect.TypeOf(&ecs.DescribeInstanceTypesResponse{}))
	})
	// The fields of a scaling activity that report a failed launch.
	_, body := call(t, s, essVersion, map[string]string{"Action": "DescribeScalingActivities", "ScalingGroupId": id, "PageSize": "50"})
	acts := body["ScalingActivities"].(map[string]any)["ScalingActivity"].([]any)
	failed := acts[len(acts)-1].(map[string]any)
	for _, k := range []string{"StatusCode", "ErrorCode", "ErrorMessage", "StatusMessage", "Description", "Cause", "StartTime"} {
		if v, _ := failed[k].(string); v == "" {
			t.Errorf("failed activity has no %s: %v", k, failed)
		}
	}
}
