package testcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// EnvDir names the environment variable that moves the binary cache. The binaries go to
// $KSCALE_TESTCLUSTER_DIR/<key>, where <key> is a hash of the pinned versions and of the
// wrapper modules under tools/; without it, to $XDG_CACHE_HOME/kscale/testcluster/<key>
// (or the OS's user cache directory, ~/.cache on Linux).
const EnvDir = "KSCALE_TESTCLUSTER_DIR"

// BuildOptions configures Build. The zero value builds into the default cache directory and
// prints progress to standard error.
type BuildOptions struct {
	// Dir is the cache's base directory; the binaries go to Dir/<key>. Empty means
	// $KSCALE_TESTCLUSTER_DIR, else $XDG_CACHE_HOME/kscale/testcluster, else the user cache
	// directory + kscale/testcluster.
	Dir string
	// Log receives progress lines and the go command's output. Nil means os.Stderr.
	Log io.Writer
	// Go is the go command. Empty means "go" from PATH.
	Go string
}

// Binaries locates a built control plane: the executables and kwok's --config files.
type Binaries struct {
	Dir                                           string // the cache directory holding everything below
	Etcd, APIServer, Scheduler, ControllerManager string
	Kwok, MetricsServer                           string
	KwokConfigs                                   []string // kwok stage, metric and usage files, each passed as --config
	Built                                         bool     // whether this call built anything (false: all reused)
	Elapsed                                       time.Duration
}

// Build makes sure every binary of the control plane is in the cache and returns where they
// are. What is already there is reused without running the go command; what is missing is built
// from the wrapper modules under tools/ (downloading from the Go module proxy on first use).
// A file lock serializes concurrent calls, so two test binaries starting at once build once.
// A cold build takes several minutes per binary (see the package README for measured times).
func Build(ctx context.Context, opts BuildOptions) (*Binaries, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = os.Stderr
	}
	toolsDir, err := findToolsDir()
	if err != nil {
		return nil, err
	}
	key, err := cacheKey(toolsDir)
	if err != nil {
		return nil, err
	}
	base, err := cacheBase(opts.Dir)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, key)
	bins := layout(dir)
	if bins.complete() {
		bins.Elapsed = time.Since(start)
		return bins, nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("testcluster: cache directory: %w", err)
	}
	fmt.Fprintf(log, "testcluster: control plane binaries are missing from %s; building them (first run: several minutes)\n", dir)
	unlock, err := lockFile(ctx, filepath.Join(base, key+".lock"), log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if bins.complete() { // built by another process while we waited for the lock
		bins.Elapsed = time.Since(start)
		return bins, nil
	}
	goCmd := opts.Go
	if goCmd == "" {
		if goCmd, err = exec.LookPath("go"); err != nil {
			return nil, fmt.Errorf("testcluster: the go command is needed to build the control plane: %w", err)
		}
	}
	b := builder{goCmd: goCmd, toolsDir: toolsDir, log: log}
	for i, t := range tools {
		out := filepath.Join(dir, "bin", t.name)
		if isFile(out) {
			fmt.Fprintf(log, "testcluster: [%d/%d] %s already built\n", i+1, len(tools), t.name)
			continue
		}
		if err := b.buildTool(ctx, t, out, i+1); err != nil {
			return nil, err
		}
	}
	if err := b.copyKwokConfigs(ctx, filepath.Join(dir, "kwok")); err != nil {
		return nil, err
	}
	manifest := fmt.Sprintf("kubernetes %s\netcd %s\nkwok %s\nmetrics-server %s\nbuilt %s with %s in %s\n",
		KubernetesVersion, EtcdVersion, KwokVersion, MetricsServerVersion,
		time.Now().UTC().Format(time.RFC3339), b.goVersion(ctx), time.Since(start).Round(time.Second))
	if err := writeFileAtomic(filepath.Join(dir, "complete"), []byte(manifest)); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "testcluster: control plane built in %s into %s\n", time.Since(start).Round(time.Second), dir)
	bins.Built = true
	bins.Elapsed = time.Since(start)
	return bins, nil
}

func layout(dir string) *Binaries {
	bin := func(name string) string { return filepath.Join(dir, "bin", name) }
	b := &Binaries{
		Dir:               dir,
		Etcd:              bin("etcd"),
		APIServer:         bin("kube-apiserver"),
		Scheduler:         bin("kube-scheduler"),
		ControllerManager: bin("kube-controller-manager"),
		Kwok:              bin("kwok"),
		MetricsServer:     bin("metrics-server"),
	}
	for _, f := range kwokConfigs {
		b.KwokConfigs = append(b.KwokConfigs, filepath.Join(dir, "kwok", filepath.Base(f)))
	}
	return b
}

// complete reports whether a previous Build finished in this directory. The marker is written
// last, and every file before it is renamed into place whole, so a killed build is resumed.
func (b *Binaries) complete() bool {
	if !isFile(filepath.Join(b.Dir, "complete")) {
		return false
	}
	for _, p := range append([]string{b.Etcd, b.APIServer, b.Scheduler, b.ControllerManager, b.Kwok, b.MetricsServer}, b.KwokConfigs...) {
		if !isFile(p) {
			return false
		}
	}
	return true
}

