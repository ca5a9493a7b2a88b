package simulate

import (
	"fmt"
	"sort"

	"github.com/kscale/kscale/nodegroup"
)

// Resource dimensions of the compact vector: the four built-in resources
// and up to maxExtended extended resources, interned per simulation.
const (
	dimCPU = iota
	dimMem
	dimEph
	dimPods
	dimExt
	maxExtended = 4
	nDims       = dimExt + maxExtended
)

// vec is a resource vector on the compact model.
type vec [nDims]int64

// dims interns extended resource names.
type dims struct {
	ext []string
}

func (d *dims) intern(m map[string]int64) error {
	if len(m) == 0 {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d.index(k) >= 0 {
			continue
		}
		if len(d.ext) == maxExtended {
			return fmt.Errorf("simulate: more than %d distinct extended resources (%q)", maxExtended, k)
		}
		d.ext = append(d.ext, k)
	}
	return nil
}

func (d *dims) index(name string) int {
	for i, n := range d.ext {
		if n == name {
			return dimExt + i
		}
	}
	return -1
}

// vec converts r; extended resources must have been interned.
func (d *dims) vec(r nodegroup.Resources) vec {
	v := vec{dimCPU: r.MilliCPU, dimMem: r.Memory, dimEph: r.EphemeralStorage, dimPods: r.Pods}
	for k, q := range r.Extended {
		if i := d.index(k); i >= 0 {
			v[i] = q
		}
	}
	return v
}

func (d *dims) name(i int) string {
	switch i {
	case dimCPU:
		return "cpu"
	case dimMem:
		return "memory"
	case dimEph:
		return "ephemeral-storage"
	case dimPods:
		return "pods"
	}
	return d.ext[i-dimExt]
}

func (v *vec) add(o *vec) {
	for i := range v {
		v[i] += o[i]
	}
}

func (v *vec) sub(o *vec) {
	for i := range v {
		v[i] -= o[i]
	}
}

// fitCount is how many copies of req fit in free, capped at limit; a
// request of zero in every dimension fits limit times.
func fitCount(free, req *vec, limit int) int {
	n := int64(limit)
	for i := range req {
		if r := req[i]; r > 0 {
			if f := free[i]; f < r*n {
				if f < r {
					return 0
				}
				n = f / r
			}
		}
	}
	return int(n)
}

// firstShort is the first dimension in which req does not fit in free, or
// -1.
func firstShort(free, req *vec) int {
	for i := range req {
		if req[i] > 0 && free[i] < req[i] {
			return i
		}
	}
	return -1
}
