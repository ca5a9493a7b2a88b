package ess_test

import (
	"testing"

	"github.com/kscale/kscale/cloud/ess"
	"github.com/kscale/kscale/nodegroup/nodegrouptest"
)

func TestContract(t *testing.T) {
	nodegrouptest.Run(t, func(t *testing.T, f nodegrouptest.Fixture) nodegrouptest.Env { return newEnv(t, f) })
}

func TestContractScalingRules(t *testing.T) {
	nodegrouptest.Run(t, func(t *testing.T, f nodegrouptest.Fixture) nodegrouptest.Env {
		return newEnv(t, f, func(c *ess.Config) { c.ScaleMode = ess.ScalingRules })
	})
}
