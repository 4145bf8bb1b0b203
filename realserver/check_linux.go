package realserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/sysctl"
	"golang.org/x/sys/unix"
)

// Status is what Check found.
type Status struct {
	// Problems lists, in words, what keeps the host from the role; empty
	// when the host is in it.
	Problems []string
}

// OK reports whether the host is correctly in the role.
func (s *Status) OK() bool { return len(s.Problems) == 0 }

// Check reports whether the namespace is in the role cfg describes, and
// what is missing if not. It changes nothing. A nil or bad cfg gives an
// error matching ErrInvalid (and fs.ErrInvalid); a done ctx gives ctx.Err().
func Check(ctx context.Context, cfg *Config) (*Status, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := netnsx.Dup(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	defer func() {
		if fd > 0 {
			unix.Close(fd)
		}
	}()
	e, err := openEnv(fd)
	if err != nil {
		return nil, err
	}
	defer e.close()
	st := &Status{}
	problem := func(format string, args ...any) { st.Problems = append(st.Problems, fmt.Sprintf(format, args...)) }

	ifc := cfg.iface()
	link, err := e.rt.FindLink(ifc)
	if err != nil {
		return nil, err
	}
	if link == nil {
		problem("interface %s does not exist", ifc)
	} else {
		if link.Flags&unix.IFF_UP == 0 {
			problem("interface %s is down", ifc)
		}
		have, err := e.rt.Addrs(link.Index)
		if err != nil {
			return nil, err
		}
		for _, vip := range cfg.VIPs {
			if !slices.Contains(have, netip.PrefixFrom(vip, vip.BitLen())) {
				problem("VIP %v is not on %s", vip, ifc)
			}
		}
	}
	for _, s := range cfg.settings() {
		if cfg.Mode == TUN && isRPFilter(s.Key) {
			continue // judged below by its effective value: 0 and 2 both work
		}
		if link == nil && s.Key != sysctl.ArpIgnore("all") && s.Key != sysctl.ArpAnnounce("all") {
			continue // the device's keys exist only with the device
		}
		v, err := e.sc.Get(ctx, s.Key)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if errors.Is(err, fs.ErrNotExist) && link.Flags&unix.IFF_UP == 0 && isDeviceKey(s.Key, ifc) {
			// gre0 has no IPv6 configuration before it is first up (the
			// kernel makes one then): the device is reported down above.
			continue
		}
		if err != nil {
			problem("%v", err)
			continue
		}
		if v != s.Value {
			problem("%s is %s, want %s", s.Key, v, s.Value)
		}
	}
	if cfg.Mode == TUN && !cfg.ipv6() && link != nil {
		// The kernel filters with the larger of "all" and the device's
		// value: strict (1) drops the decapsulated packets, whose source
		// is routed out another interface; loose (2) and off (0) work.
		all, aerr := e.sc.GetInt(ctx, sysctl.RPFilter("all"))
		dev, derr := e.sc.GetInt(ctx, sysctl.RPFilter(ifc))
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch {
		case aerr != nil:
			problem("%v", aerr)
		case derr != nil:
			problem("%v", derr)
		case max(all, dev) == 1:
			problem("effective rp_filter on %s is strict: max(all=%d, %s=%d) = 1 drops decapsulated packets; want 0 (or 2)", ifc, all, ifc, dev)
		}
	}
	if cfg.anyProto() && link != nil {
		if _, proto, err := ip6tnlData(e.rt, link.Index); err != nil {
			problem("%s: %v", ifc, err)
		} else if !acceptsIPv4(proto) {
			problem("%s decapsulates only IPv6 in IPv6 (tunnel mode %s), not the IPv4 VIPs' packets; want mode any", ifc, tunnelProtoName(proto))
		}
	}
	if cfg.Encap == GUE {
		if open, err := hasGUEPort(fd, cfg.GUEPort, cfg.outer6()); err != nil {
			problem("GUE receive port %d: %v", cfg.GUEPort, err)
		} else if !open {
			problem("GUE receive port %d is not open", cfg.GUEPort)
		}
	}
	return st, ctx.Err()
}

func hasGUEPort(netns int, port uint16, ipv6 bool) (bool, error) {
	f, err := dialFOU(netns, ipv6)
	if err != nil {
		return false, err
	}
	defer f.close()
	return f.hasGUE(port)
}

func isRPFilter(k sysctl.Key) bool { return strings.HasSuffix(string(k), ".rp_filter") }

// isDeviceKey reports whether k is one of device ifc's keys.
func isDeviceKey(k sysctl.Key, ifc string) bool {
	return strings.Contains(string(k), ".conf."+ifc+".")
}
