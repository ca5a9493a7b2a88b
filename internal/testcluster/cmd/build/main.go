// Command build builds (or finds in the cache) the binaries of internal/testcluster's control
// plane: kube-apiserver, kube-scheduler and kube-controller-manager v1.37.2, etcd v3.6.16, kwok
// v0.8.0 and metrics-server v0.8.0. `make testcluster` runs it, and `make test` runs that first,
// so the cold build (several minutes) never counts against go test's timeout.
//
//	go run ./internal/testcluster/cmd/build [-dir DIR]
//
// It prints the cache directory on the last line of standard output.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kscale/kscale/internal/testcluster"
)

func main() {
	dir := flag.String("dir", "", "cache base directory (default $"+testcluster.EnvDir+", else $XDG_CACHE_HOME/kscale/testcluster)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bins, err := testcluster.Build(ctx, testcluster.BuildOptions{Dir: *dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !bins.Built {
		fmt.Fprintf(os.Stderr, "testcluster: control plane binaries up to date (%s)\n", bins.Elapsed.Round(1e6))
	}
	fmt.Println(bins.Dir)
}
