//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
)

// Host is one network namespace of a Lab.
type Host struct {
	name   string
	lab    *Lab
	ns     netns.NsHandle
	rt     *rtnetlink.Conn // route netlink socket opened in ns
	client *http.Client    // dials from ns, one connection per request
}

// newHost creates the namespace, its netlink socket and its baseline.
func newHost(l *Lab, name string) (*Host, error) {
	fd, err := netnsx.New(true)
	ns := netns.NsHandle(fd)
	if err != nil {
		return nil, fmt.Errorf("lab: host %s: %w", name, err)
	}
	h := &Host{name: name, lab: l, ns: ns}
	h.rt, err = rtnetlink.Dial(&netlink.Config{NetNS: int(ns)})
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("lab: host %s: rtnetlink: %w", name, err)
	}
	h.client = newClient(h)
	if err := h.do(func() error {
		for _, s := range baseline() {
			if err := writeSysctl(s.Key, s.Value); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, errors.Join(fmt.Errorf("lab: host %s: %w", name, err), h.close())
	}
	return h, nil
}

// baseline lists the kernel defaults a new namespace gets back, because
// with net.core.devconf_inherit_init_net=0 (the default) it copies the
// host's current IPv4 settings instead.
func baseline() []SysctlSpec {
	return []SysctlSpec{
		{"net/ipv4/ip_forward", "0"},
		{"net/ipv4/conf/all/rp_filter", "0"},
		{"net/ipv4/conf/default/rp_filter", "0"},
		{"net/ipv4/conf/all/arp_ignore", "0"},
		{"net/ipv4/conf/default/arp_ignore", "0"},
		{"net/ipv4/conf/all/arp_announce", "0"},
		{"net/ipv4/conf/default/arp_announce", "0"},
	}
}

// close releases the host's sockets and namespace handle.
func (h *Host) close() error {
	h.client.CloseIdleConnections()
	var errs []error
	if err := h.rt.Close(); err != nil {
		errs = append(errs, fmt.Errorf("lab: host %s: close rtnetlink: %w", h.name, err))
	}
	if err := h.ns.Close(); err != nil {
		errs = append(errs, fmt.Errorf("lab: host %s: close netns: %w", h.name, err))
	}
	return errors.Join(errs...)
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// NS returns the host's namespace handle, for opening sockets there (for
// example netlink.Config{NetNS: int(h.NS())}). The Lab owns it: do not close
// it; it is valid until the Lab is closed.
func (h *Host) NS() netns.NsHandle { return h.ns }

// Do runs fn on a locked OS thread inside the host's namespace and switches
// the thread back afterwards (see netnsx.Do). Sockets fn opens belong to the
// namespace. fn must not call methods of the Lab or its hosts.
func (h *Host) Do(fn func() error) error {
	release, err := h.lab.acquire()
	if err != nil {
		return err
	}
	defer release()
	return h.do(fn)
}

// do is Do for callers that already hold the Lab open.
func (h *Host) do(fn func() error) error { return netnsx.Do(int(h.ns), fn) }

// AddAddr adds cidr ("10.0.0.100/32") to the interface ifname.
func (h *Host) AddAddr(ifname, cidr string) error {
	p, err := parseCIDR(cidr)
	if err != nil {
		return err
	}
	release, err := h.lab.acquire()
	if err != nil {
		return err
	}
	defer release()
	return h.addAddr(ifname, p)
}

// Route adds a route to dst (a prefix such as "172.16.0.0/24", or
// "default") through the gateway via.
func (h *Host) Route(dst, via string) error {
	d, gw, err := parseRoute(dst, via)
	if err != nil {
		return err
	}
	release, err := h.lab.acquire()
	if err != nil {
		return err
	}
	defer release()
	return h.route(d, gw)
}

// Sysctl writes value to key ("net.ipv4.ip_forward", or slash form for keys
// whose parts contain dots) inside the host's namespace.
func (h *Host) Sysctl(key, value string) error {
	err := h.Do(func() error { return writeSysctl(key, value) })
	if err != nil {
		return fmt.Errorf("lab: host %s: %w", h.name, err)
	}
	return nil
}

// ReadSysctl returns the value of key inside the host's namespace, without
// its trailing newline.
func (h *Host) ReadSysctl(key string) (string, error) {
	var v string
	err := h.Do(func() error {
		path, err := sysctlPath(key)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		v = strings.TrimSuffix(string(b), "\n")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("lab: host %s: sysctl %s: %w", h.name, key, err)
	}
	return v, nil
}

// writeSysctl writes key in the calling thread's namespace. /proc/sys/net
// shows the namespace of the thread that opens the file.
func writeSysctl(key, value string) error {
	path, err := sysctlPath(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// apply makes the per-host part of a Spec.
func (h *Host) apply(s HostSpec) error {
	for _, a := range s.Addrs {
		if err := h.AddAddr(a.If, a.CIDR); err != nil {
			return err
		}
	}
	for _, sc := range s.Sysctls {
		if err := h.Sysctl(sc.Key, sc.Value); err != nil {
			return err
		}
	}
	for _, r := range s.Routes {
		if err := h.Route(r.Dst, r.Via); err != nil {
			return err
		}
	}
	for _, p := range s.Pages {
		if err := h.Serve(context.Background(), p.Addr, p.Body); err != nil {
			return err
		}
	}
	return nil
}
