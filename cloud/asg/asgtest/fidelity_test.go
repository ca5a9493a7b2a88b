package asgtest_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kscale/kscale/cloud/asg/asgtest"
)

// AWS joins different filters with AND and the values of one filter with
// OR: cluster-autoscaler's two tag-key filters must not match a group of
// another cluster that carries only the enabled tag.
func TestFiltersAreANDedAcrossAndORedWithin(t *testing.T) {
	s, asc, _ := newServer(t)
	s.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "m5.large"})
	for name, tags := range map[string]map[string]string{
		"ours":   {"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/prod": "owned", "team": "a"},
		"theirs": {"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/staging": "owned", "team": "b"},
		"bare":   {"team": "c"},
	} {
		if err := s.AddGroup(asgtest.Group{Name: name, Max: 1, Zones: []string{"a"}, LaunchConfig: "lc", Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		filters []astypes.Filter
		want    []string
	}{
		{"two tag-key filters", []astypes.Filter{
			{Name: aws.String("tag-key"), Values: []string{"k8s.io/cluster-autoscaler/enabled"}},
			{Name: aws.String("tag-key"), Values: []string{"k8s.io/cluster-autoscaler/prod"}}}, []string{"ours"}},
		{"one tag-key filter, two values", []astypes.Filter{
			{Name: aws.String("tag-key"), Values: []string{"k8s.io/cluster-autoscaler/prod", "k8s.io/cluster-autoscaler/staging"}}}, []string{"ours", "theirs"}},
		{"tag-value and tag:key", []astypes.Filter{
			{Name: aws.String("tag-value"), Values: []string{"owned"}},
			{Name: aws.String("tag:team"), Values: []string{"b", "c"}}}, []string{"theirs"}},
		{"no match", []astypes.Filter{
			{Name: aws.String("tag:team"), Values: []string{"a"}},
			{Name: aws.String("tag:team"), Values: []string{"b"}}}, nil},
	} {
		out, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{Filters: tc.filters})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range out.AutoScalingGroups {
			got = append(got, aws.ToString(g.AutoScalingGroupName))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// post sends a raw Query request and returns the status and body.
func post(t *testing.T, s *asgtest.Server, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(s.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Void actions (botocore's model gives SetDesiredCapacity no output shape)
// answer with response metadata only; actions with an output wrap it in
// their result element.
func TestVoidActionsHaveNoResultElement(t *testing.T) {
	s, _, _ := newServer(t)
	s.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "m5.large"})
	if err := s.AddGroup(asgtest.Group{Name: "g", Max: 3, Desired: 1, Zones: []string{"a"}, LaunchConfig: "lc"}); err != nil {
		t.Fatal(err)
	}
	code, body := post(t, s, url.Values{"Action": {"SetDesiredCapacity"}, "Version": {asgtest.AutoScalingVersion},
		"AutoScalingGroupName": {"g"}, "DesiredCapacity": {"2"}})
	var void struct {
		XMLName  xml.Name
		Children []struct{ XMLName xml.Name } `xml:",any"`
	}
	if err := xml.Unmarshal([]byte(body), &void); err != nil || code != 200 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if void.XMLName.Local != "SetDesiredCapacityResponse" || len(void.Children) != 1 || void.Children[0].XMLName.Local != "ResponseMetadata" {
		t.Errorf("SetDesiredCapacity answered %s", body)
	}
	st, _ := s.Group("g")
	_, body = post(t, s, url.Values{"Action": {"TerminateInstanceInAutoScalingGroup"}, "Version": {asgtest.AutoScalingVersion},
		"InstanceId": {st.Instances[0].ID}, "ShouldDecrementDesiredCapacity": {"true"}})
	if !strings.Contains(body, "<TerminateInstanceInAutoScalingGroupResult><Activity>") {
		t.Errorf("TerminateInstanceInAutoScalingGroup answered %s", body)
	}
}

// EC2 faults use EC2's codes and error envelope, and the SDK retries them.
func TestEC2FaultsUseEC2Codes(t *testing.T) {
	s, _, ec := newServer(t)
	s.Inject(asgtest.FaultThrottle, "DescribeInstanceTypes", -1)
	_, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{})
	if apiCode(err) != "RequestLimitExceeded" || s.Calls()["DescribeInstanceTypes"] != 5 {
		t.Errorf("EC2 throttling: %v after %d calls", err, s.Calls()["DescribeInstanceTypes"])
	}
	s.ClearFaults()
	s.Inject(asgtest.FaultServerError, "DescribeInstanceTypes", -1)
	if _, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{}); apiCode(err) != "InternalError" {
		t.Errorf("EC2 5xx: %v", err)
	}
	code, body := post(t, s, url.Values{"Action": {"DescribeInstanceTypes"}, "Version": {asgtest.EC2Version}})
	var env struct {
		XMLName xml.Name `xml:"Response"`
		Errors  []struct {
			Code, Message string
		} `xml:"Errors>Error"`
		RequestID string
	}
	if err := xml.Unmarshal([]byte(body), &env); err != nil || code != 500 || len(env.Errors) != 1 || env.Errors[0].Code != "InternalError" || env.RequestID == "" {
		t.Errorf("EC2 error envelope: %d %s (%v)", code, body, err)
	}
	s.ClearFaults()
	s.Inject(asgtest.FaultThrottle, "", 1)
	code, body = post(t, s, url.Values{"Action": {"DescribeInstanceTypes"}, "Version": {asgtest.EC2Version}})
	if code != 503 || !strings.Contains(body, "<Code>RequestLimitExceeded</Code>") {
		t.Errorf("EC2 throttling: %d %s", code, body)
	}
}

func TestDescribeInstanceTypesFilters(t *testing.T) {
	_, _, ec := newServer(t)
	names := func(in *ec2.DescribeInstanceTypesInput) []string {
		t.Helper()
		var out []string
		pg := ec2.NewDescribeInstanceTypesPaginator(ec, in, func(o *ec2.DescribeInstanceTypesPaginatorOptions) { o.Limit = 5 })
		for pg.HasMorePages() {
			page, err := pg.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.InstanceTypes {
				out = append(out, string(it.InstanceType))
			}
		}
		return out
	}
	f := func(name string, values ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: values}
	}
	for _, tc := range []struct {
		in   *ec2.DescribeInstanceTypesInput
		want []string
	}{
		{&ec2.DescribeInstanceTypesInput{Filters: []ec2types.Filter{f("processor-info.supported-architecture", "arm64")}}, []string{"m6g.large", "m6g.xlarge"}},
		{&ec2.DescribeInstanceTypesInput{Filters: []ec2types.Filter{f("instance-type", "m5.*"), f("vcpu-info.default-vcpus", "2", "4")}},
			[]string{"m5.large", "m5.xlarge"}},
		{&ec2.DescribeInstanceTypesInput{Filters: []ec2types.Filter{f("gpu-info.gpus.count", "?")}}, []string{"g4dn.xlarge", "p3.8xlarge"}},
		{&ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"m5.large", "c5.large", "r5.large"},
			Filters: []ec2types.Filter{f("memory-info.size-in-mib", "4096", "16384")}}, []string{"c5.large", "r5.large"}},
		{&ec2.DescribeInstanceTypesInput{Filters: []ec2types.Filter{f("instance-type", "t3.*"), f("instance-type", "m5.*")}}, nil},
	} {
		if got := names(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.in.Filters, got, tc.want)
		}
	}
	if _, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{Filters: []ec2types.Filter{f("no-such-filter", "x")}}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("unknown filter: %v", err)
	}
}

