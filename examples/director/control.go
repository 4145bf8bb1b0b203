package main

import (
	"bytes"
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
//
// An error is a 4xx or 5xx answer with {"error": "..."}.

// maintenanceRequest is the body of /v1/disable and /v1/enable.
type maintenanceRequest struct {
	Service    ipvs.Key       `json:"service"`
	RealServer netip.AddrPort `json:"realServer"`
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

// serveControl listens on the control socket, mode 0600, and serves it
// until the returned func is called, which removes the socket. A socket
// file that no one answers on (left by a killed director) is replaced; one
// that answers belongs to a running director, and is an error.
func (dm *daemon) serveControl() (stop func(), err error) {
	if c, err := net.Dial("unix", dm.control); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another director answers on it", dm.control)
	}
	if err := os.Remove(dm.control); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	old := syscall.Umask(0o177) // the socket is created 0600
	ln, err := net.Listen("unix", dm.control)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		v, err := readStatus(r.Context(), dm.d, dm.opts.Announcer, dm.path)
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
	return dm.serve(ln, mux, "control"), nil
}

// badRequest is an error of the request, not of the director.
type badRequest struct{ err error }

func (e *badRequest) Error() string { return e.err.Error() }
func (e *badRequest) Unwrap() error { return e.err }

// answer writes v as JSON, or err as {"error": ...} with a status that
// says whose fault it is.
func answer(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var br *badRequest
		switch {
		case errors.Is(err, fs.ErrNotExist):
			w.WriteHeader(http.StatusNotFound)
		case errors.As(err, &br), errors.Is(err, director.ErrInvalid), errors.Is(err, ipvs.ErrInvalid):
			w.WriteHeader(http.StatusBadRequest)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
		v = errorAnswer{err.Error()}
	}
	json.NewEncoder(w).Encode(v)
}

// controlClient is the subcommands' side of the control socket.
type controlClient struct {
	http *http.Client
}

func newControlClient(path string) *controlClient {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}
	return &controlClient{http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// call sends in (nil: no body) to the control socket's path and decodes
// the answer into out.
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
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorAnswer
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return errors.New(e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
