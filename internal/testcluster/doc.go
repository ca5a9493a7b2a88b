// Package testcluster runs a real Kubernetes control plane and metrics pipeline on 127.0.0.1
// for kscale's end-to-end tests: etcd v3.6.16, kube-apiserver, kube-scheduler and
// kube-controller-manager v1.37.2, kwok v0.8.0 emulating nodes and their kubelets'
// /metrics/resource, metrics-server v0.8.0 scraping kwok behind the aggregation layer, and an
// in-process custom/external metrics adapter on sigs.k8s.io/custom-metrics-apiserver v1.37.0,
// also behind the aggregation layer. Nothing is mocked: an autoscaler under test reads
// metrics.k8s.io, custom.metrics.k8s.io and external.metrics.k8s.io through kube-apiserver with
// the k8s.io/metrics clients, as it would in a cluster.
//
// # Use
//
// One cluster per test binary, started by the first test that asks for it:
//
//	func TestMain(m *testing.M) { os.Exit(testcluster.Main(m, testcluster.Options{})) }
//
//	func TestScaleUp(t *testing.T) {
//		c := testcluster.Shared(t)  // skips under -short
//		ns := c.Namespace(t)        // fresh namespace, deleted after the test
//		ctx := t.Context()
//		if _, err := c.AddNode(ctx, testcluster.NodeSpec{Name: "scale-up-0", CPU: resource.MustParse("8")}); err != nil {
//			t.Fatal(err)
//		}
//		t.Cleanup(func() { c.DeleteNode(context.Background(), "scale-up-0") })
//		// Create a Deployment with c.AdminClient(); its pods are scheduled by kube-scheduler
//		// and Running within a second. Put testcluster.UsageAnnotations(cpu, mem) in the pod
//		// template so every replica starts with that usage.
//		// Change one pod's CPU as the kubelet would report it; metrics-server picks it up at its
//		// next scrape (every 10 s):
//		c.SetPodUsage(ctx, ns, "web-abc12", resource.MustParse("800m"), resource.MustParse("64Mi"))
//		// Custom and external metrics, served through the aggregation layer:
//		c.Metrics().SetPodMetric(ns, "web-abc12", "requests_per_second", resource.MustParse("150"))
//		c.Metrics().SetObjectMetric(schema.GroupResource{Group: "apps", Resource: "deployments"}, ns, "web", "queue_length", resource.MustParse("30"))
//		c.Metrics().SetExternalMetric(ns, "sqs_messages", map[string]string{"queue": "jobs"}, resource.MustParse("120"))
//		// Run the autoscaler under test with c.Config(), or as a ServiceAccount to check the RBAC
//		// it ships with: cfg := c.ServiceAccountConfig(t, ns, "autoscaler").
//	}
//
// kube-controller-manager runs every controller except horizontal-pod-autoscaling. For a
// differential test against upstream's HPA controller, turn it on for the whole binary with
// Options{ControllerManager: testcluster.ControllerManagerOptions{HPA: &testcluster.HPAControllerOptions{SyncPeriod: 5 * time.Second}}},
// or switch at run time with StopControllerManager / StartControllerManager.
//
// # Build
//
// The binaries are built from the Go module proxy by the wrapper modules under tools/ (each has
// its own go.mod and go.sum, so the main module does not depend on k8s.io/kubernetes) into a
// cache outside the repository: $KSCALE_TESTCLUSTER_DIR/<key>, else
// $XDG_CACHE_HOME/kscale/testcluster/<key>, else ~/.cache/kscale/testcluster/<key>, where <key>
// hashes the wrapper modules. `make testcluster` (go run ./internal/testcluster/cmd/build) does
// it ahead of the tests; `make test` runs it first, so a cold build never counts against go
// test's timeout. A file lock makes concurrent builds wait for one another.
//
// # Start-up and teardown
//
// Start generates a CA, serving certificates, the front-proxy CA and client certificate and a
// service-account key in a temporary directory (crypto/x509, ECDSA P-256), picks free ports,
// and starts, waiting for each: etcd (/health), kube-apiserver (/readyz; token auth for the
// admin, RBAC, the aggregation-layer flags), kube-scheduler and kube-controller-manager
// (--leader-elect=false, --secure-port=0), kwok (managing nodes annotated
// kwok.x-k8s.io/node=fake), metrics-server and the adapter, each registered through an
// ExternalName Service for 127.0.0.1 and its APIServices, with --enable-aggregator-routing=false
// as kwokctl wires it (no kube-proxy needed). It returns when every APIService is Available.
// Every process runs in its own process group and gets SIGKILL from the kernel if the test
// binary dies; Stop terminates them by pid. Logs go to <Dir>/<component>.log; their tails are
// attached to a failed start and to failed tests that used Shared.
//
// # What it does not do
//
// There is no kubelet, container runtime or kube-proxy: pods never run, Services do not route,
// and pod readiness and usage are whatever kwok's stages and the usage annotations say. Only
// one Cluster can run per process (the adapter's API server registers process-wide state).
package testcluster
