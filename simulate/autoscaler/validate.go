package autoscaler

import (
	"fmt"
	"time"
)

// validate refuses an observation Step cannot act on safely (simulate
// checks the pods, nodes and templates in depth) and indexes its nodes by
// name.
func validate(now time.Time, obs *Observation) (map[string]int, error) {
	if err := validateRest(now, obs); err != nil {
		return nil, err
	}
	names := make(map[string]int, len(obs.Nodes))
	for i := range obs.Nodes {
		n := &obs.Nodes[i]
		if n.Name == "" {
			return nil, fmt.Errorf("%w: nodes[%d].name is empty", ErrInvalid, i)
		}
		if _, dup := names[n.Name]; dup {
			return nil, fmt.Errorf("%w: nodes[%d].name %q is listed twice", ErrInvalid, i, n.Name)
		}
		names[n.Name] = i
	}
	return names, nil
}

// validateRest is validate without the nodes (whose index Step reuses
// while the observation's Version is unchanged).
func validateRest(now time.Time, obs *Observation) error {
	if now.IsZero() {
		return fmt.Errorf("%w: now is the zero time", ErrInvalid)
	}
	if obs == nil {
		return fmt.Errorf("%w: nil observation", ErrInvalid)
	}
	ids := map[string]bool{}
	for i, g := range obs.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		switch {
		case g.ID == "":
			return fmt.Errorf("%w: %s.id is empty", ErrInvalid, p)
		case ids[g.ID]:
			return fmt.Errorf("%w: %s.id %q is listed twice", ErrInvalid, p, g.ID)
		case g.Min < 0 || g.Max < g.Min:
			return fmt.Errorf("%w: %s: min %d and max %d are not 0 ≤ min ≤ max", ErrInvalid, p, g.Min, g.Max)
		case g.Target < 0:
			return fmt.Errorf("%w: %s.target %d is negative", ErrInvalid, p, g.Target)
		case len(g.Instances) > 10*max(g.Max, g.Target)+1000:
			return fmt.Errorf("%w: %s lists %d instances for a maximum of %d", ErrInvalid, p, len(g.Instances), g.Max)
		}
		ids[g.ID] = true
	}
	for i, r := range obs.Rises {
		p := fmt.Sprintf("rises[%d]", i)
		switch {
		case r.Workload == "":
			return fmt.Errorf("%w: %s.workload is empty", ErrInvalid, p)
		case r.At.IsZero():
			return fmt.Errorf("%w: %s.at is the zero time", ErrInvalid, p)
		case r.Current < 0 || r.Replicas < 0:
			return fmt.Errorf("%w: %s: replicas %d → %d must not be negative", ErrInvalid, p, r.Current, r.Replicas)
		case int(r.Replicas)-int(r.Current) > maxRisePods:
			return fmt.Errorf("%w: %s adds %d pods, over %d", ErrInvalid, p, int(r.Replicas)-int(r.Current), maxRisePods)
		case r.StartUp < 0 || r.StartUp > maxDuration:
			return fmt.Errorf("%w: %s.startUp %s is out of [0, %s]", ErrInvalid, p, r.StartUp, maxDuration)
		}
	}
	return nil
}
