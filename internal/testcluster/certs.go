package testcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the cluster's key material, generated fresh for every start and written under dir.
// ECDSA P-256 throughout: key generation takes microseconds, where RSA would cost a second on a
// busy machine. Every file name below is a field so callers never build paths by hand.
type pki struct {
	dir string

	caCert       []byte // PEM of the cluster CA: signs every serving certificate and client certs
	caFile       string
	frontProxyCA string // CA of the aggregation layer's client certificate (--requestheader-client-ca-file)

	apiserverCert, apiserverKey   string
	frontProxyCert, frontProxyKey string // the aggregator's client certificate (CN front-proxy-client)
	metricsCert, metricsKey       string // metrics-server's serving certificate
	adapterCert, adapterKey       string // the custom metrics adapter's serving certificate

	saKey, saPub string // service account token signing key pair
}

// Service names the aggregated API servers are reached by; their serving certificates carry
// <name>.<namespace>.svc, which is the name the aggregator checks.
const (
	metricsServerService = "metrics-server"
	adapterService       = "kscale-testcluster-metrics-adapter"
	systemNamespace      = "kube-system"
)

type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("testcluster: %w", err)
	}
	p := &pki{dir: dir}
	path := func(name string) string { return filepath.Join(dir, name) }

	ca, err := newCA("kscale-testcluster-ca")
	if err != nil {
		return nil, err
	}
	fpCA, err := newCA("kscale-testcluster-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	p.caCert = pemCert(ca.cert)
	p.caFile = path("ca.crt")
	p.frontProxyCA = path("front-proxy-ca.crt")
	if err := writePEM(p.caFile, p.caCert); err != nil {
		return nil, err
	}
	if err := writePEM(p.frontProxyCA, pemCert(fpCA.cert)); err != nil {
		return nil, err
	}

	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.ParseIP(kubernetesServiceIP)}
	leaves := []struct {
		cert, key *string
		name      string
		signer    keyPair
		dns       []string
		ips       []net.IP
		usage     x509.ExtKeyUsage
	}{
		{&p.apiserverCert, &p.apiserverKey, "kube-apiserver", ca,
			[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			loopback, x509.ExtKeyUsageServerAuth},
		{&p.metricsCert, &p.metricsKey, metricsServerService, ca,
			[]string{"localhost", metricsServerService + "." + systemNamespace + ".svc"}, loopback[:1], x509.ExtKeyUsageServerAuth},
		{&p.adapterCert, &p.adapterKey, adapterService, ca,
			[]string{"localhost", adapterService + "." + systemNamespace + ".svc"}, loopback[:1], x509.ExtKeyUsageServerAuth},
		{&p.frontProxyCert, &p.frontProxyKey, "front-proxy-client", fpCA, nil, nil, x509.ExtKeyUsageClientAuth},
	}
	for _, l := range leaves {
		kp, err := newLeaf(l.signer, l.name, l.dns, l.ips, l.usage)
		if err != nil {
			return nil, err
		}
		*l.cert, *l.key = path(l.name+".crt"), path(l.name+".key")
		if err := writePEM(*l.cert, pemCert(kp.cert)); err != nil {
			return nil, err
		}
		if err := writeKey(*l.key, kp.key); err != nil {
			return nil, err
		}
	}

	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcluster: service account key: %w", err)
	}
	p.saKey, p.saPub = path("sa.key"), path("sa.pub")
	if err := writeKey(p.saKey, sa); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("testcluster: service account key: %w", err)
	}
	if err := writePEM(p.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})); err != nil {
		return nil, err
	}
	return p, nil
}

func newCA(name string) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("testcluster: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return keyPair{}, fmt.Errorf("testcluster: CA %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("testcluster: CA %s: %w", name, err)
	}
	return keyPair{cert: cert, key: key}, nil
}

func newLeaf(ca keyPair, cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("testcluster: key for %s: %w", cn, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("testcluster: certificate for %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("testcluster: certificate for %s: %w", cn, err)
	}
	return keyPair{cert: cert, key: key}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil { // crypto/rand does not fail on Linux; keep certificates distinct anyway
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writePEM(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	return nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("testcluster: private key %s: %w", path, err)
	}
	return writePEM(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