// EnforcePolicy evaluates statements as IAM does.
func TestPolicyEvaluation(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		allowed   []string // of SetDesiredCapacity, DescribeAutoScalingGroups, ec2 DescribeInstanceTypes
	}{
		{"NotAction allow", `{"Statement":[{"Effect":"Allow","NotAction":"autoscaling:Set*","Resource":"*"}]}`,
			[]string{"DescribeAutoScalingGroups", "DescribeInstanceTypes"}},
		{"NotAction deny beats allow", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["ec2:*"],"Resource":"*"}]}`,
			[]string{"DescribeInstanceTypes"}},
		{"explicit deny wins", `{"Statement":[{"Effect":"Allow","Action":["autoscaling:*","ec2:Describe*"]},{"Effect":"Deny","Action":"AutoScaling:describe*"}]}`,
			[]string{"SetDesiredCapacity", "DescribeInstanceTypes"}},
		{"single statement object, ? wildcard", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["autoscaling:SetDesiredCapacit?","ec2:DescribeInstanceType?"]}}`,
			[]string{"SetDesiredCapacity", "DescribeInstanceTypes"}},
		{"* in the middle", `{"Statement":[{"Effect":"Allow","Action":["autoscaling:*Groups","ec2:D*T*s"]}]}`,
			[]string{"DescribeAutoScalingGroups", "DescribeInstanceTypes"}},
		{"nothing matches", `{"Statement":[{"Effect":"Allow","Action":"autoscaling:SetDesired"}]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, asc, ec := newServer(t)
			if err := s.EnforcePolicy([]byte(tc.doc)); err != nil {
				t.Fatal(err)
			}
			var got []string
			// The group does not exist: an allowed call fails with ValidationError, a denied one with AccessDenied.
			if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(1)}); apiCode(err) != "AccessDenied" {
				got = append(got, "SetDesiredCapacity")
			}
			if _, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{}); err == nil {
				got = append(got, "DescribeAutoScalingGroups")
			} else if apiCode(err) != "AccessDenied" {
				t.Fatal(err)
			}
			if _, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{}); err == nil {
				got = append(got, "DescribeInstanceTypes")
			} else if apiCode(err) != "UnauthorizedOperation" {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.allowed) {
				t.Errorf("allowed %v, want %v", got, tc.allowed)
			}
		})
	}
	s, _, _ := newServer(t)
	for _, bad := range []string{
		`{"Statement":[{"Effect":"Allow","Action":"a:b","NotAction":"c:d"}]}`,
		`{"Statement":[{"Effect":"allow","Action":"a:b"}]}`,
		`{"Statement":[{"Effect":"Allow"}]}`,
		`{"Statement":[]}`,
		`{"Statement":[{"Effect":"Allow","Action":"DescribeInstances"}]}`,
	} {
		if err := s.EnforcePolicy([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// In a weighted group the sizes are capacity units: a launch fills units,
// a stock-out of one type falls back to the next override and counts its
// weight, the last launch may overshoot, scale-in keeps the desired units
// covered, and a termination with decrement lowers the desired capacity by
// the instance's weight.
func TestWeightedCapacityUnits(t *testing.T) {
	s, asc, _ := newServer(t)
	s.AddLaunchTemplate(asgtest.LaunchTemplate{Name: "lt"})
	if err := s.AddGroup(asgtest.Group{Name: "w", Max: 10, Zones: []string{"a"}, MixedInstances: &asgtest.MixedInstances{
		LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt"},
		Overrides:      []asgtest.Override{{InstanceType: "m5.large", WeightedCapacity: "1"}, {InstanceType: "m5.xlarge", WeightedCapacity: "2"}}}}); err != nil {
		t.Fatal(err)
	}
	set := func(n int32) {
		t.Helper()
		if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("w"), DesiredCapacity: aws.Int32(n)}); err != nil {
			t.Fatal(err)
		}
	}
	types := func() (out []string) {
		st, _ := s.Group("w")
		for _, in := range st.Instances {
			if in.LifecycleState != "Terminating" {
				out = append(out, in.InstanceType+"/"+in.Weight)
			}
		}
		return out
	}
	s.StockOut("m5.large", "a", true)
	set(4)
	if got := types(); !slices.Equal(got, []string{"m5.xlarge/2", "m5.xlarge/2"}) {
		t.Fatalf("desired 4 units with the weight-1 type out of stock: %v", got)
	}
	set(5) // one unit short: the weight-2 type overshoots by one
	if got, st := types(), must(s.Group("w")); len(got) != 3 || st.Units != 6 || st.Desired != 5 {
		t.Fatalf("desired 5: %v, %d units", got, st.Units)
	}
	set(4) // 6 - 2 = 4 still covers 4: one instance goes
	if st := must(s.Group("w")); st.Units != 4 {
		t.Fatalf("desired 4 after 5: %d units", st.Units)
	}
	set(3) // 4 - 2 = 2 would not cover 3: nothing goes
	if st := must(s.Group("w")); st.Units != 4 {
		t.Fatalf("desired 3 after 4: %d units", st.Units)
	}
	s.StockOut("m5.large", "a", false)
	set(5)
	if got := types(); !slices.Equal(got, []string{"m5.xlarge/2", "m5.xlarge/2", "m5.large/1"}) {
		t.Fatalf("desired 5 with stock back: %v", got)
	}
	st := must(s.Group("w"))
	out, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"w"}})
	if err != nil || aws.ToString(out.AutoScalingGroups[0].Instances[0].WeightedCapacity) != "2" {
		t.Fatalf("instances' WeightedCapacity not reported: %v", err)
	}
	if _, err := asc.TerminateInstanceInAutoScalingGroup(t.Context(), &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(st.Instances[0].ID), ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if st := must(s.Group("w")); st.Desired != 3 || st.Units != 3 {
		t.Errorf("terminating a weight-2 instance with decrement: desired %d, units %d; want 3, 3", st.Desired, st.Units)
	}
	for _, o := range [][]asgtest.Override{
		{{InstanceType: "m5.large", WeightedCapacity: "2"}, {InstanceType: "m5.xlarge"}},
		{{InstanceType: "m5.large", WeightedCapacity: "0"}},
		{{InstanceType: "m5.large", WeightedCapacity: "1000"}},
		{{InstanceType: "m5.large", WeightedCapacity: "1.5"}},
	} {
		if err := s.AddGroup(asgtest.Group{Name: "bad", Max: 1, Zones: []string{"a"},
			MixedInstances: &asgtest.MixedInstances{LaunchTemplate: asgtest.LaunchTemplateRef{Name: "lt"}, Overrides: o}}); err == nil {
			t.Errorf("overrides %v accepted", o)
		}
	}
}

func must(st asgtest.GroupState, ok bool) asgtest.GroupState {
	if !ok {
		panic("no such group")
	}
	return st
}

func TestHostileHelpers(t *testing.T) {
	s, asc, ec := newServer(t)
	s.AddLaunchConfiguration(asgtest.LaunchConfiguration{Name: "lc", InstanceType: "m5.large"})
	for _, name := range []string{"a", "b"} {
		if err := s.AddGroup(asgtest.Group{Name: name, Max: 3, Desired: 1, Zones: []string{"z"}, LaunchConfig: "lc"}); err != nil {
			t.Fatal(err)
		}
	}
	// SetGroupField touches one group; SetField every match.
	s.SetHostile(asgtest.Join(asgtest.SetGroupField("b", "MaxSize", "7"), asgtest.SetField("DescribeInstanceTypes", "defaultVCpus", "-4")))
	out, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || aws.ToInt32(out.AutoScalingGroups[0].MaxSize) != 3 || aws.ToInt32(out.AutoScalingGroups[1].MaxSize) != 7 {
		t.Fatalf("SetGroupField: %+v %v", out, err)
	}
	it, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"m5.large", "c5.large"}})
	if err != nil || aws.ToInt32(it.InstanceTypes[0].VCpuInfo.DefaultVCpus) != -4 || aws.ToInt32(it.InstanceTypes[1].VCpuInfo.DefaultVCpus) != -4 {
		t.Fatalf("SetField: %v", err)
	}
	// RepeatNextToken on EC2 adds a nextToken and serves page one again.
	s.SetHostile(asgtest.RepeatNextToken("DescribeInstanceTypes"))
	first, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(5)})
	if err != nil || aws.ToString(first.NextToken) != "asgtest-repeat" {
		t.Fatalf("RepeatNextToken: %v %v", first, err)
	}
	again, err := ec.DescribeInstanceTypes(t.Context(), &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(5), NextToken: first.NextToken})
	if err != nil || again.InstanceTypes[0].InstanceType != first.InstanceTypes[0].InstanceType {
		t.Fatalf("second page: %v", err)
	}
	// EmptyBody still applies the action; the SDK reads an empty result.
	s.SetHostile(asgtest.EmptyBody("SetDesiredCapacity"))
	if _, err := asc.SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("a"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Group("a"); st.Desired != 2 {
		t.Errorf("desired %d", st.Desired)
	}
	s.SetHostile(asgtest.Hostile{})
	if out, err := asc.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil || aws.ToInt32(out.AutoScalingGroups[1].MaxSize) != 3 {
		t.Errorf("hostile mode not off: %v", err)
	}
}
