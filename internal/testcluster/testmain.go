package testcluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// shared is the one cluster of a test binary: started by the first Shared call, stopped when
// Main's m.Run returns.
var shared struct {
	mu      sync.Mutex
	main    bool // Main is running
	opts    Options
	started bool
	cluster *Cluster
	err     error
}

// StartTimeout bounds how long Shared waits for the cluster to build and start. Building from
// cold takes minutes (run `make testcluster` first, as `make test` does); starting takes seconds.
var StartTimeout = 20 * time.Minute

// Main runs a package's tests with a shared cluster, started on first use by Shared and torn
// down after the tests, and returns the exit code for os.Exit. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }
//
// With -short, or when no test calls Shared, no cluster starts. If the tests fail, the
// cluster's directory (logs, certificates, etcd data) is kept and its path printed.
func Main(m *testing.M, opts Options) int {
	shared.mu.Lock()
	shared.main, shared.opts = true, opts
	shared.mu.Unlock()

	// On Ctrl-C or SIGTERM, stop the processes before exiting; the parent-death signal would
	// kill them anyway, but only this removes the temporary directory.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sigc; ok {
			stopShared(false)
			os.Exit(1)
		}
	}()
	code := m.Run()
	signal.Stop(sigc)
	close(sigc)
	stopShared(code != 0)
	return code
}

func stopShared(failed bool) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if c := shared.cluster; c != nil {
		if failed {
			c.opts.KeepDir = true
		}
		c.Stop()
		shared.cluster = nil
	}
	shared.err = fmt.Errorf("testcluster: the shared cluster was stopped")
}

// Shared returns the test binary's cluster, starting it on the first call (building binaries
// if they are missing). It skips the test under -short, and fails it if the cluster cannot
// start or TestMain does not call Main. When the test fails, the tails of the component logs are
// added to its output.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("testcluster: call testcluster.Main from the package's TestMain to use Shared")
	}
	if !shared.started {
		shared.started = true
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		shared.cluster, shared.err = Start(ctx, shared.opts)
		cancel()
		if shared.err == nil {
			tm := shared.cluster.Timings
			t.Logf("testcluster: started in %s (binaries found or built in %s, kube-apiserver ready after %s)",
				tm.Ready.Round(time.Millisecond), tm.Build.Round(time.Millisecond), tm.APIServer.Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	c := shared.cluster
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testcluster: component logs in %s\n%s", c.Dir(), c.LogTails(15))
		}
	})
	return c
}

// Require skips the test when go test runs with -short, the quick-loop mode in which no
// control plane starts. Shared calls it; call it directly in tests that need the binaries but
// not the shared cluster.
func Require(t testing.TB) {
	t.Helper()
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		t.Skip("testcluster: skipped with -short (needs a real control plane)")
	}
}
