package cluster

import (
	"embed"
	"io/fs"
)

// builtin holds the scenarios shipped with the package.
//
//go:embed scenarios/*.yaml
var builtin embed.FS

// Builtin parses a shipped scenario by name: "default" (a diurnal web
// service with a morning peak, a CPU HPA, a cron pre-scale before the
// peak, on-demand and spot node groups), "hpa-only" (the same without
// the cron pre-scale) or "rps" (a web service scaling on the Pods metric
// requests_per_second beside CPU, and a queue worker on the External
// metrics requests_per_second and queue_length) or "preprovision" (a cron
// rule raising a Deployment from 2 to 40 replicas at 09:00, with
// clusterAutoscaler.preProvision on: the nodes are Ready before 09:00).
func Builtin(name string) (*Scenario, error) {
	data, err := fs.ReadFile(builtin, "scenarios/"+name+".yaml")
	if err != nil {
		return nil, err
	}
	return Parse(data)
}
