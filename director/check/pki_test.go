package check

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTestPKI writes a CA's certificate and a certificate and key it
// signed, as PEM files in dir, and returns their paths.
func writeTestPKI(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca := newTestCA(t, "test CA")
	leaf := ca.issue(t, "client", nil, nil)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string][]byte{caFile: ca.certPEM, certFile: leaf.certPEM, keyFile: leaf.keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// testCert is a certificate and its key, parsed and as PEM.
type testCert struct {
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
	certPEM, keyPEM []byte
}

// tls is c as a crypto/tls certificate.
func (c *testCert) tls(t testing.TB) tls.Certificate {
	t.Helper()
	tc, err := tls.X509KeyPair(c.certPEM, c.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// pool is a pool of c alone.
func (c *testCert) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// newTestCA makes a self-signed CA.
func newTestCA(t testing.TB, name string) *testCert {
	t.Helper()
	return makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
}

// issue makes a certificate signed by ca, for the names and addresses
// given, good for servers and clients.
func (ca *testCert) issue(t testing.TB, name string, dnsNames []string, ips []net.IP) *testCert {
	t.Helper()
	return makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, DNSNames: dnsNames, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}, ca)
}

func makeCert(t testing.TB, tmpl *x509.Certificate, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
}

// testPKI is a server CA and its certificate for svc.test and 127.0.0.1,
// and a client CA and its certificate, as files.
type testPKI struct {
	server, clientCA                   *testCert
	caFile, otherCAFile                string // the server's CA; a CA that signed nothing here
	serverCert, serverKey              string
	clientCert, clientKey              string
	serverCertificate, otherCertficate tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	dir := t.TempDir()
	ca, other, cca := newTestCA(t, "server CA"), newTestCA(t, "other CA"), newTestCA(t, "client CA")
	p := &testPKI{
		server:   ca.issue(t, "svc.test", []string{"svc.test"}, []net.IP{net.IPv4(127, 0, 0, 1)}),
		clientCA: cca,
		caFile:   filepath.Join(dir, "ca.pem"), otherCAFile: filepath.Join(dir, "other-ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server.key"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client.key"),
	}
	client := cca.issue(t, "checker", nil, nil)
	for f, b := range map[string][]byte{p.caFile: ca.certPEM, p.otherCAFile: other.certPEM,
		p.serverCert: p.server.certPEM, p.serverKey: p.server.keyPEM, p.clientCert: client.certPEM, p.clientKey: client.keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
