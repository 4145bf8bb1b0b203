package check

import (
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

func TestHTTPCheck(t *testing.T) {
	ns, d := probeNS(t)
	var gotHeader atomic.Pointer[http.Header]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/up" && r.Host == "svc.example":
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/body":
			io.WriteString(w, "status: ok\nversion: 3\n")
		case r.URL.Path == "/big": // the match is past the first 64 KiB
			w.Write(bytes.Repeat([]byte("x"), 64<<10))
			io.WriteString(w, "status: ok")
		case r.URL.Path == "/header":
			hd := r.Header.Clone()
			gotHeader.Store(&hd)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	serve := func(tls bool) netip.AddrPort {
		s := httptest.NewUnstartedServer(h)
		s.Listener.Close()
		s.Listener = listenTCP(t, ns)
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
		return netip.MustParseAddrPort(s.Listener.Addr().String())
	}
	plain, secure := serve(false), serve(true)
	body := md5.Sum([]byte("status: ok\nversion: 3\n"))
	digest := hex.EncodeToString(body[:])
	for _, tc := range []struct {
		name string
		spec Spec
		rs   netip.AddrPort
		err  string // "" means healthy
	}{
		{"defaults", HTTP{}, plain, ""},
		{"wrong status", HTTP{Status: []int{204}}, plain, "status 200, want 204"},
		{"one of the statuses", HTTP{Status: []int{204, 200}}, plain, ""},
		{"none of the statuses", HTTP{Status: []int{204, 301}}, plain, "status 200, want 204 or 301"},
		{"path and host", HTTP{Path: "/up", Host: "svc.example", Status: []int{204}}, plain, ""},
		{"path without host", HTTP{Path: "/up", Status: []int{204}}, plain, "status 404, want 204"},
		{"refused", HTTP{}, closedPort(t, ns, "tcp"), "connection refused"},
		{"body matches", HTTP{Path: "/body", BodyRegexp: `(?m)^status: ok$`}, plain, ""},
		{"body does not match", HTTP{Path: "/body", BodyRegexp: `status: (down|failed)`}, plain, `body does not match "status: (down|failed)"`},
		{"match past 64 KiB", HTTP{Path: "/big", BodyRegexp: "status: ok"}, plain, "body does not match"},
		{"match within 64 KiB", HTTP{Path: "/big", BodyRegexp: "^x+$"}, plain, ""},
		{"digest", HTTP{Path: "/body", Digest: digest}, plain, ""},
		{"digest in capitals", HTTP{Path: "/body", Digest: strings.ToUpper(digest)}, plain, ""},
		{"wrong digest", HTTP{Path: "/body", Digest: "d41d8cd98f00b204e9800998ecf8427e"}, plain,
			"body digest " + digest + ", want d41d8cd98f00b204e9800998ecf8427e"},
		{"status judged before the body", HTTP{Path: "/nothing", BodyRegexp: "x"}, plain, "status 404"},
		// httptest's certificate is for example.com and 127.0.0.1,
		// signed by a CA of its own: only insecure checks take it.
		{"https unverified", HTTPS{}, secure, "x509: certificate signed by unknown authority"},
		{"https insecure", HTTPS{TLS: TLS{Insecure: true}}, secure, ""},
		{"https on a plain port", HTTPS{TLS: TLS{Insecure: true}}, plain, "http"},
		{"http on a TLS port", HTTP{}, secure, "status 400, want 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCheck(t, d, tc.spec, tc.rs)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("probe: %v, want healthy", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("probe: %v, want an error with %q", err, tc.err)
			}
		})
	}
	t.Run("headers", func(t *testing.T) {
		chk := HTTP{Path: "/header", Headers: map[string]string{"x-probe": "lvs 1", "Authorization": "Bearer t0k", "User-Agent": "lvs-check"}}
		if err := runCheck(t, d, chk, plain); err != nil {
			t.Fatal(err)
		}
		got := gotHeader.Load()
		if got == nil {
			t.Fatal("the server saw no request")
		}
		for k, v := range map[string]string{"X-Probe": "lvs 1", "Authorization": "Bearer t0k", "User-Agent": "lvs-check"} {
			if g := got.Values(k); len(g) != 1 || g[0] != v {
				t.Errorf("header %s: the server got %q, want %q", k, g, v)
			}
		}
	})
}

