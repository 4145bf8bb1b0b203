package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/lvs-go/lvs/director"
)

// The status page (-status-page) is a read-only HTML page at / on the
// metrics listener: the director's status (as `lvs-director status` has
// it), the BGP sessions and the last reload, rendered by page.html. It
// needs nothing but itself (inline CSS, no fonts, no images, no scripts
// from elsewhere: its Content-Security-Policy forbids them), refreshes
// itself in place every pageRefresh (an inline script fetches the page
// again and swaps its body; without scripts a meta refresh reloads it),
// and marks itself stale when the director does not answer.
//
// Each kind of state is one block of page.html ({{define "services"}},
// {{define "bgp"}}, ...) fed by one field of pageData: a new kind is a
// field here and a block there.

//go:embed page.html
var pageHTML string

// pageTemplate is parsed when first used: most daemons never serve the
// page, and a parse at start costs them (1,700 allocations).
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"when":    pageWhen,
		"rate":    pageRate,
		"healthy": func(s string) bool { return s == "healthy" },
	}).Parse(pageHTML))
})

// The page's bounds: it refreshes itself every pageRefresh; the status it
// shows is read at most once every pageMinRead, however many browsers
// look, by one request at a time, each read given at most pageReadTimeout.
const (
	pageRefresh     = 5 * time.Second
	pageMinRead     = time.Second
	pageReadTimeout = 5 * time.Second
)

// pageData is what page.html renders.
type pageData struct {
	Now      time.Time
	Refresh  time.Duration
	Nonce    string // the inline script's, as the Content-Security-Policy names it
	Version  string
	Config   string
	ReadErr  string // the status could not be read; the rest is empty
	Director pageDirector
	Reload   pageReload
	Services []pageService
	BGP      *pageBGP // nil without cluster.bgp
	VRRP     []vrrpView
}

// pageDirector is the director's own counters.
type pageDirector struct {
	Applies, Errors, Drift, OverdueChecks uint64
	LastApply, LastResync                 time.Time
	Fingerprint                           string
}

// pageService is a service with its real servers and their totals.
type pageService struct {
	Name        string
	Scheduler   string
	BelowQuorum bool
	Healthy     int // real servers healthy or unchecked, and in the kernel
	RealServers []pageRealServer
	Active      uint64
	Inactive    uint64
	CPS         uint64
}

// pageRealServer is a real server as the page shows it: the status's view
// with the reason of its last failed check.
type pageRealServer struct {
	realServerView
	HealthReason string
}

// pageBGP is the prefixes announced to the routers and the sessions with
// them.
type pageBGP struct {
	Announced []netip.Prefix
	Peers     []director.Peer
}

// pageReload is the last reload of the configuration file and its
// outcome; Time is zero when there was none since the start.
type pageReload struct {
	Start  time.Time
	Time   time.Time
	OK     bool
	Err    string
	Errors uint64
	Count  uint64
	Failed uint64
}

// pageEvents keeps what the page shows that the director's status does
// not: why each failed real server failed (the last check's error, from
// Run's reports) and how the last reload went. A nil *pageEvents records
// nothing.
type pageEvents struct {
	mu      sync.Mutex
	reasons map[pageKey]string
	reload  pageReload
}

type pageKey struct {
	svc string // the ipvs.Key's String
	rs  netip.AddrPort
}

func newPageEvents(start time.Time) *pageEvents {
	return &pageEvents{reasons: map[pageKey]string{}, reload: pageReload{Start: start}}
}

// observe passes each report to next after noting each real server's
// health reason.
func (e *pageEvents) observe(next func(director.Report)) func(director.Report) {
	if e == nil {
		return next
	}
	return func(r director.Report) {
		if h := r.Health; h != nil {
			k := pageKey{h.Service, h.RealServer}
			e.mu.Lock()
			if h.Healthy {
				delete(e.reasons, k)
			} else {
				e.reasons[k] = cmp.Or(errText(h.Err), "check failed")
			}
			e.mu.Unlock()
		}
		next(r)
	}
}

// reloaded records a reload's outcome at now.
func (e *pageEvents) reloaded(res reloadResult, now time.Time) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r := &e.reload
	r.Time, r.OK, r.Err, r.Errors = now, res.Err == nil && res.Errors == 0, errText(res.Err), res.Errors
	r.Count++
	if !r.OK {
		r.Failed++
	}
}

