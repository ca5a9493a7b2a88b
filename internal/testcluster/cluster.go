package testcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	serviceCIDR         = "10.0.0.0/24"
	kubernetesServiceIP = "10.0.0.1"
)

// Options configures a cluster. The zero value is the default cluster: every controller of
// kube-controller-manager except the horizontal pod autoscaler, metrics-server scraping every
// 10 s, progress printed to standard error.
type Options struct {
	// ControllerManager chooses kube-controller-manager's controllers and flags.
	ControllerManager ControllerManagerOptions
	// MetricResolution is metrics-server's --metric-resolution: how often it scrapes the kwok
	// nodes. Zero means 10 s, the smallest value metrics-server accepts.
	MetricResolution time.Duration
	// Build says where the binaries are cached (see Build).
	Build BuildOptions
	// Log receives progress lines while building and starting. Nil means os.Stderr.
	Log io.Writer
	// KeepDir keeps the temporary directory (certificates, logs, etcd data) after Stop.
	// The environment variable KSCALE_TESTCLUSTER_KEEP=1 does the same.
	KeepDir bool
}

// ControllerManagerOptions configures kube-controller-manager.
type ControllerManagerOptions struct {
	// HPA turns kube-controller-manager's own horizontal-pod-autoscaling controller on with
	// these settings; nil (the default) leaves it off, so only the autoscaler under test acts.
	HPA *HPAControllerOptions
	// ExtraFlags are appended to the command line (later flags win), e.g.
	// "--node-monitor-grace-period=20s".
	ExtraFlags []string
}

// HPAControllerOptions are the --horizontal-pod-autoscaler-* flags of kube-controller-manager.
// A zero field leaves upstream's default; to pass an explicit zero, use ExtraFlags.
type HPAControllerOptions struct {
	SyncPeriod              time.Duration // --horizontal-pod-autoscaler-sync-period (default 15s)
	DownscaleStabilization  time.Duration // --horizontal-pod-autoscaler-downscale-stabilization (default 5m)
	Tolerance               float64       // --horizontal-pod-autoscaler-tolerance (default 0.1)
	CPUInitializationPeriod time.Duration // --horizontal-pod-autoscaler-cpu-initialization-period (default 5m)
	InitialReadinessDelay   time.Duration // --horizontal-pod-autoscaler-initial-readiness-delay (default 30s)
}

// Cluster is a running control plane: etcd, kube-apiserver, kube-scheduler,
// kube-controller-manager, kwok, metrics-server and the in-process custom/external metrics
// adapter, all on 127.0.0.1. Its methods are safe for concurrent use. Stop tears it down.
type Cluster struct {
	opts Options
	log  io.Writer
	bins *Binaries
	dir  string
	pki  *pki

	cfg        *rest.Config
	admin      *kubernetes.Clientset
	kubeconfig string

	ports struct{ etcd, etcdPeer, apiserver, kwok, metricsServer int }

	mu        sync.Mutex
	procs     map[string]*process // by component name
	kcmOpts   ControllerManagerOptions
	adapter   *adapterServer
	stopAdapt context.CancelFunc
	stopped   bool

	// Timings of the start, for reports: how long Build and the start-up took.
	Timings Timings
}

// Timings records how long the steps of Start took.
type Timings struct {
	Build      time.Duration // finding (or building) the binaries
	APIServer  time.Duration // from the start of etcd to kube-apiserver's /readyz
	Ready      time.Duration // from the start of etcd to every APIService Available
	BuiltFresh bool          // whether Build compiled anything
}

// Component names, as used for log files (<Dir>/<name>.log) and LogTail.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	Scheduler         = "kube-scheduler"
	ControllerManager = "kube-controller-manager"
	Kwok              = "kwok"
	MetricsServer     = "metrics-server"
)

var componentOrder = []string{Etcd, APIServer, Scheduler, ControllerManager, Kwok, MetricsServer}

