package realserver_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/realserver"
)

// A DR real server, as in the study note's section 5(2): the VIP on lo and
// the ARP settings, in one call; Teardown puts the host back as it was.
func ExampleSetup() {
	ctx := context.Background()
	role, err := realserver.Setup(ctx, &realserver.Config{
		Mode: realserver.DR,
		VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")},
	})
	if err != nil {
		log.Fatal(err) // nothing was left half done
	}
	defer role.Teardown(ctx)
	for _, c := range role.Changes() {
		fmt.Println(c)
	}
}

// A TUN real server (section 5(4)) in a named network namespace: the VIP on
// tunl0, tunl0 up, rp_filter off, the ARP settings.
func ExampleSetup_tunnel() {
	ns, err := os.Open("/run/netns/rs1")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	ctx := context.Background()
	role, err := realserver.Setup(ctx, &realserver.Config{
		Mode:  realserver.TUN,
		VIPs:  []netip.Addr{netip.MustParseAddr("10.0.0.100")},
		NetNS: int(ns.Fd()),
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, errors.ErrUnsupported): no ipip module
	}
	defer role.Teardown(ctx)
}

// A TUN real server with an IPv6 address for an IPv4 service (the
// director's destination is the server's IPv6 address, Forward
// ipvs.Tunnel): IPv4 in IPv6 arrives on ip6tnl0, which Setup puts in
// tunnel mode any; the VIP goes on ip6tnl0 with the IPv4 TUN settings.
func ExampleSetup_ipv4InIPv6() {
	ctx := context.Background()
	role, err := realserver.Setup(ctx, &realserver.Config{
		Mode:        realserver.TUN,
		VIPs:        []netip.Addr{netip.MustParseAddr("10.0.0.100")},
		OuterFamily: ipvs.IPv6,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer role.Teardown(ctx)
}

// A TUN real server for an IPv6 service the director tunnels to the
// server's IPv6 address (IPv6 in IPv6): the VIP on ip6tnl0, ip6tnl0 up,
// IPv6 enabled on it. A server with IPv4 VIPs too takes a second role.
func ExampleSetup_ipv6Tunnel() {
	ctx := context.Background()
	role, err := realserver.Setup(ctx, &realserver.Config{
		Mode: realserver.TUN,
		VIPs: []netip.Addr{netip.MustParseAddr("2001:db8::100")},
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, errors.ErrUnsupported): no ip6_tunnel module
	}
	defer role.Teardown(ctx)
}

// A DR real server with its VIPs, IPv4 and IPv6, on a dummy device that
// Setup creates and Teardown deletes.
func ExampleSetup_dummy() {
	ctx := context.Background()
	role, err := realserver.Setup(ctx, &realserver.Config{
		Mode:      realserver.DR,
		VIPs:      []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("2001:db8::100")},
		Interface: "vip0",
		Dummy:     true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer role.Teardown(ctx)
}

// Check finds the note's mistakes without changing anything.
func ExampleCheck() {
	st, err := realserver.Check(context.Background(), &realserver.Config{
		Mode: realserver.DR,
		VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")},
	})
	if err != nil {
		log.Fatal(err)
	}
	if !st.OK() {
		for _, p := range st.Problems {
			fmt.Println(p) // e.g. "net.ipv4.conf.lo.arp_ignore is 0, want 1"
		}
	}
}

// A TUN real server receiving GUE (UDP port 6080) from the director's
// TunnelGUE destinations.
func ExampleSetup_gue() {
	role, err := realserver.Setup(context.Background(), &realserver.Config{
		Mode:    realserver.TUN,
		Encap:   realserver.GUE,
		GUEPort: 6080,
		VIPs:    []netip.Addr{netip.MustParseAddr("10.0.0.100")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer role.Teardown(context.Background())
}

// Moving a real server to another set of VIPs. Roles are not reference
// counted (the ARP sysctls of one role would be put back by the other's
// Teardown), so the old role goes first; Setup is all-or-nothing, so if the
// new one fails nothing of it is left and the old one can be set up again.
func ExampleRole_Teardown_update() {
	ctx := context.Background()
	old := &realserver.Config{Mode: realserver.DR, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	role, err := realserver.Setup(ctx, old)
	if err != nil {
		log.Fatal(err)
	}
	// Later: the VIPs change.
	next := &realserver.Config{Mode: realserver.DR, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")}}
	if err := role.Teardown(ctx); err != nil {
		log.Fatal(err)
	}
	if role, err = realserver.Setup(ctx, next); err != nil {
		log.Printf("new role refused (%v); back to the old one", err)
		if role, err = realserver.Setup(ctx, old); err != nil {
			log.Fatal(err)
		}
	}
	defer role.Teardown(ctx)
}
