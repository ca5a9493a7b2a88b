package esstest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/kscale/kscale/cloud/ess/esstest"
)

// A hostile server: one group reports an absurd desired capacity, and the
// instance listing ignores PageNumber.
func ExampleServer_Use() {
	srv := esstest.NewServer(esstest.Config{})
	defer srv.Close()
	id := srv.AddGroup(esstest.Group{MaxSize: 100, Size: 60, Configuration: esstest.Configuration{InstanceTypes: []string{"ecs.g7.large"}}})
	srv.Use(
		esstest.RewriteJSON("ess:DescribeScalingGroups", func(r *http.Request, body map[string]any) {
			for _, g := range body["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any) {
				g.(map[string]any)["DesiredCapacity"] = 2147483647
			}
		}),
		esstest.IgnorePageNumber("ess:DescribeScalingInstances"),
	)
	post := func(form url.Values) map[string]any {
		form.Set("Version", "2014-08-28")
		resp, err := http.PostForm(srv.URL, form)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return body
	}
	g := post(url.Values{"Action": {"DescribeScalingGroups"}})["ScalingGroups"].(map[string]any)["ScalingGroup"].([]any)[0].(map[string]any)
	fmt.Println("desired", g["DesiredCapacity"])
	first := func(page string) any {
		b := post(url.Values{"Action": {"DescribeScalingInstances"}, "ScalingGroupId": {id}, "PageSize": {"50"}, "PageNumber": {page}})
		return fmt.Sprint(b["PageNumber"], " ", b["ScalingInstances"].(map[string]any)["ScalingInstance"].([]any)[0].(map[string]any)["InstanceId"])
	}
	fmt.Println(first("1"))
	fmt.Println(first("2"))
	// Output:
	// desired 2.147483647e+09
	// 1 i-cn-hangzhou000003
	// 2 i-cn-hangzhou000003
}

func TestHostileMiddleware(t *testing.T) {
	s, id := newServer(t, esstest.Config{})
	s.Use(esstest.EmptyBody("ess:DescribeScalingGroups"), esstest.ErrorIn200("ess:DescribeScalingInstances", "InternalError", "boom"))
	resp, err := http.PostForm(s.URL, url.Values{"Version": {essVersion}, "Action": {"DescribeScalingGroups"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) != 0 {
		t.Errorf("EmptyBody: %d, %q", resp.StatusCode, b)
	}
	status, body := call(t, s, essVersion, map[string]string{"Action": "DescribeScalingInstances", "ScalingGroupId": id})
	if status != 200 || body["Code"] != "InternalError" || body["Message"] != "boom" || body["RequestId"] == "" {
		t.Errorf("ErrorIn200: %d %v", status, body)
	}
	// Other actions pass through untouched; calls are still counted.
	if status, body := call(t, s, essVersion, map[string]string{"Action": "DescribeScalingActivities", "ScalingGroupId": id}); status != 200 || body["ScalingActivities"] == nil {
		t.Errorf("untouched action: %d %v", status, body)
	}
	if n := s.Calls()["ess:DescribeScalingGroups"]; n != 1 {
		t.Errorf("%d calls counted", n)
	}
	s.ClearMiddleware()
	if status, body := call(t, s, essVersion, map[string]string{"Action": "DescribeScalingGroups"}); status != 200 || body["TotalCount"] != 1.0 {
		t.Errorf("after ClearMiddleware: %d %v", status, body)
	}
}