// Start builds what is missing (see Build), then starts a cluster and waits until it serves:
// kube-apiserver ready, the controller manager creating ServiceAccounts, kwok serving, and the
// metrics.k8s.io, custom.metrics.k8s.io and external.metrics.k8s.io APIServices Available.
// On error, everything started is stopped and the error carries the tail of each log.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.MetricResolution == 0 {
		opts.MetricResolution = 10 * time.Second
	}
	if opts.MetricResolution < 10*time.Second {
		return nil, fmt.Errorf("testcluster: Options.MetricResolution %s: metrics-server refuses less than 10s", opts.MetricResolution)
	}
	if os.Getenv("KSCALE_TESTCLUSTER_KEEP") == "1" {
		opts.KeepDir = true
	}
	log := opts.Log
	if log == nil {
		log = os.Stderr
	}
	if opts.Build.Log == nil {
		opts.Build.Log = log
	}
	bins, err := Build(ctx, opts.Build)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kscale-testcluster-")
	if err != nil {
		return nil, fmt.Errorf("testcluster: %w", err)
	}
	c := &Cluster{opts: opts, log: log, bins: bins, dir: dir, procs: map[string]*process{}, kcmOpts: opts.ControllerManager}
	c.Timings.Build, c.Timings.BuiltFresh = bins.Elapsed, bins.Built
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, c.LogTails(25))
			c.Stop()
		}
	}()
	started := time.Now()
	if err := c.prepare(); err != nil {
		return nil, err
	}
	if err := c.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return nil, err
	}
	c.Timings.APIServer = time.Since(started)
	if err := c.startScheduler(); err != nil {
		return nil, err
	}
	if err := c.StartControllerManager(ctx, opts.ControllerManager); err != nil {
		return nil, err
	}
	if err := c.startKwok(ctx); err != nil {
		return nil, err
	}
	if err := c.startMetricsServer(ctx); err != nil {
		return nil, err
	}
	if err := c.startMetricsAdapter(ctx); err != nil {
		return nil, err
	}
	if err := c.waitAPIServices(ctx); err != nil {
		return nil, err
	}
	if err := c.waitServiceAccount(ctx, "default", "default"); err != nil {
		return nil, err
	}
	c.Timings.Ready = time.Since(started)
	fmt.Fprintf(log, "testcluster: control plane ready in %s (logs in %s)\n", c.Timings.Ready.Round(time.Millisecond), dir)
	return c, nil
}

// prepare writes certificates, the token file and the admin kubeconfig, and picks ports.
func (c *Cluster) prepare() error {
	var err error
	if c.pki, err = newPKI(filepath.Join(c.dir, "pki")); err != nil {
		return err
	}
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	c.ports.etcd, c.ports.etcdPeer, c.ports.apiserver, c.ports.kwok, c.ports.metricsServer = ports[0], ports[1], ports[2], ports[3], ports[4]

	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return fmt.Errorf("testcluster: token: %w", err)
	}
	token := hex.EncodeToString(tok)
	if err := os.WriteFile(filepath.Join(c.dir, "tokens.csv"), []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	c.cfg = &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(c.ports.apiserver),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caCert},
		QPS:             100,
		Burst:           200,
	}
	if c.admin, err = kubernetes.NewForConfig(c.cfg); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testcluster"] = &clientcmdapi.Cluster{Server: c.cfg.Host, CertificateAuthorityData: c.pki.caCert}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["testcluster"] = &clientcmdapi.Context{Cluster: "testcluster", AuthInfo: "admin"}
	kc.CurrentContext = "testcluster"
	if err := clientcmd.WriteToFile(*kc, c.kubeconfig); err != nil {
		return fmt.Errorf("testcluster: kubeconfig: %w", err)
	}
	return nil
}

