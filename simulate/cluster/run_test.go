package cluster

import (
	"context"
	"os"
	"testing"
)

func load(t testing.TB, name string) *Scenario {
	t.Helper()
	s, err := Load("scenarios/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaultScenario(t *testing.T) {
	a, err := Run(context.Background(), load(t, "default.yaml"), Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), load(t, "hpa-only.yaml"), Options{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	WriteTable(os.Stdout, a, b)
}

func TestWriteSVGFile(t *testing.T) {
	a, _ := Run(context.Background(), load(t, "default.yaml"), Options{})
	b, _ := Run(context.Background(), load(t, "hpa-only.yaml"), Options{})
	f, _ := os.Create("/tmp/sim.svg")
	defer f.Close()
	if err := WriteSVG(f, a, b); err != nil {
		t.Fatal(err)
	}
}
