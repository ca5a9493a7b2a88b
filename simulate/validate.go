package simulate

import (
	"fmt"
	"math"

	"github.com/kscale/kscale/nodegroup"
)

// MaxPricePerHour is the largest price per node-hour a group's template
// may carry; anything above is refused as absurd (it would overflow the
// expanders' sums into +Inf).
const MaxPricePerHour = 1e6

// InputError is an invalid input, with the path of the field at fault
// (groups[1].template.pricePerHour, cluster, ...). It matches
// ErrInvalidInput under errors.Is.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	return "simulate: invalid input: " + e.Field + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalidInput) hold.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// validateGroups checks every group and that no id repeats.
func validateGroups(groups []Group) error {
	seen := make(map[string]int, len(groups))
	for i := range groups {
		if err := groups[i].validate(i); err != nil {
			return err
		}
		if j, dup := seen[groups[i].ID]; dup {
			return inputErr(fmt.Sprintf("groups[%d].id", i), "%q repeats groups[%d].id", groups[i].ID, j)
		}
		seen[groups[i].ID] = i
	}
	return nil
}

// validate checks group i; paths are built only for an error, so a valid
// group costs no allocation.
func (g *Group) validate(i int) error {
	path := func() string { return fmt.Sprintf("groups[%d]", i) }
	switch {
	case g.ID == "":
		return inputErr(path()+".id", "empty")
	case g.Min < 0:
		return inputErr(path()+".min", "%d is negative", g.Min)
	case g.Max < g.Min:
		return inputErr(path()+".max", "%d is below min %d", g.Max, g.Min)
	case g.Target < 0:
		return inputErr(path()+".target", "%d is negative", g.Target)
	}
	if f, r := checkResources(&g.Template.Allocatable); f != "" {
		return inputErr(path()+".template.allocatable."+f, "%s", r)
	}
	if f, r := checkResources(&g.Template.Capacity); f != "" {
		return inputErr(path()+".template.capacity."+f, "%s", r)
	}
	p := g.Template.PricePerHour
	switch {
	case math.IsNaN(p) || math.IsInf(p, 0):
		return inputErr(path()+".template.pricePerHour", "%v is not a finite number", p)
	case p < 0:
		return inputErr(path()+".template.pricePerHour", "%v is negative", p)
	case p > MaxPricePerHour:
		return inputErr(path()+".template.pricePerHour", "%v is above %v", p, float64(MaxPricePerHour))
	}
	return nil
}

// checkResources returns the field and reason of the first negative
// quantity, or "".
func checkResources(r *nodegroup.Resources) (field, reason string) {
	switch {
	case r.MilliCPU < 0:
		return "milliCPU", fmt.Sprintf("%d is negative", r.MilliCPU)
	case r.Memory < 0:
		return "memory", fmt.Sprintf("%d is negative", r.Memory)
	case r.EphemeralStorage < 0:
		return "ephemeralStorage", fmt.Sprintf("%d is negative", r.EphemeralStorage)
	case r.Pods < 0:
		return "pods", fmt.Sprintf("%d is negative", r.Pods)
	}
	for k, v := range r.Extended {
		if v < 0 {
			return "extended[" + k + "]", fmt.Sprintf("%d is negative", v)
		}
	}
	return "", ""
}

// checkCluster refuses a nil cluster.
func checkCluster(c *Cluster) error {
	if c == nil {
		return inputErr("cluster", "nil")
	}
	return nil
}

// satAdd and satMul saturate at math.MaxInt64 instead of wrapping (inputs
// are non-negative).
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// checkExpander refuses pod prices that are not finite or negative in a
// Price expander, alone or in a Chain.
func checkExpander(path string, e Expander) error {
	switch x := e.(type) {
	case Price:
		return x.check(path)
	case *Price:
		if x != nil {
			return x.check(path)
		}
	case Chain:
		for i, c := range x {
			if err := checkExpander(fmt.Sprintf("%s[%d]", path, i), c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p Price) check(path string) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"perCoreHour", p.PerCoreHour}, {"perGiBHour", p.PerGiBHour}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 || f.v > MaxPricePerHour {
			return inputErr(path+".price."+f.name, "%v is not a finite price in [0, %v]", f.v, float64(MaxPricePerHour))
		}
	}
	return nil
}

func (o *ScaleDownOptions) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"threshold", o.Threshold}, {"gpuThreshold", o.GPUThreshold}} {
		if math.IsNaN(f.v) || f.v < 0 || f.v > 1 {
			return inputErr("options."+f.name, "%v is not a utilization in [0, 1]", f.v)
		}
	}
	if o.MaxCandidates < 0 {
		return inputErr("options.maxCandidates", "%d is negative", o.MaxCandidates)
	}
	return nil
}
