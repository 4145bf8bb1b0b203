package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"unicode"
)

// TLS is the "tls" check: healthy when a TLS handshake with the target
// succeeds, its certificate verified against CAFile (the system's roots
// if empty) for ServerName (else the target's address), unless Insecure.
// Nothing is read after the handshake: a TLS 1.3 server that refuses the
// client's certificate says so only then, which an https check sees. It
// reads what the handshake needs, which crypto/tls bounds (64 KiB a
// handshake message, 256 KiB the certificates), within the check's
// timeout.
//
// The same fields make the TLS side of an https check.
type TLS struct {
	// CAFile is the PEM file of the certificates that verify the
	// target's; the system's roots if empty. It and CertFile and KeyFile
	// must be regular files of at most MaxPEMFile bytes, read when the
	// check is compiled.
	CAFile string `json:"caFile,omitempty"`
	// ServerName is the name the target's certificate must be for: by
	// default an https check's host, else the target's address.
	ServerName string `json:"serverName,omitempty"`
	// Insecure skips the verification, and must be set to mean it (it
	// excludes CAFile).
	Insecure bool `json:"insecure,omitempty"`
	// CertFile and KeyFile (PEM, both or neither) are a client
	// certificate to present.
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
}

// Type is "tls".
func (TLS) Type() string { return "tls" }

// Compile checks the fields and reads the files they name.
func (t TLS) Compile() (Checker, error) {
	cfg, err := t.config("")
	if err != nil {
		return nil, err
	}
	return tlsChecker{cfg}, nil
}

type tlsChecker struct{ tls *tls.Config }

func (p tlsChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	c, err := env.Dial(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	// Reset once done (closeReset), after the close_notify that tc.Close
	// sends.
	if l, ok := c.(interface{ SetLinger(sec int) error }); ok {
		_ = l.SetLinger(0)
	}
	tc := tls.Client(c, tlsConfigFor(p.tls, target))
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls %v: %w", target, err)
	}
	return nil
}

// config is the client side of t: the certificate is verified against
// CAFile (the system's roots if empty) for ServerName, else host (else
// the target's address, filled in by tlsConfigFor), unless Insecure;
// CertFile and KeyFile are presented. The files are read now, so that a
// missing or bad one is a configuration error, not a failing server.
func (t TLS) config(host string) (*tls.Config, error) {
	switch {
	case strings.ContainsFunc(t.ServerName, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '/' || r == '@' }):
		return nil, fmt.Errorf("serverName %q is not a host name", t.ServerName)
	case t.Insecure && t.CAFile != "":
		return nil, errors.New("insecure skips the verification caFile is for: set one of them")
	case (t.CertFile == "") != (t.KeyFile == ""):
		return nil, errors.New("certFile and keyFile go together")
	}
	// The key exchanges are Go's default ones but the post-quantum hybrid
	// (X25519MLKEM768): a check sends nothing that needs protecting for
	// decades, and the hybrid's ML-KEM key, made for each handshake, is
	// about a third of the handshake's CPU.
	cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.Insecure,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if t.CAFile != "" {
		pem, err := readPEMFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificate", t.CAFile)
		}
	}
	if t.CertFile != "" {
		certPEM, err := readPEMFile(t.CertFile)
		if err != nil {
			return nil, fmt.Errorf("certFile: %w", err)
		}
		keyPEM, err := readPEMFile(t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("keyFile: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("certFile, keyFile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// MaxPEMFile bounds the size of caFile, certFile and keyFile: a bundle
// of every public root CA is under 300 KiB.
const MaxPEMFile = 4 << 20

// readPEMFile reads a file of certificates or a key: a regular file of
// at most MaxPEMFile bytes. It is opened without blocking and refused
// unless regular before anything is read, so that a FIFO does not hang
// the compilation and /dev/zero does not fill memory.
func readPEMFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: mode %v: not a regular file: %w", path, fi.Mode(), fs.ErrInvalid)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxPEMFile {
		return nil, fmt.Errorf("%s: larger than %d MiB: %w", path, MaxPEMFile>>20, fs.ErrInvalid)
	}
	return b, nil
}

// tlsConfigFor is cfg for the target: when neither ServerName nor an
// https check's host names it, its certificate must be for its address.
func tlsConfigFor(cfg *tls.Config, target netip.AddrPort) *tls.Config {
	if cfg.ServerName != "" {
		return cfg
	}
	cfg = cfg.Clone()
	cfg.ServerName = target.Addr().Unmap().WithZone("").String()
	return cfg
}
