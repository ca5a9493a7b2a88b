package testcluster_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kscale/kscale/internal/testcluster"
)

// TestToolModulesPinned checks that the wrapper modules build what the package says it runs:
// the versions named by the constants, and every staging module of k8s.io/kubernetes replaced by
// its release at the matching v0 version (a missing or stale replace makes the build fail or
// mix versions).
func TestToolModulesPinned(t *testing.T) {
	read := func(p string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("tools", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	requires := func(gomod, path, version string) bool {
		re := `(?m)^(require\s+|\t)` + regexp.QuoteMeta(path+" "+version) + `( // indirect)?$`
		return regexp.MustCompile(re).MatchString(gomod)
	}
	kube := read("kube/go.mod")
	if !requires(kube, "k8s.io/kubernetes", testcluster.KubernetesVersion) {
		t.Errorf("tools/kube/go.mod does not require k8s.io/kubernetes %s", testcluster.KubernetesVersion)
	}
	staging := "v0" + strings.TrimPrefix(testcluster.KubernetesVersion, "v1")
	replaces := regexp.MustCompile(`(?m)^\s*(k8s\.io/[a-z0-9-]+) => (k8s\.io/[a-z0-9-]+) (v\S+)$`).FindAllStringSubmatch(kube, -1)
	if len(replaces) != 33 {
		t.Errorf("tools/kube/go.mod has %d staging replaces, want the 33 of k8s.io/kubernetes's go.mod", len(replaces))
	}
	for _, r := range replaces {
		if r[1] != r[2] || r[3] != staging {
			t.Errorf("replace %s => %s %s, want %s => %s %s", r[1], r[2], r[3], r[1], r[1], staging)
		}
	}
	for _, m := range []struct{ file, path, version string }{
		{"etcd/go.mod", "go.etcd.io/etcd/server/v3", testcluster.EtcdVersion},
		{"kwok/go.mod", "sigs.k8s.io/kwok", testcluster.KwokVersion},
		{"metricsserver/go.mod", "sigs.k8s.io/metrics-server", testcluster.MetricsServerVersion},
	} {
		if !requires(read(m.file), m.path, m.version) {
			t.Errorf("tools/%s does not require %s %s", m.file, m.path, m.version)
		}
	}
	for _, dir := range []string{"kube", "etcd", "kwok", "metricsserver"} {
		if strings.TrimSpace(read(dir+"/go.sum")) == "" {
			t.Errorf("tools/%s/go.sum is empty", dir)
		}
	}
}
