package testcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Config returns a copy of the admin client configuration (user "admin" in system:masters,
// authenticated by token, verifying the API server's certificate against the cluster CA).
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.cfg) }

// AdminClient returns a clientset with the admin configuration.
func (c *Cluster) AdminClient() kubernetes.Interface { return c.admin }

// Metrics returns the in-process custom and external metrics adapter, whose values tests set.
func (c *Cluster) Metrics() *MetricsAdapter { return c.adapter.adapter }

// Namespace creates a fresh namespace named after the test, waits for its default
// ServiceAccount (pods are refused until it exists), and deletes it when the test ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := c.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namespacePrefix(t.Name())},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testcluster: create namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.admin.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testcluster: delete namespace %s: %v", ns.Name, err)
		}
	})
	c.mu.Lock()
	kcmRunning := c.procs[ControllerManager] != nil
	c.mu.Unlock()
	if kcmRunning {
		if err := c.waitServiceAccount(ctx, ns.Name, "default"); err != nil {
			t.Fatal(err)
		}
	}
	return ns.Name
}

// namespacePrefix turns a test name into a valid GenerateName: lower case letters, digits and
// dashes, short enough for the random suffix.
func namespacePrefix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		s = "test"
	}
	return s + "-"
}

func (c *Cluster) waitServiceAccount(ctx context.Context, namespace, name string) error {
	return waitFor(ctx, "ServiceAccount "+namespace+"/"+name, time.Minute, nil, func(ctx context.Context) (bool, error) {
		_, err := c.admin.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// ServiceAccountConfig returns a client configuration authenticated as the ServiceAccount
// namespace/name (created if missing), with a one-hour token from the TokenRequest API, so a
// test sees exactly what RBAC grants that account (system:serviceaccount:<ns>:<name>).
func (c *Cluster) ServiceAccountConfig(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.admin.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("testcluster: create ServiceAccount %s/%s: %v", namespace, name, err)
	}
	expiry := int64(3600)
	tr, err := c.admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testcluster: token for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{
		Host:            c.cfg.Host,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caCert},
		QPS:             c.cfg.QPS,
		Burst:           c.cfg.Burst,
	}
}

// ServiceAccountClient returns a clientset authenticated as the ServiceAccount namespace/name
// (see ServiceAccountConfig).
func (c *Cluster) ServiceAccountClient(t testing.TB, namespace, name string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.ServiceAccountConfig(t, namespace, name))
	if err != nil {
		t.Fatalf("testcluster: %v", fmt.Errorf("client for ServiceAccount %s/%s: %w", namespace, name, err))
	}
	return cs
}
