// Package vrrp is a VRRP speaker (RFC 5798 / RFC 9568 version 3, RFC 3768
// version 2) that interoperates with keepalived 2.2: a director pair moves
// its virtual addresses with it, or a node of a keepalived pair is replaced
// by one running this package.
//
// # Pieces
//
//   - Advert, Marshal and Unmarshal: the packet, v2 (IPv4, with no
//     authentication or keepalived's "auth_type PASS") and v3 (IPv4 and
//     IPv6), checksums computed as keepalived computes them (v3 over the
//     pseudo-header with the packet's real destination, also for unicast;
//     v3_checksum_as_v2 as an option). Decoding is strict and bounded; a
//     refused packet is a *PacketError with a Reason.
//   - Config and Validate: one instance (keepalived's vrrp_instance); bad
//     input is refused with errors matching ErrInvalid.
//   - Instance: the state machine (Initialize, Backup, Master, Fault,
//     Stopped) as keepalived's vrrp.c and vrrp_scheduler.c run it, driven by
//     Run over three small interfaces: Conn (the socket), Addrs (the VIPs;
//     the director's Links fits) and Announcer (gratuitous ARP / unsolicited
//     neighbour advertisements). Stats counts adverts sent, received and
//     refused by reason, transitions and the last master change; Options.Events
//     receives every state change, for notify hooks.
//   - Group: a sync group, whose members change state together.
//   - Listen and NewAnnouncer: the Linux sides, opened in a network
//     namespace given as an fd and usable from any goroutine.
//
// # Behaviour, as keepalived's
//
// An instance starts in Backup (also keepalived's "state MASTER") and
// becomes master after Master_Down_Interval = 3 x interval + skew, skew =
// (256 - priority)/256 of a second (v2) or of the master's interval (v3);
// the address owner (priority 255) is master at once. A backup discards a
// lower-priority advert (and so preempts when its timer fires) unless
// NoPreempt is set or PreemptDelay is running, in which case it accepts it.
// On becoming master it sends an advert, adds the VIPs and sends 5
// gratuitous ARPs (or NAs) per VIP, then 5 more 5 s later (keepalived's
// vrrp_garp_master_repeat and vrrp_garp_master_delay). A master that hears a
// lower priority advertises at once to force a new election; one that hears
// a higher priority (or an equal one from a higher address) drops to Backup
// and removes the VIPs. Stopping (Run's context done) or Fault sends one
// priority-0 advert, so the backup takes over after its skew alone.
// Multicast adverts must arrive with TTL / hop limit 255; unicast ones come
// from a configured peer (any TTL, as keepalived accepts them).
//
// # Not supported, and why
//
//   - VMAC (use_vmac) and ipvlan interfaces: they move the VIP onto a
//     virtual interface with the VRRP MAC address; a director's VIPs live on
//     its own interfaces and the gratuitous ARPs move the neighbours.
//   - auth_type AH and keepalived's auth_hmac: AH is deprecated by RFC 3768's
//     successors and absent from VRRPv3; auth_hmac is a keepalived extension
//     no other implementation speaks.
//   - accept mode's firewall rules (vrrp_strict's iptables/nftables drop of
//     VIP traffic while backup), track_file, track_bfd and the DBus and SNMP
//     interfaces: they are keepalived's own daemons around the protocol; the
//     director's health checks and metrics cover their use (Instance's
//     SetFault and SetPriority are the hooks).
//   - Address-owner conflict handling (two priority-255 routers) beyond the
//     RFC's tie break on the higher address.
package vrrp
