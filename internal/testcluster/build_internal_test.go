package testcluster

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCacheKeyFollowsWrapperModules(t *testing.T) {
	src, err := findToolsDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	k1, err := cacheKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := cacheKey(src); k2 != k1 {
		t.Fatalf("key of a copy %s != key of the original %s", k1, k2)
	}
	// A stray file that is not part of a module does not change the key.
	if err := os.WriteFile(filepath.Join(dir, "etcd", "etcd"), []byte("binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k, _ := cacheKey(dir); k != k1 {
		t.Errorf("a stray binary changed the key")
	}
	// A changed pin does.
	sum := filepath.Join(dir, "kwok", "go.sum")
	data, _ := os.ReadFile(sum)
	if err := os.WriteFile(sum, append(data, "example.com/x v1.0.0 h1:AAAA=\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if k, _ := cacheKey(dir); k == k1 {
		t.Errorf("changing tools/kwok/go.sum kept the key %s", k)
	}
}

// fakeGo writes a shell script standing in for the go command: `go build -o OUT` writes OUT and
// logs the call, `go mod download -json` points at a fake kwok module, `go env` answers.
func fakeGo(t *testing.T) (goCmd, callLog string) {
	t.Helper()
	dir := t.TempDir()
	kwokDir := filepath.Join(dir, "kwok-module")
	for _, f := range kwokConfigs {
		p := filepath.Join(kwokDir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("# "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	callLog = filepath.Join(dir, "calls")
	script := `#!/bin/sh
echo "$@" >> ` + callLog + `
case "$1" in
build) while [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo fake > "$2"; fi; shift; done ;;
mod) echo '{"Path":"sigs.k8s.io/kwok","Dir":"` + kwokDir + `"}' ;;
env) echo go-fake ;;
esac
`
	goCmd = filepath.Join(dir, "go")
	if err := os.WriteFile(goCmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return goCmd, callLog
}

func TestBuildBuildsOnlyWhatIsMissing(t *testing.T) {
	goCmd, calls := fakeGo(t)
	base := t.TempDir()
	var log bytes.Buffer
	bins, err := Build(t.Context(), BuildOptions{Dir: base, Go: goCmd, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !bins.Built || !bins.complete() {
		t.Fatalf("first Build: Built=%v complete=%v", bins.Built, bins.complete())
	}
	data, _ := os.ReadFile(calls)
	if n := strings.Count(string(data), "build "); n != len(tools) {
		t.Errorf("first Build ran go build %d times, want %d:\n%s", n, len(tools), data)
	}
	for _, f := range bins.KwokConfigs {
		if !isFile(f) {
			t.Errorf("kwok config %s not copied", f)
		}
	}
	if !strings.Contains(log.String(), "[6/6] built kube-controller-manager") {
		t.Errorf("no progress line for the last binary in:\n%s", log.String())
	}

	// Everything present: no go command at all.
	os.Remove(calls)
	again, err := Build(t.Context(), BuildOptions{Dir: base, Go: "/nonexistent/go", Log: &log})
	if err != nil || again.Built || again.Dir != bins.Dir {
		t.Fatalf("second Build = %+v, %v; want the same directory, nothing built", again, err)
	}

	// An interrupted build (marker and one binary missing) resumes with just that binary.
	os.Remove(filepath.Join(bins.Dir, "complete"))
	os.Remove(bins.Scheduler)
	if _, err := Build(t.Context(), BuildOptions{Dir: base, Go: goCmd, Log: &log}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(calls)
	if got := strings.Count(string(data), "build "); got != 1 || !strings.Contains(string(data), "cmd/kube-scheduler") {
		t.Errorf("resumed Build ran:\n%s\nwant one go build of kube-scheduler", data)
	}
}

func TestBuildDirFromEnvironment(t *testing.T) {
	t.Setenv(EnvDir, "/tmp/kscale-env-dir")
	if got, _ := cacheBase(""); got != "/tmp/kscale-env-dir" {
		t.Errorf("cacheBase with %s set = %s", EnvDir, got)
	}
	t.Setenv(EnvDir, "")
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	if got, _ := cacheBase(""); got != "/tmp/xdg/kscale/testcluster" {
		t.Errorf("cacheBase with XDG_CACHE_HOME = %s", got)
	}
	if got, _ := cacheBase("/explicit"); got != "/explicit" {
		t.Errorf("cacheBase(explicit) = %s", got)
	}
}

func TestLockFileSerializes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	var log bytes.Buffer
	unlock, err := lockFile(t.Context(), path, &log)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder waits; cancelling its context ends the wait with an error.
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, &log); err == nil {
		t.Fatal("second lockFile succeeded while the lock was held")
	}
	if !strings.Contains(log.String(), "waiting for") {
		t.Errorf("no waiting message, log: %q", log.String())
	}
	unlock()
	unlock2, err := lockFile(t.Context(), path, &log)
	if err != nil {
		t.Fatalf("lockFile after unlock: %v", err)
	}
	unlock2()
}

func TestProcessStopKillsGroup(t *testing.T) {
	dir := t.TempDir()
	// The shell starts a child in the same group and waits; stop must end both.
	p, err := startProcess(dir, "sh", "/bin/sh", []string{"-c", "sleep 300 & echo child $!; wait"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var child int
	for child == 0 && time.Now().Before(deadline) {
		data, _ := os.ReadFile(p.logPath)
		for _, line := range strings.Split(string(data), "\n") {
			if n, ok := strings.CutPrefix(line, "child "); ok {
				child, _ = strconv.Atoi(strings.TrimSpace(n))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatalf("child pid not logged: %s", p.logTail(5))
	}
	p.stop(2 * time.Second)
	if p.exited() == nil {
		t.Error("process still running after stop")
	}
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(child, 0); err == nil {
		// It may linger as a zombie of init for a moment; check its state.
		stat, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if !strings.Contains(string(stat), ") Z") {
			t.Errorf("child %d of the stopped process still runs: %s", child, stat)
		}
	}
}

func TestNamespacePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"TestScaleUp":                  "testscaleup-",
		"TestScale/sub_test#01":        "testscale-sub-test-01-",
		"///":                          "test-",
		strings.Repeat("TestLong", 20): strings.Repeat("testlong", 5) + "-",
	} {
		if got := namespacePrefix(in); got != want {
			t.Errorf("namespacePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHPAControllerOptionsRefuseBadValues(t *testing.T) {
	for name, h := range map[string]*HPAControllerOptions{
		"SyncPeriod":             {SyncPeriod: -time.Second},
		"DownscaleStabilization": {DownscaleStabilization: -time.Minute},
		"Tolerance":              {Tolerance: -0.1},
	} {
		if err := h.validate(); err == nil || !strings.Contains(err.Error(), "HPA."+name) {
			t.Errorf("%s: validate() = %v, want an error naming the field", name, err)
		}
	}
	nan := &HPAControllerOptions{}
	nan.Tolerance = math.NaN()
	if err := nan.validate(); err == nil {
		t.Error("a NaN tolerance was accepted")
	}
	if err := (*HPAControllerOptions)(nil).validate(); err != nil {
		t.Errorf("nil options: %v", err)
	}
	if err := (&HPAControllerOptions{SyncPeriod: 5 * time.Second, Tolerance: 0.05}).validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
