//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"

	cfipvs "github.com/cloudflare/ipvs"
	cfnetmask "github.com/cloudflare/ipvs/netmask"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/ipvs"
	mobyipvs "github.com/moby/ipvs"
)

// work is what every loader is given: the table to create and delete, and
// the 1% of destinations whose weight changes.
type work struct {
	table   []ipvs.TableService
	weights []weightChange
}

type weightChange struct {
	svc  ipvs.Service
	dest ipvs.Destination
}

// session is one loader's client in one namespace. A nil workload is one
// the loader does not run (the SDK's dump is the same for both of its
// loading styles).
type session struct {
	create  func() error
	dump    func() (int, error) // objects read
	weights func() error
	remove  func() error
	close   func()
}

type loader struct {
	name string
	open func(ns int, w *work) (*session, error)
}

var loaders = []loader{
	{"lvs batched", openLVS(true)},
	{"lvs one by one", openLVS(false)},
	{"moby/ipvs", openMoby},
	{"cloudflare/ipvs", openCloudflare},
	{"ipvsadm -R / -Sn", openIpvsadm},
	{"raw pre-encoded", openRawLoader(false)},
	{"raw, errors only", openRawLoader(true)},
}

var bg = context.Background()

func openLVS(batched bool) func(int, *work) (*session, error) {
	return func(ns int, w *work) (*session, error) {
		c, err := ipvs.New(&ipvs.Config{NetNS: ns})
		if err != nil {
			return nil, err
		}
		s := &session{close: func() { c.Close() }}
		if batched {
			apply := func(b *ipvs.Batch) error {
				results, err := c.Apply(bg, b)
				if err != nil {
					return err
				}
				for i, r := range results {
					if r != nil {
						return fmt.Errorf("change %d: %w", i, r)
					}
				}
				return nil
			}
			s.create = func() error {
				var b ipvs.Batch
				for _, ts := range w.table {
					b.CreateService(ts.Service)
					for _, d := range ts.Destinations {
						b.CreateDestination(ts.Service, d)
					}
				}
				return apply(&b)
			}
			s.weights = func() error {
				var b ipvs.Batch
				for _, wc := range w.weights {
					b.UpdateDestination(wc.svc, wc.dest)
				}
				return apply(&b)
			}
			s.remove = func() error {
				var b ipvs.Batch
				for _, ts := range w.table {
					b.DeleteService(ts.Service)
				}
				return apply(&b)
			}
			s.dump = func() (int, error) {
				t, err := c.Table(bg)
				n := len(t.Services)
				for _, ts := range t.Services {
					n += len(ts.Destinations)
				}
				return n, err
			}
			return s, nil
		}
		s.create = func() error {
			for _, ts := range w.table {
				if err := c.CreateService(bg, ts.Service); err != nil {
					return err
				}
				for _, d := range ts.Destinations {
					if err := c.CreateDestination(bg, ts.Service, d); err != nil {
						return err
					}
				}
			}
			return nil
		}
		s.weights = func() error {
			for _, wc := range w.weights {
				if err := c.UpdateDestination(bg, wc.svc, wc.dest); err != nil {
					return err
				}
			}
			return nil
		}
		s.remove = func() error {
			for _, ts := range w.table {
				if err := c.DeleteService(bg, ts.Service); err != nil {
					return err
				}
			}
			return nil
		}
		return s, nil
	}
}

func mobyService(s ipvs.Service) *mobyipvs.Service {
	return &mobyipvs.Service{
		Address: net.IP(s.Addr.Addr().AsSlice()), Port: s.Addr.Port(), Protocol: syscall.IPPROTO_TCP,
		AddressFamily: syscall.AF_INET, SchedName: string(s.Scheduler), Netmask: 0xffffffff,
	}
}

func mobyDest(d ipvs.Destination) *mobyipvs.Destination {
	return &mobyipvs.Destination{
		Address: net.IP(d.Addr.Addr().AsSlice()), Port: d.Addr.Port(), Weight: d.Weight,
		ConnectionFlags: mobyipvs.ConnectionFlagMasq, AddressFamily: syscall.AF_INET,
	}
}

func openMoby(ns int, w *work) (*session, error) {
	h, err := mobyipvs.New(fmt.Sprintf("/proc/self/fd/%d", ns))
	if err != nil {
		return nil, err
	}
	return peer[*mobyipvs.Service]{
		service: mobyService, create: h.NewService,
		createDest: func(s *mobyipvs.Service, d ipvs.Destination) error { return h.NewDestination(s, mobyDest(d)) },
		updateDest: func(s *mobyipvs.Service, d ipvs.Destination) error { return h.UpdateDestination(s, mobyDest(d)) },
		remove:     h.DelService, list: h.GetServices,
		dests: func(s *mobyipvs.Service) (int, error) {
			ds, err := h.GetDestinations(s)
			return len(ds), err
		},
	}.session(w, h.Close), nil
}

func cfService(s ipvs.Service) cfipvs.Service {
	return cfipvs.Service{
		Address: s.Addr.Addr(), Port: s.Addr.Port(), Protocol: cfipvs.TCP, Family: cfipvs.INET,
		Scheduler: string(s.Scheduler), Netmask: cfnetmask.MaskFrom(32, 32),
	}
}

func cfDest(d ipvs.Destination) cfipvs.Destination {
	return cfipvs.Destination{
		Address: d.Addr.Addr(), Port: d.Addr.Port(), Weight: uint32(d.Weight),
		FwdMethod: cfipvs.Masquerade, Family: cfipvs.INET,
	}
}

