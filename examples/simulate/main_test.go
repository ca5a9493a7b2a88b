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
	if err := run([]string{"-q", "-compare", "none", "-out", dir, "-duration", "1h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
}
