package testcluster

// The pinned versions of everything the control plane is built from. Each is fixed by a
// wrapper module under tools/ (its go.mod and go.sum); these constants only name them for
// logs and for the cache key, and TestToolVersionsPinned checks they agree.
const (
	KubernetesVersion    = "v1.37.2"
	EtcdVersion          = "v3.6.16"
	KwokVersion          = "v0.8.0"
	MetricsServerVersion = "v0.8.0"
)

// tool is one binary the harness builds from a wrapper module under tools/.
type tool struct {
	name    string // binary name in the cache directory
	module  string // directory under tools/ holding the wrapper go.mod
	pkg     string // package to build, relative to that module
	ldflags string
}

// kubeLDFlags stamps the version the Kubernetes release scripts would, so /version and
// client-side version checks see v1.37.2 instead of v0.0.0-master.
const kubeLDFlags = "-s -w" +
	" -X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
	" -X k8s.io/component-base/version.gitMajor=1" +
	" -X k8s.io/component-base/version.gitMinor=37" +
	" -X k8s.io/component-base/version.gitTreeState=clean"

// tools lists the binaries in build order: the API server first (the longest build, and the
// one most dependencies are shared with), then the small ones.
var tools = []tool{
	{name: "kube-apiserver", module: "kube", pkg: "k8s.io/kubernetes/cmd/kube-apiserver", ldflags: kubeLDFlags},
	{name: "etcd", module: "etcd", pkg: ".", ldflags: "-s -w"},
	{name: "kwok", module: "kwok", pkg: "sigs.k8s.io/kwok/cmd/kwok", ldflags: "-s -w"},
	{name: "metrics-server", module: "metricsserver", pkg: "sigs.k8s.io/metrics-server/cmd/metrics-server", ldflags: "-s -w"},
	{name: "kube-scheduler", module: "kube", pkg: "k8s.io/kubernetes/cmd/kube-scheduler", ldflags: kubeLDFlags},
	{name: "kube-controller-manager", module: "kube", pkg: "k8s.io/kubernetes/cmd/kube-controller-manager", ldflags: kubeLDFlags},
}

// kwokConfigs are the files of sigs.k8s.io/kwok's module that kwok reads with --config: the
// fast node and pod lifecycles, node heartbeats, the emulated kubelet /metrics/resource
// endpoint, and a ClusterResourceUsage that takes each container's usage from pod annotations.
var kwokConfigs = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat/node-heartbeat.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
	"kustomize/metrics/resource/metrics-resource.yaml",
	"kustomize/metrics/usage/usage-from-annotation.yaml",
}