func (c *Cluster) start(name, bin string, args ...string) (*process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errors.New("testcluster: cluster stopped")
	}
	p, err := startProcess(c.dir, name, bin, args)
	if err != nil {
		return nil, err
	}
	c.procs[name] = p
	return p, nil
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	client := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcd)
	peer := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdPeer)
	p, err := c.start(Etcd, c.bins.Etcd,
		"--name=testcluster",
		"--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=testcluster="+peer,
		"--unsafe-no-fsync", // a test cluster's data dies with it; fsync only slows a busy disk
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	return waitFor(ctx, "etcd /health", time.Minute, []*process{p}, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, client+"/health", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return false, nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`), nil
	})
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	k := c.pki
	p, err := c.start(APIServer, c.bins.APIServer,
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(c.ports.etcd),
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(c.ports.apiserver),
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // Endpoints may not hold a loopback address
		"--cert-dir="+filepath.Join(c.dir, "apiserver-certs"),
		"--tls-cert-file="+k.apiserverCert,
		"--tls-private-key-file="+k.apiserverKey,
		"--client-ca-file="+k.caFile,
		"--token-auth-file="+filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range="+serviceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+k.saPub,
		"--service-account-signing-key-file="+k.saKey,
		// The aggregation layer: the aggregator proxies with the front-proxy client certificate;
		// aggregated servers trust its CA and the user/group headers it sets.
		"--requestheader-client-ca-file="+k.frontProxyCA,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+k.frontProxyCert,
		"--proxy-client-key-file="+k.frontProxyKey,
		// Without kube-proxy a ClusterIP leads nowhere: the aggregator resolves each APIService's
		// Service itself, and an ExternalName Service names 127.0.0.1 (as kwokctl wires it).
		"--enable-aggregator-routing=false",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	return waitFor(ctx, "kube-apiserver /readyz", 2*time.Minute, []*process{p}, func(ctx context.Context) (bool, error) {
		_, err := c.admin.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	})
}

func (c *Cluster) componentKubeconfigFlags() []string {
	return []string{
		"--kubeconfig=" + c.kubeconfig,
		"--authentication-kubeconfig=" + c.kubeconfig,
		"--authorization-kubeconfig=" + c.kubeconfig,
	}
}

func (c *Cluster) startScheduler() error {
	args := append(c.componentKubeconfigFlags(), "--leader-elect=false", "--secure-port=0")
	_, err := c.start(Scheduler, c.bins.Scheduler, args...)
	return err
}

// StopControllerManager stops kube-controller-manager (for a restart test, or to hand a target
// from its HPA controller to another autoscaler). While it is stopped nothing runs its
// controllers: ReplicaSets do not create pods, new namespaces get no default ServiceAccount and
// new nodes keep the not-ready taint.
func (c *Cluster) StopControllerManager() {
	c.mu.Lock()
	p := c.procs[ControllerManager]
	delete(c.procs, ControllerManager)
	c.mu.Unlock()
	p.stop(10 * time.Second)
}

// StartControllerManager starts kube-controller-manager with opts, stopping a running one
// first. Start calls it with Options.ControllerManager; a test can call it again to turn the
// built-in HPA controller on or off within one test binary.
func (c *Cluster) StartControllerManager(ctx context.Context, opts ControllerManagerOptions) error {
	c.StopControllerManager()
	controllers := "*,-horizontal-pod-autoscaler-controller"
	if opts.HPA != nil {
		controllers = "*"
	}
	args := append(c.componentKubeconfigFlags(),
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers="+controllers,
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+c.pki.saKey,
		"--root-ca-file="+c.pki.caFile,
	)
	if h := opts.HPA; h != nil {
		if h.SyncPeriod > 0 {
			args = append(args, "--horizontal-pod-autoscaler-sync-period="+h.SyncPeriod.String())
		}
		if h.DownscaleStabilization > 0 {
			args = append(args, "--horizontal-pod-autoscaler-downscale-stabilization="+h.DownscaleStabilization.String())
		}
		if h.Tolerance > 0 {
			args = append(args, "--horizontal-pod-autoscaler-tolerance="+strconv.FormatFloat(h.Tolerance, 'g', -1, 64))
		}
		if h.CPUInitializationPeriod > 0 {
			args = append(args, "--horizontal-pod-autoscaler-cpu-initialization-period="+h.CPUInitializationPeriod.String())
		}
		if h.InitialReadinessDelay > 0 {
			args = append(args, "--horizontal-pod-autoscaler-initial-readiness-delay="+h.InitialReadinessDelay.String())
		}
	}
	args = append(args, opts.ExtraFlags...)
	p, err := c.start(ControllerManager, c.bins.ControllerManager, args...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.kcmOpts = opts
	c.mu.Unlock()
	// No health port (--secure-port=0): a flag error shows as an early exit.
	select {
	case <-p.done:
		return p.exited()
	case <-time.After(500 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cluster) startKwok(ctx context.Context) error {
	port := strconv.Itoa(c.ports.kwok)
	args := []string{
		"--kubeconfig=" + c.kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
		"--node-ip=127.0.0.1",
		"--node-port=" + port,
		"--server-address=127.0.0.1:" + port,
		"--node-lease-duration-seconds=40",
	}
	for _, f := range c.bins.KwokConfigs {
		args = append(args, "--config="+f)
	}
	p, err := c.start(Kwok, c.bins.Kwok, args...)
	if err != nil {
		return err
	}
	return waitFor(ctx, "kwok /healthz", time.Minute, []*process{p}, func(ctx context.Context) (bool, error) {
		resp, err := c.kwokGet(ctx, "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// waitFor polls cond every 100 ms until it is true, it fails, timeout passes, or one of procs
// exits (then the error says which, and the log tails in Start's error say why).
func waitFor(ctx context.Context, what string, timeout time.Duration, procs []*process, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		for _, p := range procs {
			if err := p.exited(); err != nil {
				return fmt.Errorf("testcluster: waiting for %s: %w", what, err)
			}
		}
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("testcluster: waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("testcluster: waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testcluster: free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Stop stops every component (SIGTERM, then SIGKILL after a grace period) and removes the
// temporary directory unless Options.KeepDir is set. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	procs := c.procs
	c.procs = map[string]*process{}
	stopAdapt := c.stopAdapt
	c.mu.Unlock()
	if stopAdapt != nil {
		stopAdapt()
	}
	// Reverse start order: clients of the API server first, etcd last.
	for i := len(componentOrder) - 1; i >= 0; i-- {
		procs[componentOrder[i]].stop(5 * time.Second)
	}
	if c.opts.KeepDir {
		fmt.Fprintf(c.log, "testcluster: kept %s\n", c.dir)
		return
	}
	os.RemoveAll(c.dir)
}

// Dir is the cluster's temporary directory: pki/, etcd/, kubeconfig and one <component>.log each.
func (c *Cluster) Dir() string { return c.dir }

// KubeconfigPath is an admin kubeconfig for the cluster (kubectl --kubeconfig=...).
func (c *Cluster) KubeconfigPath() string { return c.kubeconfig }

// LogTail returns the last n lines of a component's log (Etcd, APIServer, ...).
func (c *Cluster) LogTail(component string, n int) string {
	c.mu.Lock()
	p := c.procs[component]
	c.mu.Unlock()
	if p == nil {
		data, err := os.ReadFile(filepath.Join(c.dir, component+".log"))
		if err != nil {
			return ""
		}
		return tail(string(data), n)
	}
	return p.logTail(n)
}

// LogTails returns the last n lines of every component's log, each under a header.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, name := range componentOrder {
		if t := c.LogTail(name, n); t != "" {
			fmt.Fprintf(&b, "----- %s (last %d lines of %s) -----\n%s\n", name, n, filepath.Join(c.dir, name+".log"), t)
		}
	}
	return b.String()
}
