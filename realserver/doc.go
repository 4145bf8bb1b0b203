// Package realserver brings a host, or a network namespace, into the real
// server role of an LVS direct-routing (DR) or tunnelling (TUN) cluster,
// and exactly back out.
//
// In both modes the director forwards packets addressed to a virtual IP (VIP)
// without rewriting that address, so every real server must accept the VIP
// as its own while never answering ARP for it (or the router would send the
// clients' packets past the director). What an operator types by hand (the
// study note's section 5):
//
//	DR:  ip addr add VIP/32 dev lo
//	     sysctl net.ipv4.conf.{all,lo}.arp_ignore=1 net.ipv4.conf.{all,lo}.arp_announce=2
//	TUN: ip addr add VIP/32 dev tunl0; ip link set tunl0 up
//	     sysctl net.ipv4.conf.{all,tunl0}.arp_ignore=1 ...arp_announce=2 ...rp_filter=0
//	TUN, IPv6: ip link set ip6tnl0 up; sysctl net.ipv6.conf.ip6tnl0.disable_ipv6=0
//	     ip -6 addr add VIP/128 dev ip6tnl0 nodad
//	TUN, IPv4 VIP in IPv6: ip -6 tunnel change ip6tnl0 mode any; then as TUN with ip6tnl0 for tunl0
//	TUN, IPv6 VIP in IPv4: as TUN, IPv6 with sit0 for ip6tnl0
//
// # What Setup changes, key by key
//
// With D the device that holds the VIPs ("lo" by default in DR, Config.Interface
// otherwise; in TUN the tunnel module's fallback device: tunl0 for IPIP or
// GUE, gre0 for GRE, and for IPv6 VIPs ip6tnl0 for IPIP (IPv6 in IPv6) or
// GUE, ip6gre0 for GRE; across families, see below), in this order, each
// only if it is not so already:
//
//  1. DR with Dummy: creates the dummy device D (module dummy). TUN: if D does
//     not exist, asks the kernel for it, which loads ipip (ip_gre, ip6_tunnel,
//     ip6_gre); a device the request created is deleted by Teardown, one
//     the module load made is left.
//  2. Sets D up. Addresses the kernel adds as a consequence (127.0.0.1/8
//     and ::1 on lo, an IPv6 link-local address on others) are counted as
//     Setup's: Teardown removes them and sets D down.
//  3. net.ipv4.conf.all.arp_ignore = 1, net.ipv4.conf.all.arp_announce = 2,
//     net.ipv4.conf.D.arp_ignore = 1, net.ipv4.conf.D.arp_announce = 2;
//     TUN also net.ipv4.conf.all.rp_filter = 0 and net.ipv4.conf.D.rp_filter = 0.
//     These come before the VIPs, so that no ARP reply for a VIP can leave
//     in between. They are written as one sysctl.Apply: all or none.
//     TUN with IPv6 VIPs writes no IPv4 key, only
//     net.ipv6.conf.D.disable_ipv6 = 0.
//  4. TUN with IPv4 VIPs over IPv6 on ip6tnl0: sets its tunnel mode to any
//     (ip -6 tunnel change ip6tnl0 mode any); Teardown puts back the mode
//     it read. TUN over GUE: opens the GUE receive port Config.GUEPort
//     (module fou) of the outer family, an IPv6 one over IPv6.
//  5. Adds each VIP to D as a host address (/32, or /128 without duplicate
//     address detection).
//
// Role.Changes lists what was done. Teardown undoes those steps in reverse
// order, restoring every sysctl to the value it read before writing it.
// Addresses that were already there stay; a sysctl already at its value is
// not written (and so not touched by Teardown); running Setup twice changes
// nothing the second time. If a step fails, Setup undoes the steps before
// it and returns the error. Nothing else (routes, ip_forward, other
// interfaces) is touched.
//
// Roles are not reference counted. A second Role set up while the first is
// in place records only what it changed itself; tear roles down in the
// reverse order of their Setups, or the first Teardown restores the "all"
// keys that the later role still relies on.
//
// # Why these keys
//
// The kernel takes the larger of "all" and the interface's value for
// arp_ignore, arp_announce and rp_filter. arp_ignore is judged on the
// interface an ARP request arrives on (eth0, not lo) and arp_announce on the
// one a request leaves by; setting "all" therefore covers every interface,
// whatever its own value. The keys of D itself are set as the note does;
// for ARP they change nothing on lo, but they matter for rp_filter in TUN,
// where the decapsulated packets arrive on tunl0 from a client routed out
// another interface: strict filtering (1) on "all" or on tunl0 drops them;
// off (0, what Setup writes) or loose (2) works, and Check accepts either.
//
// ARP does not exist for IPv6, and nothing needs to be set for IPv6 VIPs:
// Linux answers a neighbour solicitation only for an address on the
// interface it arrived on (unlike IPv4's ARP, which by default answers for
// any local address), so an IPv6 VIP on lo or a dummy device is never
// announced on other links unless proxy_ndp is on.
//
// In TUN mode the VIPs are of one family, that of the packets the director
// tunnels, by default to the server's address of the same family: IPv4 in
// IPv4 on tunl0 or gre0, IPv6 in IPv6 on ip6tnl0 or ip6gre0 (a server with
// VIPs of both families takes one role per family; VIPs of both in one
// Config are an ErrInvalid). IPv6 has no rp_filter; what the IPv6 tunnel device needs
// is IPv6 itself: a device with disable_ipv6 = 1 refuses the VIPs and
// drops the decapsulated packets arriving on it. The VIPs are added
// without duplicate address detection (the tunnel devices are NOARP, so
// the kernel would skip it anyway). Taking the device down deletes its
// IPv6 addresses (net.ipv6.conf.D.keep_addr_on_down is 0 by default); the
// undo removes them first. ip6tnl0 decapsulates only packets whose outer
// destination is a local address that is not tentative and whose outer
// source is not a local address of the server (ip6_tnl_rcv_ctl): the
// director must not send them from the VIP.
//
// Across families (Config.OuterFamily): the director also tunnels an
// IPv4 service to IPv6 real servers and an IPv6 service to IPv4 ones. The
// device is the outer family's: IPv4 VIPs in IPv6 arrive on ip6tnl0 (ipip,
// GUE) or ip6gre0 (GRE), IPv6 VIPs in IPv4 on sit0 (module sit; ipip, GUE)
// or gre0 (GRE); the VIPs go on that device and the settings are the
// VIPs' family's (for IPv4 VIPs the ARP and rp_filter keys above, on the
// IPv6 tunnel device; for IPv6 VIPs disable_ipv6 = 0). ip6tnl0 is created
// in mode ip6ip6 and drops IPv4 in IPv6 (ipxip6_rcv): Setup puts it in
// mode any (it then takes both, so an IPv6-in-IPv6 role on the same
// device keeps working), over rtnetlink where the kernel allows it for
// the fallback device (Linux 6.17 and later), else with the
// SIOCCHGTUNNEL ioctl that ip -6 tunnel uses. Bringing sit0 up makes the
// kernel add an IPv4-compatible address (::a.b.c.d/96) to it for each
// IPv4 address of the namespace; like other addresses the kernel adds,
// Teardown removes them. sit0 checks packets whose inner addresses are in
// its 6rd prefix (2002::/16 by default, 6to4) against the outer IPv4
// addresses and drops them as spoofed: VIPs and clients there do not work
// over sit0.
//
// TUN takes three encapsulations, matching the director's tunnel types: IPIP
// (tunl0), GUE (IPIP inside UDP: Setup also opens the GUE receive port
// through the fou module, and Teardown closes it) and GRE (gre0, from the
// ip_gre module). A missing module gives an error matching
// errors.ErrUnsupported.
//
// Check reports what is missing from a host that should be in the role:
// the mistakes of the note (forgotten lo ARP settings, rp_filter left on,
// tunl0 down, VIP missing, GUE port closed; for IPv6 TUN, IPv6 disabled on
// ip6tnl0). It changes nothing.
//
// Every change is made in Config.NetNS (the caller's namespace if zero):
// links and addresses over rtnetlink sockets opened in that namespace, sysctls
// through package sysctl bound to it. No thread of the caller changes
// namespace.
package realserver
