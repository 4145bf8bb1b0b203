//go:build linux

package lab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Timeouts of the HTTP client and server.
const (
	dialTimeout    = 2 * time.Second
	requestTimeout = 5 * time.Second
	maxBody        = 1 << 20
)

// Serve starts an HTTP server inside the host's namespace, listening on
// addr (":80" listens on every address, VIPs included) and answering every
// request with body. It returns once the server listens; the server stops
// when ctx is done or the Lab is closed.
func (h *Host) Serve(ctx context.Context, addr, body string) error {
	l := h.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	var ln net.Listener
	err := h.do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: %s: serve %s: %w", h.name, addr, err)
	}
	srv := &http.Server{
		Addr: h.name + addr,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, body)
		}),
		ReadHeaderTimeout: requestTimeout,
		IdleTimeout:       requestTimeout,
	}
	l.servers = append(l.servers, srv)
	l.serving.Add(1)
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	go func() {
		defer l.serving.Done()
		defer stop()
		_ = srv.Serve(ln) // returns http.ErrServerClosed once closed
	}()
	return nil
}

// Get requests url from inside the host's namespace and returns the body of
// a 200 response. Every request uses a new TCP connection (no keep-alive),
// so a load balancer schedules each one. The URL's host must be an IP
// address: names are never resolved. A request gives up after 5 s (2 s to
// connect), or earlier if ctx ends.
func (h *Host) Get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("lab: %s: get: %w", h.name, err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("lab: %s: %w", h.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", fmt.Errorf("lab: %s: get %s: %w", h.name, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("lab: %s: get %s: %s", h.name, url, resp.Status)
	}
	return string(b), nil
}

// newClient returns an HTTP client whose connections h opens in its
// namespace, one per request, with no proxy.
func newClient(h *Host) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			DialContext:       h.dial,
		},
	}
}

// dial connects to addr, an IP literal and port, from h's namespace.
func (h *Host) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, fmt.Errorf("dial %s: host must be an IP address: %w", addr, err)
	}
	var c net.Conn
	err := h.Do(func() error {
		var err error
		d := net.Dialer{Timeout: dialTimeout}
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
