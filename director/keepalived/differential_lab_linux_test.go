package keepalived

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
)

// The settle and reload stages' layout: keepalived in the namespace "ka"
// (10.9.0.1) and the director in "lvs" (10.9.0.2) share a bridge with
// the real servers' namespace "rs", whose addresses answer as roles says.
// 10.9.0.30 is on the segment but no host has it: nothing answers (ARP
// goes unanswered). Traffic stays between these namespaces.
var roles = []struct{ addr, role string }{
	{"10.9.0.10", "up"},       // HTTP on :80
	{"10.9.0.11", "refusing"}, // no listener: RST
	{"10.9.0.12", "hanging"},  // accepts, never answers
	{"10.9.0.13", "flapping"}, // up and down every flapEvery, held up after flapFor
	{"10.9.0.14", "503"},      // HTTP 503 to every request
	{"10.9.0.15", "other"},    // HTTP 200 with another body
	{"10.9.0.16", "up"},       // HTTP on :80 and :81
}

// diffLab is the layout of the settle and reload stages.
type diffLab struct {
	ka, lvs, rs *lab.Host
	dir         string // the configuration and MISC_CHECK's files
}

func newDiffLab(t *testing.T) *diffLab {
	t.Helper()
	rs := lab.HostSpec{Name: "rs"}
	for _, r := range roles[1:] {
		rs.Addrs = append(rs.Addrs, lab.AddrSpec{If: "eth0", CIDR: r.addr + "/24"})
	}
	l, err := lab.Build(lab.Spec{
		Hosts: []lab.HostSpec{{Name: "ka"}, {Name: "lvs"}, rs},
		Bridges: []lab.BridgeSpec{{Name: "lan", Ports: []lab.PortSpec{
			{Host: "ka", If: "eth0", CIDR: "10.9.0.1/24"},
			{Host: "lvs", If: "eth0", CIDR: "10.9.0.2/24"},
			{Host: "rs", If: "eth0", CIDR: roles[0].addr + "/24"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dl := &diffLab{ka: l.Host("ka"), lvs: l.Host("lvs"), rs: l.Host("rs"), dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(dl.dir, "on"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		switch r.role {
		case "up":
			dl.serve(t, r.addr+":80", healthy)
			if r.addr == "10.9.0.16" {
				dl.serve(t, r.addr+":81", healthy)
			}
		case "503":
			dl.serve(t, r.addr+":80", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		case "other":
			dl.serve(t, r.addr+":80", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "other\n") })
		case "hanging":
			dl.hang(t, r.addr+":80")
		}
	}
	return dl
}

// healthy answers /health with "healthy\n" (the corpus's digest is its
// MD5), / with "up\n", anything else 404.
func healthy(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health":
		fmt.Fprint(w, "healthy\n")
	case "/":
		fmt.Fprint(w, "up\n")
	default:
		http.NotFound(w, r)
	}
}

// listen opens a listener on addr in the real servers' namespace.
func (dl *diffLab) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := dl.rs.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// serve answers HTTP on addr until stop is called (or the test ends).
func (dl *diffLab) serve(t *testing.T, addr string, h http.HandlerFunc) (stop func()) {
	t.Helper()
	ln, err := dl.listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // http.ErrServerClosed once closed
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// hang accepts connections on addr and never reads or answers them.
func (dl *diffLab) hang(t *testing.T, addr string) {
	t.Helper()
	ln, err := dl.listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
}

// flap serves HTTP on the flapping address every other flapEvery for
// flapFor from now, then for good. It returns at once.
func (dl *diffLab) flap(t *testing.T) {
	t.Helper()
	addr := ""
	for _, r := range roles {
		if r.role == "flapping" {
			addr = r.addr + ":80"
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var stop func()
	var failed error
	go func() {
		defer close(done)
		end := time.Now().Add(flapFor)
		for up := true; ; up = !up {
			if up {
				ln, err := dl.listen(addr)
				if err != nil {
					failed = err
					return
				}
				srv := &http.Server{Handler: http.HandlerFunc(healthy), ReadHeaderTimeout: 5 * time.Second}
				served := make(chan struct{})
				go func() {
					defer close(served)
					_ = srv.Serve(ln)
				}()
				stop = func() { srv.Close(); <-served }
				if time.Now().After(end) {
					return // held up; stopped at the end of the test
				}
			} else {
				stop()
				stop = nil
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(flapEvery):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if stop != nil {
			stop()
		}
		if failed != nil {
			t.Errorf("the flapping server: %v", failed)
		}
	})
}

// template reads a corpus file with {{EXE}} (the test binary, a
// MISC_CHECK command: see existsArg) and {{DIR}} (the lab's directory,
// holding a file "on" and none "off") filled in.
func (dl *diffLab) template(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer("{{EXE}}", exe, "{{DIR}}", dl.dir).Replace(string(b)))
}

// writeConf writes the filled-in corpus file to the lab's directory as
// keepalived.conf and returns its path.
func (dl *diffLab) writeConf(t *testing.T, path string) string {
	t.Helper()
	conf := filepath.Join(dl.dir, "keepalived.conf")
	if err := os.WriteFile(conf, dl.template(t, path), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}
