package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run([]string{"-out", dir, "-duration", "12h"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, f := range []string{"chart.svg", "hpa_cron.json", "hpa_cron.csv", "hpa-only.json", "hpa-only.csv"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), "hpa+cron") || !strings.Contains(out.String(), "hpa-only") || !strings.Contains(errOut.String(), "simulating") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	if err := run([]string{"-scenario", "missing.yaml"}, &out, &errOut); err == nil {
		t.Fatal("missing scenario accepted")
	}
	if err := run([]string{"-q", "-compare", "none", "-out", dir, "-duration", "1h", "-html"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !bytes.Contains(b, []byte("<!DOCTYPE html>")) {
		t.Errorf("report.html: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 6 {
		t.Errorf("%d files in the output directory (a temporary left behind?)", len(entries))
	}
}

func TestRunRefusesBeforeRunning(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-duration", "-1h"}, "-duration -1h0m0s must not be negative"},
		{[]string{"-duration", "87600h"}, "over the limit of 744h0m0s (MaxDuration)"},
		{[]string{"-duration", "87600h", "-max-duration", "100000h"}, "would be about"},
		{[]string{"-duration", "87600h", "-max-duration", "100000h", "-max-output-bytes", "1000000000000"}, "MaxSeriesValues"},
		{[]string{"-max-replicas", "0"}, "-max-replicas 0 must be in"},
		{[]string{"-max-pods", "-1"}, "must be positive"},
	}
	for _, tc := range cases {
		var out, errOut bytes.Buffer
		err := run(append([]string{"-q", "-out", dir}, tc.args...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused runs wrote %d files", len(entries))
	}
	// A scenario over a limit passes with the flag raised.
	sc := filepath.Join(dir, "big.yaml")
	os.WriteFile(sc, []byte(`name: big
duration: 1h
workloads:
  - {name: w, cpu: 1, memory: 1Gi, service: {cpuPerRequest: 1m}, load: {type: constant, value: 1}}
groups:
  - {name: g, cpu: 4, memory: 16Gi, max: 6000}
`), 0o644)
	var out, errOut bytes.Buffer
	if err := run([]string{"-q", "-scenario", sc, "-out", dir}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "-max-nodes") {
		t.Fatalf("over max nodes: %v", err)
	}
	if err := run([]string{"-q", "-scenario", sc, "-out", dir, "-max-nodes", "6000"}, &out, &errOut); err != nil {
		t.Fatalf("raised: %v", err)
	}
}