// TestHTTPCheckNoRedirects: a redirect is judged by its status and never
// followed; the path cannot name another host.
func TestHTTPCheckNoRedirects(t *testing.T) {
	ns, d := probeNS(t)
	var elsewhere atomic.Int32
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	other.Listener.Close()
	other.Listener = listenTCP(t, ns)
	other.Start()
	t.Cleanup(other.Close)
	var paths []string
	var mu sync.Mutex
	rs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	rs.Listener.Close()
	rs.Listener = listenTCP(t, ns)
	rs.Start()
	t.Cleanup(rs.Close)
	addr := netip.MustParseAddrPort(rs.Listener.Addr().String())

	if err := runCheck(t, d, HTTP{Path: "/moved"}, addr); err == nil || !strings.Contains(err.Error(), "status 302") {
		t.Errorf("redirect with status 200 expected: %v, want a status 302 failure", err)
	}
	if err := runCheck(t, d, HTTP{Path: "/moved", Status: []int{302}}, addr); err != nil {
		t.Errorf("redirect with status 302 expected: %v", err)
	}
	// A path that would name another host, pasted after host:port.
	otherAddr := other.Listener.Addr().String()
	if err := runCheck(t, d, HTTP{Path: "/@" + otherAddr + "/"}, addr); err != nil {
		t.Errorf("path with @: %v", err)
	}
	if err := runCheck(t, d, HTTP{Path: "/q?x=1"}, addr); err != nil {
		t.Errorf("path with a query: %v", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other server was contacted %d times", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/moved", "/moved", "/@" + otherAddr + "/", "/q?x=1"}; !slices.Equal(paths, want) {
		t.Errorf("the real server saw %q, want %q", paths, want)
	}
	for _, bad := range []string{"//other/", "/a b", "/a#b", "/a\r\nHost: x"} {
		if _, err := (HTTP{Path: bad}).Compile(); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

// serveHTTPS serves HTTPS in ns with cfg (its certificate added), and
// returns its address and the common name of the last client
// certificate it saw.
func serveHTTPS(t *testing.T, ns netns.NsHandle, pki *testPKI, cfg *tls.Config) (netip.AddrPort, *atomic.Value) {
	var client atomic.Value
	client.Store("")
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			client.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		}
	}))
	s.Listener.Close()
	s.Listener = listenTCP(t, ns)
	cfg.Certificates = []tls.Certificate{pki.server.tls(t)}
	s.TLS = cfg
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	s.StartTLS()
	t.Cleanup(s.Close)
	return netip.MustParseAddrPort(s.Listener.Addr().String()), &client
}

// TestTLSChecks: tls and https checks verify the real server's
// certificate against caFile for serverName, else host, else its address;
// insecure skips that; a client certificate is presented when the server
// asks for one.
func TestTLSChecks(t *testing.T) {
	ns, d := probeNS(t)
	pki := newTestPKI(t)
	rs, _ := serveHTTPS(t, ns, pki, &tls.Config{})
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	// The tls check's fields, as a tls check and as https's.
	kinds := map[string]func(TLS) Spec{"tls": func(t TLS) Spec { return t }, "https": func(t TLS) Spec { return HTTPS{TLS: t} }}
	for _, kind := range []string{"tls", "https"} {
		spec := kinds[kind]
		t.Run(kind, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				tls  TLS
				err  string
				as   any // an error the failure must wrap
			}{
				{"caFile, address", TLS{CAFile: pki.caFile}, "", nil},
				{"caFile, serverName", TLS{CAFile: pki.caFile, ServerName: "svc.test"}, "", nil},
				{"system roots", TLS{}, "x509: certificate signed by unknown authority", &unknownCA},
				{"other CA", TLS{CAFile: pki.otherCAFile, ServerName: "svc.test"}, "certificate signed by unknown authority", &verify},
				{"wrong serverName", TLS{CAFile: pki.caFile, ServerName: "other.test"}, "certificate is valid for svc.test, not other.test", &hostname},
				{"insecure", TLS{Insecure: true}, "", nil},
				{"insecure, wrong serverName", TLS{Insecure: true, ServerName: "other.test"}, "", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					err := checkWant(t, d, spec(tc.tls), rs, tc.err)
					if tc.as != nil && !errors.As(err, tc.as) {
						t.Errorf("%v does not wrap a %T", err, tc.as)
					}
				})
			}
			t.Run("refused", func(t *testing.T) {
				checkWant(t, d, spec(TLS{Insecure: true}), closedPort(t, ns, "tcp"), "connection refused")
			})
			t.Run("hanging", func(t *testing.T) {
				// Connections complete in the kernel's backlog; nobody
				// answers the handshake.
				checkHangs(t, d, spec(TLS{Insecure: true}), netip.MustParseAddrPort(listenTCP(t, ns).Addr().String()))
			})
		})
	}
	t.Run("https host as the name", func(t *testing.T) {
		checkWant(t, d, HTTPS{HTTP: HTTP{Host: "svc.test"}, TLS: TLS{CAFile: pki.caFile}}, rs, "")
		err := checkWant(t, d, HTTPS{HTTP: HTTP{Host: "other.test"}, TLS: TLS{CAFile: pki.caFile}}, rs, "not other.test")
		if !errors.As(err, &hostname) {
			t.Errorf("%v does not wrap a x509.HostnameError", err)
		}
		checkWant(t, d, HTTPS{HTTP: HTTP{Host: "other.test"}, TLS: TLS{CAFile: pki.caFile, ServerName: "svc.test"}}, rs, "")
	})
	t.Run("client certificate", func(t *testing.T) {
		mtls, client := serveHTTPS(t, ns, pki, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.clientCA.pool()})
		withCert := TLS{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}
		checkWant(t, d, HTTPS{TLS: withCert}, mtls, "")
		if got := client.Load(); got != "checker" {
			t.Errorf("the server saw the client certificate %q, want checker's", got)
		}
		checkWant(t, d, withCert, mtls, "")
		checkWant(t, d, HTTPS{TLS: TLS{CAFile: pki.caFile}}, mtls, "certificate required")
		// With TLS 1.3 the server refuses a missing certificate after the
		// handshake; with 1.2 within it.
		tls12, _ := serveHTTPS(t, ns, pki, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.clientCA.pool(), MaxVersion: tls.VersionTLS12})
		checkWant(t, d, withCert, tls12, "")
		checkWant(t, d, TLS{CAFile: pki.caFile}, tls12, "tls 127.0.0.1")
	})
}