type builder struct {
	goCmd, toolsDir string
	log             io.Writer
}

// goEnv is the environment for the go command: the caller's, with the settings that would make
// the build depend on the caller's shell replaced (a go.work above the repo, -mod=vendor, VCS
// stamping, which fails in CI checkouts owned by another user).
func (b builder) goEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOWORK=") || strings.HasPrefix(kv, "GOFLAGS=")
	})
	return append(env, "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
}

func (b builder) buildTool(ctx context.Context, t tool, out string, n int) error {
	started := time.Now()
	fmt.Fprintf(b.log, "testcluster: [%d/%d] building %s (%s) ...\n", n, len(tools), t.name, t.pkg)
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	cmd := exec.CommandContext(ctx, b.goCmd, "build", "-ldflags="+t.ldflags, "-o", tmp, t.pkg)
	cmd.Dir = filepath.Join(b.toolsDir, t.module)
	cmd.Env = b.goEnv()
	var stderr bytes.Buffer
	cmd.Stdout = b.log
	cmd.Stderr = io.MultiWriter(b.log, &stderr)
	stop := b.ticker(t.name, started)
	err := cmd.Run()
	stop()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("testcluster: go build %s in %s: %w\n%s", t.pkg, cmd.Dir, err, tail(stderr.String(), 40))
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	fmt.Fprintf(b.log, "testcluster: [%d/%d] built %s in %s\n", n, len(tools), t.name, time.Since(started).Round(time.Second))
	return nil
}

// ticker prints a line every minute while a build runs, so a CI log shows it is not stuck.
func (b builder) ticker(name string, started time.Time) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(b.log, "testcluster:       still building %s (%s)\n", name, time.Since(started).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

func (b builder) goVersion(ctx context.Context) string {
	cmd := exec.CommandContext(ctx, b.goCmd, "env", "GOVERSION")
	cmd.Env = b.goEnv()
	out, err := cmd.Output()
	if err != nil {
		return "go (unknown version)"
	}
	return strings.TrimSpace(string(out))
}

// copyKwokConfigs copies kwok's stage and metrics files out of the module cache into the binary
// cache, so starting a cluster needs neither the go command nor the module cache.
func (b builder) copyKwokConfigs(ctx context.Context, dst string) error {
	cmd := exec.CommandContext(ctx, b.goCmd, "mod", "download", "-json", "sigs.k8s.io/kwok@"+KwokVersion)
	cmd.Dir = filepath.Join(b.toolsDir, "kwok")
	cmd.Env = b.goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("testcluster: go mod download sigs.k8s.io/kwok@%s: %w\n%s", KwokVersion, err, stderr.String())
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return fmt.Errorf("testcluster: go mod download -json output: %w", err)
	}
	if mod.Dir == "" {
		return fmt.Errorf("testcluster: go mod download sigs.k8s.io/kwok@%s: no module directory (%s)", KwokVersion, mod.Error)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	for _, f := range kwokConfigs {
		data, err := os.ReadFile(filepath.Join(mod.Dir, filepath.FromSlash(f)))
		if err != nil {
			return fmt.Errorf("testcluster: kwok config: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(dst, filepath.Base(f)), data); err != nil {
			return err
		}
	}
	return nil
}

// findToolsDir locates tools/ beside this source file. The harness is only ever compiled from a
// checkout of the repository (it is internal), so the path recorded by the compiler is valid.
func findToolsDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("testcluster: cannot locate the source directory (runtime.Caller failed)")
	}
	dir := filepath.Join(filepath.Dir(file), "tools")
	if !isFile(filepath.Join(dir, "kube", "go.mod")) {
		return "", fmt.Errorf("testcluster: wrapper modules not found at %s (built with -trimpath, or outside the repository?)", dir)
	}
	return dir, nil
}

// cacheKey hashes everything that decides the binaries' content: the tool list with its flags
// and every file of the wrapper modules (go.mod and go.sum pin all versions).
func cacheKey(toolsDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s/%s\n", runtime.GOOS, runtime.GOARCH)
	for _, t := range tools {
		fmt.Fprintf(h, "%s|%s|%s|%s\n", t.name, t.module, t.pkg, t.ldflags)
	}
	for _, f := range kwokConfigs {
		fmt.Fprintf(h, "kwok-config %s\n", f)
	}
	var files []string
	err := filepath.WalkDir(toolsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name := d.Name(); !d.IsDir() && (name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testcluster: reading %s: %w", toolsDir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("testcluster: %w", err)
		}
		rel, _ := filepath.Rel(toolsDir, f)
		fmt.Fprintf(h, "file %s %d\n", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func cacheBase(dir string) (string, error) {
	if dir != "" {
		return filepath.Abs(dir)
	}
	if d := os.Getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kscale", "testcluster"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testcluster: no cache directory (set %s): %w", EnvDir, err)
	}
	return filepath.Join(d, "kscale", "testcluster"), nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func writeFileAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("testcluster: %w", err)
	}
	return nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
