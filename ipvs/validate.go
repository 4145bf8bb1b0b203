package ipvs

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// persistenceEngines are the kernel's persistence engines (modules
// ip_vs_pe_<name>): mainline has only sip.
var persistenceEngines = []string{"sip"}

// maxPersistence is the longest persistence timeout, ipvsadm's (31 days);
// the kernel keeps it in jiffies, 32 bits.
const maxPersistence = 31 * 24 * time.Hour

// validateKey checks the fields that identify a service.
func (s Service) validateKey() error {
	if s.FirewallMark != 0 {
		if s.Protocol != 0 || s.Addr.IsValid() {
			return invalid("Service", "a firewall-mark service has no Protocol or Addr (mark %d)", s.FirewallMark)
		}
		if s.Family != 0 && s.Family != IPv4 && s.Family != IPv6 {
			return invalid("Service.Family", "%v is not IPv4 or IPv6", s.Family)
		}
		return nil
	}
	if !s.Addr.IsValid() {
		if s.Protocol == 0 {
			return invalid("Service", "neither an address nor a firewall mark (mark 0 is not a firewall-mark service)")
		}
		return invalid("Service.Addr", "no address")
	}
	if err := refuseMapped("Service.Addr", s.Addr.Addr()); err != nil {
		return err
	}
	if s.Addr.Addr().IsUnspecified() {
		return invalid("Service.Addr", "%v is not a usable virtual address", s.Addr)
	}
	if s.Addr.Addr().Zone() != "" {
		return invalid("Service.Addr", "%v: zones are not supported", s.Addr)
	}
	switch s.Protocol {
	case TCP, UDP, SCTP:
	case 0:
		return invalid("Service.Protocol", "missing (TCP, UDP or SCTP)")
	default:
		return invalid("Service.Protocol", "%v is not TCP, UDP or SCTP", s.Protocol)
	}
	// Port 0 is the every-port service, which is persistent (ipvsadm -A -t
	// ADDR -p refuses it otherwise): it is named with its persistence.
	if s.Addr.Port() == 0 && s.Flags&FlagPersistent == 0 && s.Timeout == 0 {
		return invalid("Service.Addr", "port 0 on a service that is not persistent (port 0 is a persistent service's every port, as ipvsadm has it: set FlagPersistent or Timeout)")
	}
	if s.Family != 0 && s.Family != FamilyOf(s.Addr.Addr()) {
		return invalid("Service.Family", "%v does not match the %v address %v", s.Family, FamilyOf(s.Addr.Addr()), s.Addr.Addr())
	}
	return nil
}

// refuseMapped is the package's one rule for IPv4-mapped IPv6 addresses
// (::ffff:10.0.0.1, what netip.AddrFromSlice makes of a 16-byte net.IP):
// the kernel keeps the IPv4 address, so one written mapped would never read
// back as written. Services, destinations and sync daemon groups are
// refused them alike, before anything is sent.
func refuseMapped(field string, a netip.Addr) error {
	if !a.Is4In6() {
		return nil
	}
	return invalid(field, "%v is an IPv4-mapped IPv6 address, which IPVS keeps and lists as %v: pass %v (netip.Addr.Unmap)",
		a, a.Unmap(), a.Unmap())
}

// validate checks a whole service for create and update.
func (s Service) validate() error {
	if err := s.validateKey(); err != nil {
		return err
	}
	if s.Scheduler != "" && !s.Scheduler.Known() {
		return invalid("Service.Scheduler", "unknown scheduler %q (known: %v)", string(s.Scheduler), Schedulers())
	}
	if s.Timeout < 0 || s.Timeout%time.Second != 0 || s.Timeout > maxPersistence {
		return invalid("Service.Timeout", "%v is not a whole number of seconds up to %v (ipvsadm's limit)", s.Timeout, maxPersistence)
	}
	if s.Flags&^(FlagPersistent|FlagOnePacket|SchedFlag1|SchedFlag2|SchedFlag3) != 0 {
		return invalid("Service.Flags", "unknown flags %v", s.Flags)
	}
	max := 32
	if s.AddressFamily() == IPv6 {
		max = 128
	}
	if s.Netmask < 0 || s.Netmask > max {
		return invalid("Service.Netmask", "prefix length %d out of range 0..%d", s.Netmask, max)
	}
	if s.PersistenceEngine != "" && !slices.Contains(persistenceEngines, s.PersistenceEngine) {
		return invalid("Service.PersistenceEngine", "%q is not a persistence engine the kernel has (known: %s)", s.PersistenceEngine, strings.Join(persistenceEngines, ", "))
	}
	return nil
}

