package director

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"unicode"
)

// tlsProber is the "tls" check: healthy when a TLS handshake with the
// port succeeds, its certificate verified as the check's TLS fields say.
// Nothing is read after the handshake: a TLS 1.3 server that refuses the
// client's certificate says so only then, which an https check sees.
type tlsProber struct{ tls *tls.Config }

func newTLSProber(c *Check) (prober, error) {
	cfg, err := newTLSConfig(c)
	if err != nil {
		return nil, err
	}
	return tlsProber{cfg}, nil
}

func (p tlsProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	c, err := env.dial(ctx, "tcp", addr.String())
	if err != nil {
		return err
	}
	tc := tls.Client(c, tlsConfigFor(p.tls, addr))
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls %v: %w", addr, err)
	}
	return nil
}

// newTLSConfig is the client side of c's TLS fields (https, tls): the
// certificate is verified against CAFile (the system's roots if empty)
// for ServerName, else Host (else the real server's address, filled in by
// tlsConfigFor), unless Insecure; CertFile and KeyFile are presented. The
// files are read now, so that a missing or bad one is a configuration
// error, not a failing real server.
func newTLSConfig(c *Check) (*tls.Config, error) {
	switch {
	case strings.ContainsFunc(c.ServerName, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '/' || r == '@' }):
		return nil, fmt.Errorf("serverName %q is not a host name", c.ServerName)
	case c.Insecure && c.CAFile != "":
		return nil, errors.New("insecure skips the verification caFile is for: set one of them")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return nil, errors.New("certFile and keyFile go together")
	}
	cfg := &tls.Config{ServerName: c.ServerName, InsecureSkipVerify: c.Insecure}
	if cfg.ServerName == "" {
		cfg.ServerName = c.Host
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificate", c.CAFile)
		}
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certFile, keyFile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// tlsConfigFor is cfg for the real server at addr: when neither
// ServerName nor Host names it, its certificate must be for its address.
func tlsConfigFor(cfg *tls.Config, addr netip.AddrPort) *tls.Config {
	if cfg.ServerName != "" {
		return cfg
	}
	cfg = cfg.Clone()
	cfg.ServerName = addr.Addr().Unmap().WithZone("").String()
	return cfg
}
