package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// The control socket speaks HTTP with JSON bodies over a unix socket:
//
//	GET  /v1/status   the statusView
//	POST /v1/disable  {"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.120:80", "reason": "..."}
//	POST /v1/enable   {"service": ..., "realServer": ...}
//	POST /v1/reload   re-read the configuration file: {"errors": N} or an error
//	POST /v1/withdraw withdraw this director's prefixes from the routers (cluster), until
//	POST /v1/rejoin
//	(POST /v1/drain and /v1/undrain: withdraw's and rejoin's former names, for one release)
//	POST /v1/realservers/weight   {"service": ..., "realServer": ..., "weight": 5, "reason": "..."}
//	POST /v1/realservers/drain    {"service": ..., "realServer": ..., "until": "2026-01-02T15:04:05Z", "reason": "..."}
//	POST /v1/realservers/restore  {"service": ..., "realServer": ...}
//
// An error is a 4xx or 5xx answer with {"error": "..."}.

// maintenanceRequest is the body of /v1/disable and /v1/enable.
type maintenanceRequest struct {
	Service    ipvs.Key       `json:"service"`
	RealServer netip.AddrPort `json:"realServer"`
	Reason     string         `json:"reason,omitempty"`
}

// overrideRequest is the body of /v1/realservers/weight, drain and
// restore: Weight is required by weight, Until (none if zero) read by
// drain.
type overrideRequest struct {
	Service    ipvs.Key       `json:"service"`
	RealServer netip.AddrPort `json:"realServer"`
	Weight     *int           `json:"weight,omitempty"`
	Until      time.Time      `json:"until,omitzero"`
	Reason     string         `json:"reason,omitempty"`
}

// reloadAnswer is the body of /v1/reload's answer: how many errors the
// director reported applying the new configuration.
type reloadAnswer struct {
	Errors uint64 `json:"errors"`
}

type errorAnswer struct {
	Error string `json:"error"`
}

// The control server's bounds: a connection that sends no request within
// controlReadTimeout, or stays idle between requests for
// controlIdleTimeout, is closed; at most maxControlConns are served at
// once (more wait in the listen queue).
const (
	controlReadTimeout = 10 * time.Second
	controlIdleTimeout = 30 * time.Second
	maxControlConns    = 16
)

// serveControl listens on the control socket and serves it until the
// returned func is called, which removes the socket. The socket is mode
// 0600, or 0666 when groups may use it (-control-group, -status-group):
// then each connection's peer, as the kernel says, is checked
// (controlAccess). A lock (PATH.lock) is held while the director serves,
// so that two directors starting together cannot both take the path; a
// socket no one answers on (left by a killed director) is replaced, and
// anything else at the path (a file, a directory, a FIFO) is an error.
func (dm *daemon) serveControl() (stop func(), err error) {
	unlock, err := lockControl(dm.control)
	if err != nil {
		return nil, err
	}
	if err := removeStaleSocket(dm.control); err != nil {
		unlock()
		return nil, err
	}
	mask := 0o177 // the socket is created 0600
	if dm.access.open() {
		mask = 0o111
	}
	old := syscall.Umask(mask)
	ln, err := net.Listen("unix", dm.control)
	syscall.Umask(old)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		v, err := readStatusGated(r.Context(), dm.d, dm.opts.Announcer, dm.path, dm.statusGate)
		answer(w, v, err)
	})
	maintain := func(enable bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var m maintenanceRequest
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&m); err != nil {
				answer(w, nil, &badRequest{err})
				return
			}
			var err error
			if enable {
				err = dm.d.Enable(r.Context(), m.Service, m.RealServer)
			} else {
				err = dm.d.Disable(r.Context(), m.Service, m.RealServer, m.Reason)
			}
			attrs := []any{"service", m.Service.String(), "real_server", m.RealServer.String()}
			switch {
			case err != nil:
				dm.log.Error("maintenance request failed", append(attrs, "enable", enable, "error", err)...)
			case enable:
				dm.log.Info("real server enabled by hand", attrs...)
			default:
				dm.log.Info("real server disabled by hand", append(attrs, "reason", m.Reason)...)
			}
			answer(w, struct{}{}, err)
		}
	}
	override := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var o overrideRequest
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&o); err != nil {
				answer(w, nil, &badRequest{err})
				return
			}
			var err error
			switch {
			case kind == "weight" && o.Weight == nil:
				err = &badRequest{errors.New("weight: missing")}
			case kind == "weight":
				err = dm.d.SetWeight(r.Context(), o.Service, o.RealServer, *o.Weight, o.Reason)
			case kind == "drain":
				err = dm.d.Drain(r.Context(), o.Service, o.RealServer, o.Until, o.Reason)
			default:
				err = dm.d.Restore(r.Context(), o.Service, o.RealServer)
			}
			attrs := []any{"service", o.Service.String(), "real_server", o.RealServer.String(), "change", kind}
			if err != nil {
				dm.log.Error("real server change refused or failed", append(attrs, "error", err)...)
			} else {
				dm.log.Info("real server changed by hand", append(attrs, "weight", o.Weight, "until", o.Until, "reason", o.Reason)...)
			}
			answer(w, struct{}{}, err)
		}
	}
	for _, kind := range []string{"weight", "drain", "restore"} {
		mux.HandleFunc("POST /v1/realservers/"+kind, override(kind))
	}
	mux.HandleFunc("POST /v1/disable", maintain(false))
	mux.HandleFunc("POST /v1/enable", maintain(true))
	cluster := func(out bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var err error
			if out {
				err = dm.d.Withdraw(r.Context())
				dm.log.Info("withdrawn: prefixes withdrawn from the routers", "error", err)
			} else {
				err = dm.d.Rejoin(r.Context())
				dm.log.Info("rejoined: prefixes announced again", "error", err)
			}
			answer(w, struct{}{}, err)
		}
	}
	for _, path := range []string{"/v1/withdraw", "/v1/drain"} {
		mux.HandleFunc("POST "+path, cluster(true))
	}
	for _, path := range []string{"/v1/rejoin", "/v1/undrain"} {
		mux.HandleFunc("POST "+path, cluster(false))
	}
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		req := reloadRequest{done: make(chan reloadResult, 1)}
		select {
		case dm.reload <- req:
		case <-r.Context().Done():
			return
		}
		select {
		case res := <-req.done:
			if res.Err != nil {
				answer(w, nil, &badRequest{res.Err})
				return
			}
			answer(w, reloadAnswer{Errors: res.Errors}, nil)
		case <-r.Context().Done():
		}
	})
	dm.log.Info("serving the control socket", "path", dm.control)
	readTimeout, idleTimeout, conns := cmp.Or(dm.controlTimeout, controlReadTimeout), cmp.Or(dm.controlTimeout, controlIdleTimeout), cmp.Or(dm.controlConns, maxControlConns)
	srv := &http.Server{Handler: dm.access.guard(mux), ReadHeaderTimeout: readTimeout, ReadTimeout: readTimeout,
		IdleTimeout: idleTimeout, ConnContext: connContext, MaxHeaderBytes: 1 << 16}
	go func() {
		if err := srv.Serve(newLimitListener(ln, conns)); !errors.Is(err, http.ErrServerClosed) {
			dm.log.Error("control server failed", "error", err)
		}
	}()
	return func() { srv.Close(); unlock() }, nil
}

