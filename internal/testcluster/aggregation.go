package testcluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
)

var apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// apiServices are the aggregated APIs the cluster registers: metrics-server's resource metrics
// and the in-process adapter's custom and external metrics.
var apiServices = []struct {
	group, version  string
	service         string
	versionPriority int64
}{
	{"metrics.k8s.io", "v1beta1", metricsServerService, 100},
	{"custom.metrics.k8s.io", "v1beta2", adapterService, 200},
	{"custom.metrics.k8s.io", "v1beta1", adapterService, 100},
	{"external.metrics.k8s.io", "v1beta1", adapterService, 100},
}

func (c *Cluster) startMetricsServer(ctx context.Context) error {
	port := c.ports.metricsServer
	args := append(c.componentKubeconfigFlags(),
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+c.dir+"/metrics-server-certs",
		"--tls-cert-file="+c.pki.metricsCert,
		"--tls-private-key-file="+c.pki.metricsKey,
		// kwok emulates each node's kubelet on one HTTPS port with its own certificate, given
		// as the node's InternalIP and status port.
		"--kubelet-insecure-tls",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution="+c.opts.MetricResolution.String(),
		"--kubelet-request-timeout=5s", // must stay below the resolution
	)
	if _, err := c.start(MetricsServer, c.bins.MetricsServer, args...); err != nil {
		return err
	}
	return c.registerService(ctx, metricsServerService, port)
}

func (c *Cluster) startMetricsAdapter(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("testcluster: metrics adapter: %w", err)
	}
	actx, cancel := context.WithCancel(context.Background()) // lives until Stop, not until ctx ends
	s, err := startAdapter(actx, ln, c.pki.adapterCert, c.pki.adapterKey, c.kubeconfig)
	if err != nil {
		cancel()
		ln.Close()
		return err
	}
	c.mu.Lock()
	c.adapter, c.stopAdapt = s, cancel
	c.mu.Unlock()
	return c.registerService(ctx, adapterService, ln.Addr().(*net.TCPAddr).Port)
}

// registerService creates the ExternalName Service through which the aggregator reaches an API
// server on 127.0.0.1:port, and the APIServices it serves, trusting the cluster CA that signed
// its serving certificate (issued for <name>.kube-system.svc, the name the aggregator checks).
func (c *Cluster) registerService(ctx context.Context, name string, port int) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: systemNamespace},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "127.0.0.1",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(port), TargetPort: intstr.FromInt32(int32(port))}},
		},
	}
	if _, err := c.admin.CoreV1().Services(systemNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testcluster: service %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(c.cfg)
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	for _, a := range apiServices {
		if a.service != name {
			continue
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1",
			"kind":       "APIService",
			"metadata":   map[string]any{"name": a.version + "." + a.group},
			"spec": map[string]any{
				"group":                a.group,
				"version":              a.version,
				"groupPriorityMinimum": int64(100),
				"versionPriority":      a.versionPriority,
				"caBundle":             base64.StdEncoding.EncodeToString(c.pki.caCert),
				"service":              map[string]any{"namespace": systemNamespace, "name": name, "port": int64(port)},
			},
		}}
		if _, err := dyn.Resource(apiServiceResource).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("testcluster: APIService %s.%s: %w", a.version, a.group, err)
		}
	}
	return nil
}

// waitAPIServices waits until the aggregator reports every registered APIService Available,
// which it does only after reaching the server behind it with a discovery request.
func (c *Cluster) waitAPIServices(ctx context.Context) error {
	dyn, err := dynamic.NewForConfig(c.cfg)
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	c.mu.Lock()
	procs := []*process{c.procs[APIServer], c.procs[MetricsServer], c.procs[Kwok]}
	c.mu.Unlock()
	for _, a := range apiServices {
		name := a.version + "." + a.group
		var last string
		err := waitFor(ctx, "APIService "+name+" Available", 2*time.Minute, procs, func(ctx context.Context) (bool, error) {
			obj, err := dyn.Resource(apiServiceResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Available" {
					last = fmt.Sprintf("%v: %v", m["reason"], m["message"])
					return m["status"] == "True", nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("%w (condition: %s)", err, last)
		}
	}
	return nil
}