// validate checks a destination for create and update on svc.
func (d Destination) validate(svc Service) error {
	if !d.Addr.Addr().IsValid() {
		return invalid("Destination.Addr", "no address")
	}
	a := d.Addr.Addr()
	if err := refuseMapped("Destination.Addr", a); err != nil {
		return err
	}
	if a.IsUnspecified() || a.IsMulticast() {
		return invalid("Destination.Addr", "%v is not a unicast address", a)
	}
	if a.Zone() != "" {
		return invalid("Destination.Addr", "%v: zones are not supported", a)
	}
	if d.Weight < 0 || d.Weight > 1<<31-1 {
		return invalid("Destination.Weight", "%d is out of range 0..%d", d.Weight, 1<<31-1)
	}
	switch d.Forward {
	case Masquerade, Local, Tunnel, DirectRoute:
	default:
		return invalid("Destination.Forward", "unknown forwarding method %d", uint32(d.Forward))
	}
	if d.LowerThreshold > 0 && d.UpperThreshold == 0 {
		return invalid("Destination.LowerThreshold", "%d without an upper threshold (the lower one is where an overloaded destination takes connections again)", d.LowerThreshold)
	}
	if d.LowerThreshold > d.UpperThreshold {
		return invalid("Destination.LowerThreshold", "%d above the upper threshold %d", d.LowerThreshold, d.UpperThreshold)
	}
	if d.Forward != Tunnel && (d.TunnelType != TunnelIPIP || d.TunnelPort != 0 || d.TunnelFlags != 0) {
		return invalid("Destination.TunnelType", "tunnel settings on a %v destination", d.Forward)
	}
	switch d.TunnelType {
	case TunnelIPIP:
		if d.TunnelPort != 0 || d.TunnelFlags != 0 {
			return invalid("Destination.TunnelPort", "IPIP tunnels have no port or flags")
		}
	case TunnelGUE:
		if d.TunnelPort == 0 {
			return invalid("Destination.TunnelPort", "a GUE tunnel needs a port")
		}
	case TunnelGRE:
		if d.TunnelPort != 0 {
			return invalid("Destination.TunnelPort", "GRE tunnels have no port")
		}
	default:
		return invalid("Destination.TunnelType", "unknown tunnel type %d", uint8(d.TunnelType))
	}
	if d.TunnelFlags&^(TunnelChecksum|TunnelRemoteChecksum) != 0 || d.TunnelFlags == TunnelChecksum|TunnelRemoteChecksum {
		return invalid("Destination.TunnelFlags", "%v is not one of nocsum, csum, remcsum", d.TunnelFlags)
	}
	if d.TunnelFlags == TunnelRemoteChecksum && d.TunnelType != TunnelGUE {
		return invalid("Destination.TunnelFlags", "remote checksum offload is for GUE tunnels only")
	}
	if d.Family() != svc.AddressFamily() && d.Forward != Tunnel {
		return invalid("Destination.Addr", "%v destination %v on an %v service needs Tunnel forwarding (the kernel forwards across families only by tunnel)",
			d.Family(), a, svc.AddressFamily())
	}
	if d.Addr.Port() == 0 && !svc.IsFirewallMark() && svc.Addr.Port() != 0 {
		return invalid("Destination.Addr", "port 0 on a service with a port (%v)", svc.Key())
	}
	return nil
}

// ValidateService checks svc as CreateService would before sending it; the
// error matches ErrInvalid.
func ValidateService(svc Service) error { return svc.validate() }

// ValidateDestination checks d as CreateDestination(svc, d) would before
// sending it; the error matches ErrInvalid.
func ValidateDestination(svc Service, d Destination) error {
	if err := svc.validateKey(); err != nil {
		return err
	}
	return d.validate(svc)
}

// ValidateTimeouts checks t as SetTimeouts would before sending it; the
// error matches ErrInvalid.
func ValidateTimeouts(t Timeouts) error { return t.validate() }