// lockControl takes PATH.lock, which the director holds while it serves
// PATH; another director holding it is an error.
func lockControl(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("control socket: %s.lock is not a regular file", path)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("control socket %s: another director holds %s.lock", path, path)
		}
		return nil, fmt.Errorf("control socket: lock %s.lock: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// removeStaleSocket removes the socket at path if no one answers on it;
// nothing there is fine, anything but a socket is an error.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s: the path exists and is not a socket (%v): refusing to replace it", path, fi.Mode().Type())
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another director answers on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: %w", err)
	}
	return nil
}

// limitListener accepts at most cap(sem) connections at once.
type limitListener struct {
	net.Listener
	sem   chan struct{}
	done  chan struct{}
	close sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

func (l *limitListener) Close() error {
	l.close.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed.
type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// NetConn is the connection underneath, as tls.Conn's.
func (c *limitConn) NetConn() net.Conn { return c.Conn }

// badRequest is an error of the request, not of the director.
type badRequest struct{ err error }

func (e *badRequest) Error() string { return e.err.Error() }
func (e *badRequest) Unwrap() error { return e.err }

// answer writes v as JSON, or err as {"error": ...} with a status that
// says whose fault it is.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		var br *badRequest
		switch {
		case errors.Is(err, fs.ErrNotExist):
			answerStatus(w, http.StatusNotFound, err)
		case errors.As(err, &br), errors.Is(err, director.ErrInvalid), errors.Is(err, ipvs.ErrInvalid):
			answerStatus(w, http.StatusBadRequest, err)
		default:
			answerStatus(w, http.StatusInternalServerError, err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// answerStatus answers err as {"error": ...} with the status code.
func answerStatus(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(errorAnswer{err.Error()})
}

// controlClient is the subcommands' side of the control socket.
type controlClient struct {
	path    string
	timeout time.Duration
	http    *http.Client
}

// maxAnswer bounds what the client reads of an answer: a status of
// thousands of services is a few MiB.
const maxAnswer = 32 << 20

func newControlClient(path string) *controlClient {
	c := &controlClient{path: path, timeout: time.Minute}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "unix", path)
		if err != nil {
			return nil, err
		}
		if err := checkServer(conn); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}}
	c.http = &http.Client{Transport: tr, Timeout: c.timeout}
	return c
}

// controlError is a failure to talk to the director at all, said in one
// line without the protocol's details.
type controlError struct {
	path string
	err  error
}

func (e *controlError) Error() string {
	var op *net.OpError
	var untrusted *untrustedServerError
	switch {
	case errors.As(e.err, &untrusted):
		return untrusted.Error()
	case errors.As(e.err, &op) && op.Op == "dial":
		err := op.Err
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
		return fmt.Sprintf("cannot reach the director on %s: %v (is it running? see -control)", e.path, err)
	case os.IsTimeout(e.err):
		return fmt.Sprintf("the director on %s did not answer in time", e.path)
	}
	err := e.err
	if u := errors.Unwrap(err); u != nil { // the url.Error's method and URL are the protocol's
		err = u
	}
	return fmt.Sprintf("talking to the director on %s: %v", e.path, err)
}

func (e *controlError) Unwrap() error { return e.err }

// call sends in (nil: no body) to the control socket's path and decodes
// the answer into out; it reads at most maxAnswer bytes of the answer.
func (c *controlClient) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://director"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &controlError{c.path, err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return &controlError{c.path, err}
	case len(b) > maxAnswer:
		return fmt.Errorf("the director's answer on %s is larger than %d MiB: refused", c.path, maxAnswer>>20)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorAnswer
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			return fmt.Errorf("the director on %s answered %s", c.path, resp.Status)
		}
		return errors.New(e.Error)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the director's answer on %s: %w", c.path, err)
	}
	return nil
}
