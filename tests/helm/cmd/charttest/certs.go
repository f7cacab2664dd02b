// Throwaway TLS files laid out as a mounted kubernetes.io/tls Secret with a CA: tls.crt, tls.key, ca.crt.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// writeTLSFiles makes one CA and, for each name, a directory holding a certificate it signed
// (valid for the name and localhost, for servers and clients), its key and the CA certificate.
func writeTLSFiles(directory string, names []string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTemplate := certificateTemplate("s2s-proxy chart test CA", 1)
	caTemplate.IsCA = true
	caTemplate.BasicConstraintsValid = true
	caTemplate.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCertificate, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	for i, name := range names {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		leaf := certificateTemplate(name, int64(i+2))
		leaf.DNSNames = []string{name, "localhost"}
		leaf.KeyUsage = x509.KeyUsageDigitalSignature
		leaf.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		der, err := x509.CreateCertificate(rand.Reader, leaf, caCertificate, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		secret := filepath.Join(directory, name)
		if err := os.MkdirAll(secret, 0o755); err != nil {
			return err
		}
		files := map[string]*pem.Block{
			"tls.crt": {Type: "CERTIFICATE", Bytes: der},
			"tls.key": {Type: "PRIVATE KEY", Bytes: keyDER},
			"ca.crt":  {Type: "CERTIFICATE", Bytes: caDER},
		}
		for file, block := range files {
			if err := os.WriteFile(filepath.Join(secret, file), pem.EncodeToMemory(block), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

func certificateTemplate(commonName string, serial int64) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}
}
