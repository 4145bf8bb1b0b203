package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// TestStatusPageRender renders the page from a status without a browser:
// what the status says is on it, escaped; it loads nothing from
// elsewhere, and its Content-Security-Policy forbids it to; a status that
// cannot be read is a 503 that says why; reads are shared between the
// requests of one pageMinRead.
func TestStatusPageRender(t *testing.T) {
	const evil = `<img src=x onerror=alert(1)>`
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80")}.Key()
	rs1, rs2, rs3 := netip.MustParseAddrPort("10.0.0.110:80"), netip.MustParseAddrPort("10.0.0.120:80"), netip.MustParseAddrPort("10.0.0.130:80")
	start := time.Now().Add(-time.Hour)
	view := statusView{Config: "/etc/lvs/director.yaml", Applies: 7, Services: []serviceView{{Service: svc, Scheduler: "wrr",
		RealServers: []realServerView{
			{Addr: rs1, Weight: 0, DeclaredWeight: 1, Health: "failed", HealthSince: start, InKernel: true, ActiveConns: 12, CPS: 3 << 20,
				Why: "failed its health check"},
			{Addr: rs2, Weight: 0, DeclaredWeight: 2, Health: "healthy", InKernel: true, Disabled: true, Reason: evil,
				DisabledSince: start, Why: "disabled by hand"},
			{Addr: rs3, Weight: 0, DeclaredWeight: 4, Health: "unchecked", InKernel: true, ActiveConns: 2, DrainUntil: start.Add(2 * time.Hour),
				Why: "draining by hand until idle or 2026-01-01 00:00:00 (2 connections): upgrade"},
		}}},
		Announced: []netip.Prefix{netip.MustParsePrefix("10.0.0.8/32")},
		Peers:     []director.Peer{{Address: netip.MustParseAddr("192.0.2.1"), ASN: 65000, Established: true, State: "established", Since: start}},
	}
	var reads int
	var readErr error
	events := newPageEvents(start)
	observe := events.observe(func(director.Report) {})
	observe(director.Report{Health: &director.Event{Service: svc.String(), RealServer: rs1, Err: errors.New("dial tcp 10.0.0.110:80: connection refused")}})
	events.reloaded(reloadResult{Errors: 2}, time.Now())
	p := &statusPage{read: func(context.Context) (statusView, error) { reads++; return view, readErr },
		config: "/etc/lvs/director.yaml", peers: true, events: events, version: "v1.2.3", refresh: pageRefresh, sem: make(chan struct{}, 1)}
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w
	}

	w := get()
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'nonce-", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if nonce := regexp.MustCompile(`<script nonce="([^"]+)">`).FindStringSubmatch(body); nonce == nil || !strings.Contains(csp, "'nonce-"+nonce[1]+"'") {
		t.Errorf("the page's script has no nonce, or not the policy's (%q)", csp)
	}
	for _, want := range []string{
		`data-service="TCP 10.0.0.8:80"`,
		`data-realserver="10.0.0.110:80" data-health="failed" data-weight="0" data-declared="1"`,
		`data-realserver="10.0.0.130:80" data-health="unchecked" data-weight="0" data-declared="4"`,
		"draining by hand until idle or 2026-01-01 00:00:00 (2 connections): upgrade",
		"draining until ",
		"14 active, 0 inactive connections",
		"dial tcp 10.0.0.110:80: connection refused",
		"failed its health check",
		"3.0 Mi",
		"disabled by hand",
		"&lt;img src=x onerror=alert(1)&gt;",
		"applied with 2 errors",
		`data-peer="192.0.2.1" data-established="true"`,
		"<code>10.0.0.8/32</code>",
		"2 of 3 real servers in service",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, evil) {
		t.Error("the page has the reason's markup unescaped")
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"?(https?:)?//`).FindString(body); m != "" {
		t.Errorf("the page loads something from elsewhere: %q", m)
	}

	get()
	if reads != 1 {
		t.Errorf("two requests within %v read the status %d times, want once", pageMinRead, reads)
	}
	p.last = time.Time{}
	readErr = errors.New("netlink: <timeout>")
	w = get()
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "/etc/lvs/director.yaml") || !strings.Contains(w.Body.String(), "Cannot read the director's status: netlink: &lt;timeout&gt;") {
		t.Errorf("a status that cannot be read: %d\n%s", w.Code, w.Body.String())
	}
}

func TestPageRate(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 1023: "1023", 1024: "1.0 Ki", 1536: "1.5 Ki", 5 << 30: "5.0 Gi"} {
		if got := pageRate(n); got != want {
			t.Errorf("pageRate(%d) = %q, want %q", n, got, want)
		}
	}
}
