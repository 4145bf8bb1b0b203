package ipvs

import (
	"fmt"
	"net/netip"
	"time"
)

// Protocol is the transport protocol of a service.
type Protocol uint16

// Protocols IPVS balances. Firewall-mark services have no protocol.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// Family is an address family.
type Family uint16

// Address families (the kernel's AF_INET and AF_INET6).
const (
	IPv4 Family = 2
	IPv6 Family = 10
)

// FamilyOf returns the family of addr (IPv4 for IPv4-mapped IPv6 addresses).
func FamilyOf(addr netip.Addr) Family {
	if addr.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// Scheduler names a scheduling algorithm (a kernel module ip_vs_<name>).
type Scheduler string

// The kernel's schedulers.
const (
	RoundRobin                       Scheduler = "rr"
	WeightedRoundRobin               Scheduler = "wrr"
	LeastConnection                  Scheduler = "lc"
	WeightedLeastConnection          Scheduler = "wlc" // the kernel's and ipvsadm's default
	LocalityBasedLeastConnection     Scheduler = "lblc"
	LocalityBasedLeastConnectionRepl Scheduler = "lblcr"
	DestinationHashing               Scheduler = "dh"
	SourceHashing                    Scheduler = "sh"
	ShortestExpectedDelay            Scheduler = "sed"
	NeverQueue                       Scheduler = "nq"
	WeightedFailover                 Scheduler = "fo"
	WeightedOverflow                 Scheduler = "ovf"
	MaglevHashing                    Scheduler = "mh"
	TwoRandomChoices                 Scheduler = "twos" // Linux 5.11
)

// schedulers is the table of the schedulers the package knows, in
// ipvsadm's order. A new scheduler is its constant and a line here. Which
// of them a kernel has is the kernel's to say: it refuses a scheduler it
// has no module for (see moduleError).
var schedulers = []struct{ s Scheduler }{
	{RoundRobin}, {WeightedRoundRobin}, {LeastConnection}, {WeightedLeastConnection},
	{LocalityBasedLeastConnection}, {LocalityBasedLeastConnectionRepl}, {DestinationHashing},
	{SourceHashing}, {ShortestExpectedDelay}, {NeverQueue}, {WeightedFailover},
	{WeightedOverflow}, {MaglevHashing}, {TwoRandomChoices},
}

// Schedulers lists every scheduler the package knows, in ipvsadm's order.
func Schedulers() []Scheduler {
	out := make([]Scheduler, len(schedulers))
	for i, e := range schedulers {
		out[i] = e.s
	}
	return out
}

// Known reports whether s is one of Schedulers.
func (s Scheduler) Known() bool {
	for _, e := range schedulers {
		if e.s == s {
			return true
		}
	}
	return false
}

// ServiceFlags are a service's flags.
type ServiceFlags uint32

// Service flags (IP_VS_SVC_F_*). The scheduler flags mean different things
// per scheduler: SchedFlag1 is sh-fallback for sh and mh-fallback for mh;
// SchedFlag2 is sh-port for sh and mh-port for mh.
const (
	FlagPersistent ServiceFlags = 0x0001
	flagHashed     ServiceFlags = 0x0002 // kernel-internal, never reported
	FlagOnePacket  ServiceFlags = 0x0004
	SchedFlag1     ServiceFlags = 0x0008
	SchedFlag2     ServiceFlags = 0x0010
	SchedFlag3     ServiceFlags = 0x0020

	FlagSHFallback = SchedFlag1 // sh: use another destination if the chosen one is unavailable
	FlagSHPort     = SchedFlag2 // sh: hash the source port too
	FlagMHFallback = SchedFlag1 // mh: use another destination if the chosen one is unavailable
	FlagMHPort     = SchedFlag2 // mh: hash the source port too
)

// ForwardMethod is how packets reach a destination.
type ForwardMethod uint32

// Forwarding methods (IP_VS_CONN_F_*), ipvsadm's -m, -g, -i.
const (
	Masquerade  ForwardMethod = 0 // NAT: -m, "Masq"
	Local       ForwardMethod = 1 // the director itself: "Local"
	Tunnel      ForwardMethod = 2 // IP-in-IP (or GUE, GRE): -i, "Tunnel"
	DirectRoute ForwardMethod = 3 // DR, rewrite the MAC address: -g, "Route"
)

// TunnelType is the encapsulation of a Tunnel destination (Linux 5.2+ for
// GUE, 5.3+ for GRE; older kernels only do IPIP).
type TunnelType uint8

// Tunnel types.
const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2
)

// TunnelFlags are checksum options of GUE and GRE tunnels.
type TunnelFlags uint16

// Tunnel flags (IP_VS_TUNNEL_ENCAP_FLAG_*); zero means no checksum.
const (
	TunnelChecksum       TunnelFlags = 0x1
	TunnelRemoteChecksum TunnelFlags = 0x2
)