// TestTLSChecksOpenSSL: the checks against another implementation,
// openssl s_server, where it is installed.
func TestTLSChecksOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	ns, d := probeNS(t)
	pki := newTestPKI(t)
	rs := closedPort(t, ns, "tcp")
	startIn(t, ns, func() error { return runCheck(t, d, TCP{}, rs) },
		openssl, "s_server", "-quiet", "-www", "-accept", rs.String(), "-cert", pki.serverCert, "-key", pki.serverKey)
	checkWant(t, d, TLS{CAFile: pki.caFile, ServerName: "svc.test"}, rs, "")
	checkWant(t, d, HTTPS{HTTP: HTTP{BodyRegexp: "(?i)cipher"}, TLS: TLS{CAFile: pki.caFile}}, rs, "")
	checkWant(t, d, TLS{}, rs, "certificate signed by unknown authority")
	checkWant(t, d, HTTPS{TLS: TLS{CAFile: pki.caFile, ServerName: "other.test"}}, rs, "not other.test")
}

// TestHTTPCheckBounded: a body that never ends fails a digest at its
// bound, and is not read past its first 64 KiB without one; a header
// that never ends fails the check.
func TestHTTPCheckBounded(t *testing.T) {
	ns, d := probeNS(t)
	var served atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/header" {
			for i := range 1 << 10 {
				w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("v", 1000))
			}
		}
		buf := bytes.Repeat([]byte("x"), 64<<10)
		for sent := 0; sent < 256<<20; sent += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
			served.Add(int64(len(buf)))
		}
	}))
	s.Listener.Close()
	s.Listener = listenTCP(t, ns)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Start()
	t.Cleanup(s.Close)
	rs := netip.MustParseAddrPort(s.Listener.Addr().String())
	t.Run("digest", func(t *testing.T) {
		boundedRead(t, d, HTTP{Digest: "d41d8cd98f00b204e9800998ecf8427e"}, rs)
	})
	t.Run("bodyRegexp", func(t *testing.T) {
		served.Store(0)
		start := time.Now()
		checkWant(t, d, HTTP{BodyRegexp: "^x+$"}, rs, "")
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %v", took)
		}
		time.Sleep(100 * time.Millisecond)
		if n := served.Load(); n > 16<<20 {
			t.Errorf("the server wrote %d MiB: the check read past the body's first 64 KiB", n>>20)
		}
	})
	t.Run("header", func(t *testing.T) {
		checkWant(t, d, HTTP{Path: "/header"}, rs, "headers exceeded")
	})
}
