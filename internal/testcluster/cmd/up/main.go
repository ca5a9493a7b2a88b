// Command up starts internal/testcluster's control plane and keeps it running until
// interrupted, for poking at it by hand:
//
//	go run ./internal/testcluster/cmd/up -nodes 2
//	export KUBECONFIG=<the path it prints>
//	kubectl get nodes; kubectl top pods -A
//
// It builds the binaries first if they are missing (see `make testcluster`).
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
	nodes := flag.Int("nodes", 1, "kwok nodes to create (kwok-0, kwok-1, ...), 4 CPU and 16Gi each")
	hpa := flag.Bool("hpa", false, "run kube-controller-manager's own HPA controller")
	keep := flag.Bool("keep", false, "keep the temporary directory (logs, certificates) after exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := testcluster.Options{KeepDir: *keep}
	if *hpa {
		opts.ControllerManager.HPA = &testcluster.HPAControllerOptions{}
	}
	c, err := testcluster.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Stop()
	for i := range *nodes {
		if _, err := c.AddNode(ctx, testcluster.NodeSpec{Name: fmt.Sprintf("kwok-%d", i)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
	}
	fmt.Printf("KUBECONFIG=%s\nlogs in %s; Ctrl-C stops the cluster\n", c.KubeconfigPath(), c.Dir())
	<-ctx.Done()
}
