// Certificates for the mux connection between the proxies: a throwaway CA, a server certificate
// for proxy B and a client certificate for proxy A, written as PEM files.
package main

import (
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

// proxyBServerName is the name proxy B's certificate carries and proxy A checks (caServerName).
const proxyBServerName = "proxy-b.e2e.test"

// certFiles are the paths of the PEM files one scenario uses.
type certFiles struct {
	ca, caKey                 string
	proxyACert, proxyAKey     string
	proxyBCert, proxyBKey     string
	memberCert, memberKey     string // the proxy groups' (replicas): server and client use
	strangerCert, strangerKey string // signed by another CA: proxy B must refuse it
}

type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func newCA(name, certPath, keyPath string) (*issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if keyPath != "" {
		if err := writeKey(keyPath, key); err != nil {
			return nil, err
		}
	}
	return &issuer{cert: cert, key: key}, nil
}

// issue writes a leaf certificate for name, usable as a TLS server (with the name and
// 127.0.0.1 as subject alternative names) or as a TLS client.
func (ca *issuer) issue(name string, server bool, certPath, keyPath string) error {
	if server {
		return ca.leaf(name, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, certPath, keyPath)
	}
	return ca.leaf(name, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, certPath, keyPath)
}

// issueMember writes a leaf for a member of a proxy group, which both accepts and dials its peers.
func (ca *issuer) issueMember(name, certPath, keyPath string) error {
	return ca.leaf(name, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, certPath, keyPath)
}

func (ca *issuer) leaf(name string, usages []x509.ExtKeyUsage, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usages,
	}
	for _, usage := range usages {
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames = []string{name}
			tmpl.IPAddresses = []net.IP{net.ParseIP(host)}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return err
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return err
	}
	return writeKey(keyPath, key)
}

// makeCerts writes a CA, proxy B's server certificate, proxy A's client certificate, and a
// client certificate from an unrelated CA, into dir.
func makeCerts(dir string) (certFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return certFiles{}, err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	f := certFiles{
		ca: p("ca.pem"), caKey: p("ca.key"),
		proxyACert: p("proxy-a.pem"), proxyAKey: p("proxy-a.key"),
		proxyBCert: p("proxy-b.pem"), proxyBKey: p("proxy-b.key"),
		memberCert: p("member.pem"), memberKey: p("member.key"),
		strangerCert: p("stranger.pem"), strangerKey: p("stranger.key"),
	}
	ca, err := newCA("s2s-proxy e2e CA", f.ca, f.caKey)
	if err != nil {
		return f, fmt.Errorf("creating the CA: %w", err)
	}
	if err := ca.issue(proxyBServerName, true, f.proxyBCert, f.proxyBKey); err != nil {
		return f, fmt.Errorf("issuing proxy B's certificate: %w", err)
	}
	if err := ca.issue("proxy-a.e2e.test", false, f.proxyACert, f.proxyAKey); err != nil {
		return f, fmt.Errorf("issuing proxy A's certificate: %w", err)
	}
	if err := ca.issueMember("member.e2e.test", f.memberCert, f.memberKey); err != nil {
		return f, fmt.Errorf("issuing the group members' certificate: %w", err)
	}
	other, err := newCA("unrelated CA", p("other-ca.pem"), "")
	if err != nil {
		return f, err
	}
	if err := other.issue("stranger.e2e.test", false, f.strangerCert, f.strangerKey); err != nil {
		return f, err
	}
	return f, nil
}
