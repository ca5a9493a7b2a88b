package hpa_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kscale/kscale/hpa"
)

func TestValidateValid(t *testing.T) {
	zero := hpa.Spec{MinReplicas: cvInt32(0), MaxReplicas: 3, Metrics: []hpa.MetricSpec{
		{Type: hpa.ExternalMetric, Name: "q", Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: 1}}}}
	stz := hpa.Config{ScaleToZero: true}
	cases := []struct {
		name string
		spec hpa.Spec
		cfg  hpa.Config
	}{
		{"every source, full behavior", cvCompactSpec(), hpa.Config{}},
		{"only maxReplicas", hpa.Spec{MaxReplicas: 1}, hpa.Config{}},
		{"behavior with nil rules and nil policies", hpa.Spec{MaxReplicas: 2, Behavior: &hpa.Behavior{ScaleDown: &hpa.ScalingRules{StabilizationWindowSeconds: cvInt32(3600)}}}, hpa.Config{}},
		{"minReplicas 0 with scale to zero and an External metric", zero, stz},
		{"minReplicas 0 under the default gates (HPAScaleToZero on in 1.37)", zero, hpa.DefaultConfig()},
		// The API server checks only that the type is one of the three and
		// that the source's fields are set; it accepts these.
		{"Value target type on a resource with averageUtilization", crossedSpec(0, hpa.ValueTarget), hpa.Config{}},
		{"Utilization target type on pods with averageValue", crossedSpec(2, hpa.UtilizationTarget), hpa.Config{}},
		{"Utilization target type on an object with value", crossedSpec(3, hpa.UtilizationTarget), hpa.Config{}},
		{"AverageValue target type on an external metric with value", crossedSpec(4, hpa.AverageValueTarget), hpa.Config{}},
		{"object with both value and averageValue", func() hpa.Spec {
			s := cvCompactSpec()
			s.Metrics[3].Target.Value, s.Metrics[3].Target.AverageValue = 5, 5
			return s
		}(), hpa.Config{}},
		{"no metrics (the API server defaults them)", hpa.Spec{MaxReplicas: 2}, hpa.Config{}},
	}
	for _, tc := range cases {
		if err := hpa.Validate(tc.spec, tc.cfg); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// crossedSpec is cvCompactSpec with metric i's target type changed, its
// fields left as they are.
func crossedSpec(i int, tt hpa.MetricTargetType) hpa.Spec {
	s := cvCompactSpec()
	s.Metrics[i].Target.Type = tt
	return s
}

func TestValidateRules(t *testing.T) {
	bogus := hpa.SelectPolicy("Sometimes")
	stz := hpa.Config{ScaleToZero: true}
	metric := func(i int, m hpa.MetricSpec) func(*hpa.Spec) { return func(s *hpa.Spec) { s.Metrics[i] = m } }
	up := func(edit func(*hpa.ScalingRules)) func(*hpa.Spec) {
		return func(s *hpa.Spec) {
			s.Behavior.ScaleUp = &hpa.ScalingRules{Policies: []hpa.Policy{{Type: hpa.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}
			edit(s.Behavior.ScaleUp)
		}
	}
	cases := []struct {
		name string
		cfg  hpa.Config
		edit func(*hpa.Spec)
		want string // the full message of the only problem
	}{
		{"min 0", hpa.Config{}, func(s *hpa.Spec) { s.MinReplicas = cvInt32(0) }, "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"},
		{"min negative with scale to zero", stz, func(s *hpa.Spec) { s.MinReplicas = cvInt32(-1) }, "spec.minReplicas: Invalid value: -1: must be greater than or equal to 0"},
		{"min 0 without Object/External", stz, func(s *hpa.Spec) { s.MinReplicas = cvInt32(0); s.Metrics = s.Metrics[:3] },
			"spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas"},
		{"max below min", hpa.Config{}, func(s *hpa.Spec) { s.MaxReplicas = 1 }, "spec.maxReplicas: Invalid value: 1: must be greater than or equal to `minReplicas`"},
		{"max 0 without min", hpa.Config{}, func(s *hpa.Spec) { s.MinReplicas, s.MaxReplicas = nil, 0 }, "spec.maxReplicas: Invalid value: 0: must be greater than 0"},
		{"no source type", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[0].Type = "" }, "spec.metrics[0].type: Required value: must specify a metric source type"},
		{"unknown source type", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[0].Type = "Bogus" },
			`spec.metrics[0].type: Unsupported value: "Bogus": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"`},
		{"resource unnamed", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[0].Name = "" }, "spec.metrics[0].resource.name: Required value: must specify a resource name"},
		{"pods metric unnamed", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[2].Name = "" }, "spec.metrics[2].pods.metric.name: Required value: must specify a metric name"},
		{"container not named", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[1].Container = "" }, "spec.metrics[1].containerResource.container: Required value: must specify a container"},
		{"object kind missing", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[3].Object.Kind = "" }, "spec.metrics[3].object.describedObject.kind: Required value"},
		{"object name missing", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[3].Object.Name = "" }, "spec.metrics[3].object.describedObject.name: Required value"},
		{"no target type", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[4].Target.Type = "" },
			"spec.metrics[4].external.target.type: Required value: must specify a metric target type\n" +
				`spec.metrics[4].external.target.type: Invalid value: "": must be either Utilization, Value, or AverageValue`},
		{"unknown target type", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[4].Target.Type = "Median" },
			`spec.metrics[4].external.target.type: Invalid value: "Median": must be either Utilization, Value, or AverageValue`},
		{"zero utilization is unset", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[0].Target.AverageUtilization = 0 },
			"spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization"},
		{"negative utilization", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[0].Target.AverageUtilization = -5 },
			"spec.metrics[0].resource.target.averageUtilization: Invalid value: -5: must be greater than 0"},
		{"both utilization and average value on a resource", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[0].Target.AverageValue = 100 },
			"spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization"},
		{"negative value", hpa.Config{}, metric(3, hpa.MetricSpec{Type: hpa.ObjectMetric, Name: "q", Object: hpa.ObjectReference{Kind: "Service", Name: "s"},
			Target: hpa.MetricTarget{Type: hpa.ValueTarget, Value: -500}}), "spec.metrics[3].object.target.value: Invalid value: -500m: must be positive"},
		{"container resource with neither field", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[1].Target.AverageValue = 0 },
			"spec.metrics[1].containerResource.target.averageUtilization: Required value: must set either a target raw value or a target utilization"},
		{"pods without averageValue", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[2].Target = hpa.MetricTarget{Type: hpa.ValueTarget, Value: 5} },
			"spec.metrics[2].pods.target.averageValue: Required value: must specify a positive target averageValue"},
		{"object without value or averageValue", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[3].Target = hpa.MetricTarget{Type: hpa.ValueTarget} },
			"spec.metrics[3].object.target.averageValue: Required value: must set either a target value or averageValue"},
		{"external without value or averageValue", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[4].Target = hpa.MetricTarget{Type: hpa.ValueTarget} },
			"spec.metrics[4].external.target.averageValue: Required value: must set either a target value for metric or a per-pod target"},
		{"external with both", hpa.Config{}, func(s *hpa.Spec) { s.Metrics[4].Target.Value, s.Metrics[4].Target.AverageValue = 5, 5 },
			"spec.metrics[4].external.target.value: Forbidden: may not set both a target value for metric and a per-pod target"},
		{"negative window", hpa.Config{}, func(s *hpa.Spec) { s.Behavior.ScaleDown.StabilizationWindowSeconds = cvInt32(-1) },
			"spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero"},
		{"window too long", hpa.Config{}, func(s *hpa.Spec) { s.Behavior.ScaleDown.StabilizationWindowSeconds = cvInt32(3601) },
			"spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600"},
		{"bad select policy", hpa.Config{}, up(func(r *hpa.ScalingRules) { r.SelectPolicy = &bogus }),
			`spec.behavior.scaleUp.selectPolicy: Unsupported value: "Sometimes": supported values: "Disabled", "Max", "Min"`},
		{"empty policies", hpa.Config{}, up(func(r *hpa.ScalingRules) { r.Policies = []hpa.Policy{} }),
			"spec.behavior.scaleUp.policies: Required value: must specify at least one Policy"},
		{"bad policy type", hpa.Config{}, up(func(r *hpa.ScalingRules) { r.Policies[0].Type = "Nodes" }),
			`spec.behavior.scaleUp.policies[0].type: Unsupported value: "Nodes": supported values: "Percent", "Pods"`},
		{"zero policy value", hpa.Config{}, up(func(r *hpa.ScalingRules) { r.Policies[0].Value = 0 }),
			"spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero"},
		{"zero period", hpa.Config{}, up(func(r *hpa.ScalingRules) { r.Policies[0].PeriodSeconds = 0 }),
			"spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 0: must be greater than zero"},
		{"period too long", hpa.Config{}, func(s *hpa.Spec) { s.Behavior.ScaleDown.Policies[1].PeriodSeconds = 1801 },
			"spec.behavior.scaleDown.policies[1].periodSeconds: Invalid value: 1801: must be less than or equal to 1800"},
		{"negative tolerance", hpa.Config{}, func(s *hpa.Spec) { s.Behavior.ScaleDown.Tolerance = cvFloat(-0.1) },
			"spec.behavior.scaleDown.tolerance: Invalid value: -0.1: must be greater than or equal to zero"},
		{"NaN tolerance", hpa.Config{}, up(func(r *hpa.ScalingRules) { r.Tolerance = cvFloat(math.NaN()) }),
			"spec.behavior.scaleUp.tolerance: Invalid value: NaN: must be greater than or equal to zero"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := cvCompactSpec()
			tc.edit(&s)
			err := hpa.Validate(s, tc.cfg)
			if !errors.Is(err, hpa.ErrInvalidSpec) || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestValidateJoinsAll(t *testing.T) {
	s := cvCompactSpec()
	s.MinReplicas, s.MaxReplicas = cvInt32(0), -1
	s.Metrics[0].Name = ""
	s.Behavior.ScaleDown.Policies[0] = hpa.Policy{Type: "Nodes"}
	err := hpa.Validate(s, hpa.Config{})
	want := []string{
		"spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
		"spec.maxReplicas: Invalid value: -1: must be greater than 0",
		"spec.maxReplicas: Invalid value: -1: must be greater than or equal to `minReplicas`",
		"spec.metrics[0].resource.name: Required value: must specify a resource name",
		`spec.behavior.scaleDown.policies[0].type: Unsupported value: "Nodes": supported values: "Percent", "Pods"`,
		"spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero",
		"spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 0: must be greater than zero",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatal("not a joined error")
	}
	for _, e := range joined.Unwrap() {
		if !errors.Is(e, hpa.ErrInvalidSpec) {
			t.Errorf("%v does not wrap ErrInvalidSpec", e)
		}
	}
}

func TestValidateAllocatesNothingWhenValid(t *testing.T) {
	s := cvCompactSpec()
	if n := testing.AllocsPerRun(100, func() { _ = hpa.Validate(s, hpa.Config{}) }); n != 0 {
		t.Errorf("Validate of a valid spec allocates %v times", n)
	}
}