func openCloudflare(ns int, w *work) (*session, error) {
	var c cfipvs.Client
	// The client's socket belongs to the namespace of the thread that opens it.
	err := netnsx.Do(ns, func() (err error) {
		c, err = cfipvs.New()
		return err
	})
	if err != nil {
		return nil, err
	}
	// Its listing returns ServiceExtended, which the other calls take as
	// its Service: no conversion is timed that the library's user would
	// not make.
	type svc = cfipvs.ServiceExtended
	return peer[svc]{
		service:    func(s ipvs.Service) svc { return svc{Service: cfService(s)} },
		create:     func(s svc) error { return c.CreateService(s.Service) },
		createDest: func(s svc, d ipvs.Destination) error { return c.CreateDestination(s.Service, cfDest(d)) },
		updateDest: func(s svc, d ipvs.Destination) error { return c.UpdateDestination(s.Service, cfDest(d)) },
		remove:     func(s svc) error { return c.RemoveService(s.Service) },
		list:       c.Services,
		dests: func(s svc) (int, error) {
			ds, err := c.Destinations(s.Service)
			return len(ds), err
		},
	}.session(w, func() { c.(interface{ Close() error }).Close() }), nil
}

// peer is a library's calls, one object per call, with S its service
// type (each service is converted once).
type peer[S any] struct {
	service                func(ipvs.Service) S
	create, remove         func(S) error
	createDest, updateDest func(S, ipvs.Destination) error
	list                   func() ([]S, error)
	dests                  func(S) (int, error) // how many destinations it read
}

func (p peer[S]) session(w *work, close func()) *session {
	return &session{
		close: close,
		create: func() error {
			for _, ts := range w.table {
				svc := p.service(ts.Service)
				if err := p.create(svc); err != nil {
					return err
				}
				for _, d := range ts.Destinations {
					if err := p.createDest(svc, d); err != nil {
						return err
					}
				}
			}
			return nil
		},
		dump: func() (int, error) {
			svcs, err := p.list()
			if err != nil {
				return 0, err
			}
			n := len(svcs)
			for _, s := range svcs {
				k, err := p.dests(s)
				if err != nil {
					return n, err
				}
				n += k
			}
			return n, nil
		},
		weights: func() error {
			for _, wc := range w.weights {
				if err := p.updateDest(p.service(wc.svc), wc.dest); err != nil {
					return err
				}
			}
			return nil
		},
		remove: func() error {
			for _, ts := range w.table {
				if err := p.remove(p.service(ts.Service)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// openIpvsadm runs ipvsadm in the namespace, its input written out before
// the clock starts; its CPU time is counted as the children's.
func openIpvsadm(ns int, w *work) (*session, error) {
	path, err := exec.LookPath("ipvsadm")
	if err != nil {
		return nil, err
	}
	var create, weights, remove strings.Builder
	for _, ts := range w.table {
		fmt.Fprintf(&create, "-A -t %s -s %s\n", ts.Addr, ts.Scheduler)
		for _, d := range ts.Destinations {
			fmt.Fprintf(&create, "-a -t %s -r %s -m -w %d\n", ts.Addr, d.Addr, d.Weight)
		}
		fmt.Fprintf(&remove, "-D -t %s\n", ts.Addr)
	}
	for _, wc := range w.weights {
		fmt.Fprintf(&weights, "-e -t %s -r %s -m -w %d\n", wc.svc.Addr, wc.dest.Addr, wc.dest.Weight)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	run := func(stdin string, stdout io.Writer, args ...string) error {
		return netnsx.Do(ns, func() error {
			cmd := exec.Command(path, args...)
			cmd.Stdin = strings.NewReader(stdin)
			cmd.Stdout = stdout
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("ipvsadm %v: %w: %s", args, err, stderr.String())
			}
			return nil
		})
	}
	return &session{
		close:   func() { devnull.Close() },
		create:  func() error { return run(create.String(), devnull, "-R") },
		weights: func() error { return run(weights.String(), devnull, "-R") },
		remove:  func() error { return run(remove.String(), devnull, "-R") },
		dump: func() (int, error) {
			// One line per service and per destination.
			var lines lineCounter
			err := run("", &lines, "-S", "-n")
			return int(lines), err
		},
	}, nil
}

type lineCounter int

func (l *lineCounter) Write(p []byte) (int, error) {
	*l += lineCounter(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// openRawLoader sends requests encoded before the clock starts, every one
// acknowledged or (errorsOnly) only each sendmsg's last.
func openRawLoader(errorsOnly bool) func(int, *work) (*session, error) {
	return func(ns int, w *work) (*session, error) {
		return openRawSession(ns, w, errorsOnly)
	}
}

func openRawSession(ns int, w *work, errorsOnly bool) (*session, error) {
	r, err := openRaw(ns)
	if err != nil {
		return nil, err
	}
	create, weights, remove := r.encodeCreate(w.table), r.encodeWeights(w.weights), r.encodeDelete(w.table)
	if errorsOnly {
		create, weights, remove = create.errorsOnly(), weights.errorsOnly(), remove.errorsOnly()
	}
	s := &session{
		close:   r.close,
		create:  func() error { return r.send(create) },
		weights: func() error { return r.send(weights) },
		remove:  func() error { return r.send(remove) },
	}
	if !errorsOnly { // a dump is one request: the same either way
		dumps := r.dumpRequests(w.table)
		s.dump = func() (int, error) { return r.dump(dumps) }
	}
	return s, nil
}
