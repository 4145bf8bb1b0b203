package realserver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

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
// what is missing if not. It changes nothing.
func Check(ctx context.Context, cfg Config) (*Status, error) {
	if err := cfg.validate(); err != nil {
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
		v, err := e.sc.Get(s.Key)
		if err != nil {
			problem("%v", err)
			continue
		}
		if v != s.Value {
			problem("%s is %s, want %s", s.Key, v, s.Value)
		}
	}
	if cfg.Mode == TUN {
		// The kernel filters with the larger of "all" and the device's
		// value: either at 1 drops decapsulated packets.
		a, _ := e.sc.Get(sysctl.RPFilter("all"))
		d, _ := e.sc.Get(sysctl.RPFilter(ifc))
		if max(atoi(a), atoi(d)) == 1 {
			problem("effective rp_filter on %s is strict (1): decapsulated packets will be dropped", ifc)
		}
	}
	return st, ctx.Err()
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
