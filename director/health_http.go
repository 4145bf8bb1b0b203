package director

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// httpProber is the "http" and "https" check: healthy when GET path
// answers status.
type httpProber struct {
	scheme, path, host string
	status             int
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
	switch {
	case !strings.HasPrefix(c.Path, "/"):
		return nil, fmt.Errorf("path %q does not start with /", c.Path)
	case c.Status < 100 || c.Status > 599:
		return nil, fmt.Errorf("status %d is not an HTTP status", c.Status)
	}
	return httpProber{scheme: scheme, path: c.Path, host: c.Host, status: c.Status}, nil
}

func (p httpProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	tr := &http.Transport{DialContext: env.dial, DisableKeepAlives: true, Proxy: nil,
		// A health check asks whether the server answers, not who it is.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.scheme+"://"+addr.String()+p.path, nil)
	if err != nil {
		return err
	}
	if p.host != "" {
		req.Host = p.host
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
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
