//go:build linux

package lab

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Lab is a set of hosts (network namespaces) and the links, bridges and
// servers between them. Its methods are safe for concurrent use. Close frees
// everything the Lab made.
type Lab struct {
	// mu is held for reading by every operation that uses a host's
	// namespace, and for writing by NewHost, Serve and Close, so Close never
	// frees a namespace handle in use.
	mu      sync.RWMutex
	closed  bool
	hosts   []*Host // in creation order
	byName  map[string]*Host
	servers []*http.Server
	serving sync.WaitGroup // one per running server goroutine
}

// New returns an empty Lab. On Linux it does not fail; the error is for
// platforms without network namespaces (errors.ErrUnsupported).
func New() (*Lab, error) {
	return &Lab{byName: make(map[string]*Host)}, nil
}

// Build returns a new Lab with s applied. If any step fails, everything made
// so far is freed and the error names the step.
func Build(s Spec) (*Lab, error) {
	l, err := New()
	if err != nil {
		return nil, err
	}
	if err := l.Apply(s); err != nil {
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

// NewHost creates a host: a fresh network namespace with lo up, whose IPv4
// forwarding, rp_filter, arp_ignore and arp_announce (which a new namespace
// copies from the host's) are reset to the kernel's defaults (0), so a lab
// behaves the same on any machine. Names are unique within a Lab.
func (l *Lab) NewHost(name string) (*Host, error) {
	if name == "" {
		return nil, errors.New("lab: host with an empty name")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if l.byName[name] != nil {
		return nil, fmt.Errorf("lab: host %q exists", name)
	}
	h, err := newHost(l, name)
	if err != nil {
		return nil, err
	}
	l.hosts = append(l.hosts, h)
	l.byName[name] = h
	return h, nil
}

// Host returns the host (or bridge namespace) called name, or nil.
func (l *Lab) Host(name string) *Host {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.byName[name]
}

// Close stops every server, closes every socket and releases every
// namespace the Lab made; the kernel then removes the namespaces with all
// their interfaces (veth pairs, bridges), addresses and routes. Nothing was
// ever made outside them. Close waits for operations in flight and is
// idempotent; later calls return nil.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	servers, hosts := l.servers, l.hosts
	l.servers, l.hosts, l.byName = nil, nil, nil
	l.mu.Unlock()

	var errs []error
	for _, srv := range servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("lab: stop server %s: %w", srv.Addr, err))
		}
	}
	l.serving.Wait()
	for i := len(hosts) - 1; i >= 0; i-- {
		errs = append(errs, hosts[i].close())
	}
	return errors.Join(errs...)
}

// Apply creates s in l: its hosts, links, bridges, then each host's extra
// addresses, sysctls, routes and pages (served until Close). s is validated
// first; a failure later leaves what was made so far in l for Close.
func (l *Lab) Apply(s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	for _, hs := range s.Hosts {
		if _, err := l.NewHost(hs.Name); err != nil {
			return err
		}
	}
	for _, ls := range s.Links {
		if err := l.Link(l.port(ls.A), l.port(ls.B)); err != nil {
			return err
		}
	}
	for _, bs := range s.Bridges {
		ports := make([]Port, len(bs.Ports))
		for i, p := range bs.Ports {
			ports[i] = l.port(p)
		}
		if _, err := l.Bridge(bs.Name, ports...); err != nil {
			return err
		}
	}
	for _, hs := range s.Hosts {
		h := l.Host(hs.Name)
		if h == nil {
			return ErrClosed
		}
		if err := h.apply(hs); err != nil {
			return err
		}
	}
	return nil
}

// port resolves a PortSpec whose host exists in l.
func (l *Lab) port(p PortSpec) Port {
	return Port{Host: l.Host(p.Host), If: p.If, CIDR: p.CIDR}
}

// acquire holds l open for one operation; call the returned func after it.
func (l *Lab) acquire() (release func(), err error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	return l.mu.RUnlock, nil
}
