package director

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

// httpProber is the "http" and "https" check: healthy when GET path
// answers status.
type httpProber struct {
	scheme, path, query, host string
	status                    int
}

func newHTTPProber(c *Check) (prober, error)  { return newWebProber("http", c) }
func newHTTPSProber(c *Check) (prober, error) { return newWebProber("https", c) }

// newWebProber fills in Path ("/") and Status (200).
func newWebProber(scheme string, c *Check) (prober, error) {
	if c.Path == "" {
		c.Path = "/"
	}
	if c.Status == 0 {
		c.Status = 200
	}
	path, query, _ := strings.Cut(c.Path, "?")
	switch {
	case !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//"):
		return nil, fmt.Errorf("path %q does not start with a single /", c.Path)
	case strings.ContainsAny(c.Path, "# ") || strings.ContainsFunc(c.Path, unicode.IsControl):
		return nil, fmt.Errorf("path %q: no spaces, control characters or #", c.Path)
	case c.Status < 100 || c.Status > 599:
		return nil, fmt.Errorf("status %d is not an HTTP status", c.Status)
	case strings.ContainsFunc(c.Host, func(r rune) bool { return unicode.IsControl(r) || r == ' ' || r == '/' || r == '@' }):
		return nil, fmt.Errorf("host %q is not a host name", c.Host)
	}
	return httpProber{scheme: scheme, path: path, query: query, host: c.Host, status: c.Status}, nil
}

func (p httpProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	tr := &http.Transport{DialContext: env.dial, DisableKeepAlives: true, Proxy: nil,
		// A health check asks whether the server answers, not who it is.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	// The URL is built from its parts: the path can never name another
	// host (as "@other:80/" pasted after host:port would).
	u := &url.URL{Scheme: p.scheme, Host: addr.String(), Path: p.path, RawQuery: p.query}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if p.host != "" {
		req.Host = p.host
	}
	// A redirect is the answer: it is judged by its status, never followed
	// to wherever its Location points.
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != p.status {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, p.status)
	}
	return nil
}