func (e *pageEvents) snapshot() (map[pageKey]string, pageReload) {
	if e == nil {
		return nil, pageReload{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[pageKey]string, len(e.reasons))
	for k, v := range e.reasons {
		out[k] = v
	}
	return out, e.reload
}

// statusPage serves the page. Reads of the status are shared: a request
// within pageMinRead of the last read renders that read's data.
type statusPage struct {
	read    func(context.Context) (statusView, error)
	config  string // the configuration file's path
	peers   bool   // cluster.bgp: show the BGP section
	events  *pageEvents
	version string
	refresh time.Duration

	sem  chan struct{} // one read at a time
	last time.Time     // under sem
	view statusView
	err  error
}

func newStatusPage(dm *daemon) *statusPage {
	return &statusPage{
		read: func(ctx context.Context) (statusView, error) {
			return readStatus(ctx, dm.d, dm.opts.Announcer, dm.path)
		},
		config: dm.path, peers: dm.opts.Announcer != nil, events: dm.events, version: dm.version.String(),
		refresh: cmp.Or(dm.pageRefresh, pageRefresh), sem: make(chan struct{}, 1),
	}
}

func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case p.sem <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	now := time.Now()
	if now.Sub(p.last) >= pageMinRead {
		// Not the request's context: the read is shared with the
		// requests of the next pageMinRead.
		ctx, cancel := context.WithTimeout(context.Background(), pageReadTimeout)
		p.view, p.err = p.read(ctx)
		cancel()
		p.last = now
	}
	v, err := p.view, p.err
	<-p.sem

	nonce := make([]byte, 16)
	rand.Read(nonce)
	data := pageData{Now: now, Config: p.config, Refresh: p.refresh, Nonce: hex.EncodeToString(nonce), Version: p.version}
	code := http.StatusOK
	if err != nil {
		data.ReadErr = err.Error()
		code = http.StatusServiceUnavailable
	} else {
		p.fill(&data, v)
	}
	var b bytes.Buffer
	if err := pageTemplate().Execute(&b, data); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "+
		"script-src 'nonce-"+data.Nonce+"'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// fill puts v, and the events, in data.
func (p *statusPage) fill(data *pageData, v statusView) {
	reasons, reload := p.events.snapshot()
	data.Reload = reload
	data.Director = pageDirector{Applies: v.Applies, Errors: v.Errors, Drift: v.Drift, LastApply: v.LastApply,
		LastResync: v.LastResync, Fingerprint: v.Fingerprint}
	below := map[string]bool{}
	for _, k := range v.BelowQuorum {
		below[k.String()] = true
	}
	for _, s := range v.Services {
		ps := pageService{Name: strings.Join(strings.Fields(s.Service.String()), " "), Scheduler: string(s.Scheduler),
			BelowQuorum: below[s.Service.String()]}
		for _, rs := range s.RealServers {
			prs := pageRealServer{realServerView: rs}
			if rs.Health == "failed" {
				prs.HealthReason = reasons[pageKey{s.Service.String(), rs.Addr}]
			}
			if rs.Health != "failed" && rs.InKernel {
				ps.Healthy++
			}
			ps.Active += uint64(rs.ActiveConns)
			ps.Inactive += uint64(rs.InactiveConns)
			ps.CPS += rs.CPS
			ps.RealServers = append(ps.RealServers, prs)
		}
		data.Services = append(data.Services, ps)
	}
	if p.peers || len(v.Announced)+len(v.Peers) > 0 {
		data.BGP = &pageBGP{Announced: v.Announced, Peers: v.Peers}
	}
	data.VRRP = v.VRRP
}

// pageWhen is t in UTC and how long ago it was at now; "never" if zero.
func pageWhen(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	ago := now.Sub(t).Round(time.Second)
	if ago < 0 {
		return t.UTC().Format("2006-01-02 15:04:05Z") + " (in " + (-ago).String() + ")"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z") + " (" + ago.String() + " ago)"
}

// pageRate is a rate per second with a binary prefix: 1.5 Ki.
func pageRate(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprint(n)
	}
	f, i := float64(n)/1024, 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ci", f, units[i])
}
