package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Spec describes a topology as data. Apply creates it in this order: hosts,
// links, bridges, then for each host in order its extra addresses, sysctls,
// routes and pages.
type Spec struct {
	Hosts   []HostSpec
	Links   []LinkSpec
	Bridges []BridgeSpec
}

// HostSpec describes one host (network namespace).
type HostSpec struct {
	Name    string
	Addrs   []AddrSpec // addresses beyond those of the host's links and bridge ports
	Sysctls []SysctlSpec
	Routes  []RouteSpec
	Pages   []PageSpec // HTTP servers the host runs for the lab's lifetime
}

// PortSpec is one end of a link or one bridge port: an interface named If in
// the host named Host, with the address CIDR ("10.0.0.8/24"; empty for none).
type PortSpec struct {
	Host, If, CIDR string
}

// LinkSpec is a veth pair between two hosts.
type LinkSpec struct {
	A, B PortSpec
}

// BridgeSpec is one L2 segment: a Linux bridge named Name in a namespace of
// its own, with one veth port per entry of Ports.
type BridgeSpec struct {
	Name  string
	Ports []PortSpec
}

// AddrSpec is an address to add to an existing interface (for example lo).
type AddrSpec struct {
	If, CIDR string
}

// SysctlSpec is a sysctl to write inside a host's namespace, in dotted
// ("net.ipv4.ip_forward") or slash form.
type SysctlSpec struct {
	Key, Value string
}

// RouteSpec is a route to Dst (a prefix, or "default") through the gateway Via.
type RouteSpec struct {
	Dst, Via string
}

// PageSpec is an HTTP server listening on Addr (":80") that answers every
// request with Body.
type PageSpec struct {
	Addr, Body string
}

// Validate reports the first problem in s that can be found without touching
// the kernel: empty or repeated host names, references to hosts s does not
// declare, and addresses or routes that do not parse. Apply calls it first.
func (s Spec) Validate() error {
	hosts := make(map[string]bool, len(s.Hosts))
	for _, h := range s.Hosts {
		if h.Name == "" {
			return errors.New("lab: host with an empty name")
		}
		if hosts[h.Name] {
			return fmt.Errorf("lab: host %q declared twice", h.Name)
		}
		hosts[h.Name] = true
	}
	port := func(p PortSpec) error {
		if !hosts[p.Host] {
			return fmt.Errorf("lab: port %s: unknown host %q", p.If, p.Host)
		}
		return checkPort(p.If, p.CIDR)
	}
	for _, l := range s.Links {
		if err := errors.Join(port(l.A), port(l.B)); err != nil {
			return err
		}
	}
	for _, b := range s.Bridges {
		if err := checkIfName(b.Name); err != nil {
			return err
		}
		if hosts[b.Name] {
			return fmt.Errorf("lab: bridge %q: name taken by a host or bridge", b.Name)
		}
		hosts[b.Name] = true
		for _, p := range b.Ports {
			if err := port(p); err != nil {
				return err
			}
		}
	}
	for _, h := range s.Hosts {
		for _, a := range h.Addrs {
			if err := checkPort(a.If, a.CIDR); err != nil {
				return err
			}
		}
		for _, r := range h.Routes {
			if _, _, err := parseRoute(r.Dst, r.Via); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkPort validates an interface name and an optional CIDR.
func checkPort(ifname, cidr string) error {
	if err := checkIfName(ifname); err != nil {
		return err
	}
	if cidr == "" {
		return nil
	}
	_, err := parseCIDR(cidr)
	return err
}

// checkIfName rejects names the kernel would refuse as interface names.
func checkIfName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("lab: interface name %q: want 1 to 15 bytes", name)
	}
	return nil
}

// parseCIDR parses an interface address such as "10.0.0.8/24".
func parseCIDR(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("lab: address: %w", err)
	}
	return p, nil
}

// parseRoute parses a route's destination ("default" or a prefix) and
// gateway, which must be of the same family.
func parseRoute(dst, via string) (netip.Prefix, netip.Addr, error) {
	gw, err := netip.ParseAddr(via)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("lab: route %s via %q: %w", dst, via, err)
	}
	var d netip.Prefix
	if dst == "default" {
		d = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			d = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	} else if d, err = netip.ParsePrefix(dst); err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("lab: route %q: %w", dst, err)
	}
	if d.Addr().Is4() != gw.Is4() {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("lab: route %s via %s: mixed address families", dst, via)
	}
	return d.Masked(), gw, nil
}

// sysctlPath maps a sysctl key in dotted ("net.ipv4.ip_forward") or slash
// ("net/ipv4/conf/eth0.100/rp_filter") form to its file under /proc/sys.
func sysctlPath(key string) (string, error) {
	k := strings.TrimPrefix(key, "/proc/sys/")
	if !strings.Contains(k, "/") {
		k = strings.ReplaceAll(k, ".", "/")
	}
	for _, part := range strings.Split(k, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("lab: sysctl key %q: invalid", key)
		}
	}
	return "/proc/sys/" + k, nil
}
