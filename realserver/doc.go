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
//
// Setup does exactly that and returns a Role whose Teardown removes what
// Setup added and puts every sysctl back to its previous value. Addresses
// that were already there stay; a sysctl already at its value is not
// written (and so not touched by Teardown); running Setup twice changes
// nothing the second time. If a step fails, Setup undoes the steps before
// it and returns the error.
//
// The kernel takes the larger of "all" and the interface's value for
// arp_ignore, arp_announce and rp_filter: that is why both are set, and why
// rp_filter=1 on "all" alone breaks TUN (decapsulated packets arrive on
// tunl0 from a source routed elsewhere). ARP does not exist for IPv6: an
// IPv6 VIP on lo or a dummy device is not announced by neighbour discovery
// on other links, so IPv6 VIPs need only the address (added with nodad).
//
// TUN takes three encapsulations, matching the director's tunnel types: IPIP
// (tunl0), GUE (IPIP inside UDP: Setup also opens the GUE receive port
// through the fou module, and Teardown closes it) and GRE (gre0, from the
// ip_gre module).
//
// Check reports what is missing from a host that should be in the role:
// the mistakes of the note (forgotten lo ARP settings, rp_filter left on,
// tunl0 down, VIP missing).
package realserver
