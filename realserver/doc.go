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
//
// # What Setup changes, key by key
//
// With D the device that holds the VIPs ("lo" by default in DR, Config.Interface
// otherwise; in TUN the tunnel module's fallback device: tunl0 for IPIP or
// GUE, gre0 for GRE, and for IPv6 VIPs ip6tnl0 for IPIP (IPv6 in IPv6) or
// GUE, ip6gre0 for GRE), in this order, each only if it is not so already:
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
//  4. TUN over GUE: opens the GUE receive port Config.GUEPort (module fou),
//     an IPv6 one for IPv6 VIPs.
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
// tunnels to the server's address of the same family: IPv4 in IPv4 on
// tunl0 or gre0, IPv6 in IPv6 on ip6tnl0 or ip6gre0 (a server with VIPs of
// both families takes one role per family; VIPs of both in one Config are
// an ErrInvalid). IPv6 has no rp_filter; what the IPv6 tunnel device needs
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