// Service is a virtual service. It is identified either by Protocol and Addr
// or, for a firewall-mark service, by FirewallMark and Family.
type Service struct {
	// Protocol and Addr identify an address service; both zero for a
	// firewall-mark service.
	Protocol Protocol
	Addr     netip.AddrPort
	// FirewallMark identifies a firewall-mark service (ipvsadm -f).
	FirewallMark uint32
	// Family of a firewall-mark service; zero means IPv4. For an address
	// service it is Addr's family and may be left zero.
	Family Family

	// Scheduler; empty means WeightedLeastConnection, as with ipvsadm.
	Scheduler Scheduler
	// Flags: FlagPersistent is implied by a nonzero Timeout.
	Flags ServiceFlags
	// Timeout is the persistence timeout (ipvsadm -p), in whole seconds up
	// to 31 days (ipvsadm's limit); zero without FlagPersistent means not
	// persistent.
	Timeout time.Duration
	// Netmask is the persistence granularity as a prefix length (ipvsadm
	// -M): clients whose addresses share it stick to one destination. Zero
	// means the whole address; 32 (or 128) means the same and reads back
	// from the kernel as zero.
	Netmask int
	// PersistenceEngine names a persistence engine module: "sip" (the
	// only one the kernel has), or empty.
	PersistenceEngine string

	// Stats is filled in by the kernel when the service is read; ignored
	// when writing.
	Stats Stats
}

// IsFirewallMark reports whether s is a firewall-mark service.
func (s Service) IsFirewallMark() bool { return s.FirewallMark != 0 }

// AddressFamily is s's family: Addr's for an address service, Family (IPv4 if
// zero) for a firewall-mark service.
func (s Service) AddressFamily() Family {
	if s.FirewallMark == 0 && s.Addr.Addr().IsValid() {
		return FamilyOf(s.Addr.Addr())
	}
	if s.Family == 0 {
		return IPv4
	}
	return s.Family
}

// Key is what identifies a service in the kernel, usable as a map key.
type Key struct {
	Protocol     Protocol
	Addr         netip.AddrPort
	FirewallMark uint32
	Family       Family
}

// Key returns s's identity.
func (s Service) Key() Key {
	if s.FirewallMark != 0 {
		return Key{FirewallMark: s.FirewallMark, Family: s.AddressFamily()}
	}
	return Key{Protocol: s.Protocol, Addr: netip.AddrPortFrom(s.Addr.Addr().Unmap(), s.Addr.Port()), Family: s.AddressFamily()}
}

// String prints the service's identity as ipvsadm -Ln does: "TCP  10.0.0.8:80",
// "FWM  10", "UDP  [2001:db8::1]:53".
func (k Key) String() string {
	if k.FirewallMark != 0 {
		if k.Family == IPv6 {
			return fmt.Sprintf("FWM  %d IPv6", k.FirewallMark)
		}
		return fmt.Sprintf("FWM  %d", k.FirewallMark)
	}
	return fmt.Sprintf("%-4s %s", k.Protocol, k.Addr)
}

func (s Service) String() string { return s.Key().String() }

// Destination is a real server of a service.
//
// Two zero values mean something: Weight 0 quiesces the destination (it
// keeps its connections and gets no new ones), and the zero Forward is
// Masquerade (NAT). A Destination written with CreateDestination or
// UpdateDestination is written whole: set Weight (ipvsadm's default is 1)
// and Forward on purpose, or change one field of what the kernel has with
// Client.ModifyDestination.
type Destination struct {
	// Addr is the real server's address and port. For a firewall-mark
	// service the port may be zero (the packet's port is kept).
	Addr netip.AddrPort
	// Forward is the forwarding method; the zero value is Masquerade.
	Forward ForwardMethod
	// Weight is the destination's share of new connections, relative to
	// the service's other destinations. 0 quiesces the destination (no new
	// connections; existing ones go on): the zero Destination is quiesced.
	// Negative weights are invalid. ipvsadm's default is 1.
	Weight int
	// UpperThreshold and LowerThreshold bound connections (ipvsadm -x, -y);
	// zero means no limit.
	UpperThreshold uint32
	LowerThreshold uint32
	// TunnelType, TunnelPort and TunnelFlags configure Tunnel forwarding
	// beyond IPIP: GUE needs a port; GUE and GRE may carry checksums.
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags

	// Read-only, filled in when destinations are listed.
	ActiveConns     uint32
	InactiveConns   uint32
	PersistentConns uint32
	Stats           Stats
}

// Family is Addr's family.
func (d Destination) Family() Family { return FamilyOf(d.Addr.Addr()) }

// Stats are a service's or destination's traffic counters and the rates the
// kernel's estimator computes (refreshed every 2 seconds).
type Stats struct {
	Connections uint64 // connections scheduled
	PacketsIn   uint64
	PacketsOut  uint64
	BytesIn     uint64
	BytesOut    uint64
	CPS         uint64 // connections per second
	PPSIn       uint64
	PPSOut      uint64
	BPSIn       uint64 // bytes per second
	BPSOut      uint64
}

// Timeouts are the connection timeouts of IPVS (ipvsadm --set tcp tcpfin
// udp), in whole seconds. A zero field is left unchanged by SetTimeouts.
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// Info describes the kernel's IPVS.
type Info struct {
	Version       Version // e.g. 1.2.1
	ConnTableSize uint32  // connection hash table size (ipvsadm's "size=4096")
}

// Version is IPVS's version as major.minor.patch.
type Version uint32

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", (v>>16)&0xff, (v>>8)&0xff, v&0xff)
}
