package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// The kernel's IPVS generic-netlink API, from include/uapi/linux/ip_vs.h.
const (
	familyName    = "IPVS"
	familyVersion = 1
)

// Commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

// Top-level attributes (IPVS_CMD_ATTR_*).
const (
	cmdAttrService    = 1
	cmdAttrDest       = 2
	cmdAttrDaemon     = 3
	cmdAttrTimeoutTCP = 4
	cmdAttrTimeoutFin = 5
	cmdAttrTimeoutUDP = 6
)

// Service attributes (IPVS_SVC_ATTR_*).
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFwmark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Destination attributes (IPVS_DEST_ATTR_*).
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Stats attributes (IPVS_STATS_ATTR_*), the same numbers in STATS and STATS64.
const (
	statsConns    = 1
	statsInPkts   = 2
	statsOutPkts  = 3
	statsInBytes  = 4
	statsOutBytes = 5
	statsCPS      = 6
	statsInPPS    = 7
	statsOutPPS   = 8
	statsInBPS    = 9
	statsOutBPS   = 10
)

// Sync daemon attributes (IPVS_DAEMON_ATTR_*).
const (
	daemonAttrState       = 1
	daemonAttrMcastIfn    = 2
	daemonAttrSyncID      = 3
	daemonAttrSyncMaxLen  = 4 // Linux 4.3
	daemonAttrMcastGroup  = 5 // Linux 4.3
	daemonAttrMcastGroup6 = 6 // Linux 4.3
	daemonAttrMcastPort   = 7 // Linux 4.3
	daemonAttrMcastTTL    = 8 // Linux 4.3
)

// Info attributes (IPVS_INFO_ATTR_*).
const (
	infoAttrVersion     = 1
	infoAttrConnTabSize = 2
)

// fwdMask selects the forwarding method in a destination's connection flags.
const fwdMask = 0x7

func parseAddr(b []byte, f Family) (netip.Addr, error) {
	switch {
	case f == IPv4 && len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case f == IPv6 && len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("address of %d bytes for family %v", len(b), f)
}

// encodeKey writes the attributes that identify s.
func (s Service) encodeKey(ae *attrWriter) {
	ae.Uint16(svcAttrAF, uint16(s.AddressFamily()))
	if s.FirewallMark != 0 {
		ae.Uint32(svcAttrFwmark, s.FirewallMark)
		return
	}
	ae.Uint16(svcAttrProtocol, uint16(s.Protocol))
	ae.Addr(svcAttrAddr, s.Addr.Addr())
	ae.BE16(svcAttrPort, s.Addr.Port())
}

// encode writes the whole service, as ipvsadm does for -A and -E.
func (s Service) encode(ae *attrWriter) {
	s.encodeKey(ae)
	sched := s.Scheduler
	if sched == "" {
		sched = WeightedLeastConnection
	}
	ae.String(svcAttrSchedName, string(sched))
	if s.PersistenceEngine != "" {
		ae.String(svcAttrPEName, s.PersistenceEngine)
	}
	flags := s.Flags
	if s.Timeout > 0 {
		flags |= FlagPersistent
	}
	// struct ip_vs_flags { __u32 flags; __u32 mask; }: set every flag.
	fb := binary.NativeEndian.AppendUint32(nil, uint32(flags))
	fb = binary.NativeEndian.AppendUint32(fb, ^uint32(0))
	ae.Bytes(svcAttrFlags, fb)
	ae.Uint32(svcAttrTimeout, uint32(s.Timeout/time.Second))
	ae.Bytes(svcAttrNetmask, s.netmaskBytes())
}

// netmaskBytes encodes the persistence netmask the way the kernel reads it
// (nla_get_be32): for IPv4 the mask's four bytes in network order; for IPv6
// the prefix length as a native-endian u32, which is what ipvsadm sends.
func (s Service) netmaskBytes() []byte {
	if s.AddressFamily() == IPv6 {
		n := s.Netmask
		if n == 0 {
			n = 128
		}
		return binary.NativeEndian.AppendUint32(nil, uint32(n))
	}
	n := s.Netmask
	if n == 0 {
		n = 32
	}
	return binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-n))
}

func parseNetmask(b []byte, f Family) (int, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("netmask of %d bytes", len(b))
	}
	if f == IPv6 {
		n := int(binary.NativeEndian.Uint32(b))
		if n == 128 {
			n = 0
		}
		return n, nil
	}
	m := binary.BigEndian.Uint32(b)
	n := 0
	for m&0x80000000 != 0 {
		n++
		m <<= 1
	}
	if m != 0 {
		return 0, fmt.Errorf("non-contiguous IPv4 netmask %x", b)
	}
	if n == 32 {
		n = 0
	}
	return n, nil
}

// parseService decodes the attributes nested in IPVS_CMD_ATTR_SERVICE.
func parseService(b []byte) (Service, error) {
	ad := newAttrReader(b)
	var (
		s             Service
		addr, netmask []byte
		port          uint16
		hasPort       bool
	)
	for ad.Next() {
		switch ad.Type() {
		case svcAttrAF:
			s.Family = Family(ad.Uint16())
		case svcAttrProtocol:
			s.Protocol = Protocol(ad.Uint16())
		case svcAttrAddr:
			addr = ad.Bytes()
		case svcAttrPort:
			if v := ad.Bytes(); len(v) == 2 {
				port, hasPort = binary.BigEndian.Uint16(v), true
			}
		case svcAttrFwmark:
			s.FirewallMark = ad.Uint32()
		case svcAttrSchedName:
			s.Scheduler = ad.Scheduler()
		case svcAttrFlags:
			if v := ad.Bytes(); len(v) >= 4 {
				s.Flags = ServiceFlags(binary.NativeEndian.Uint32(v)) &^ flagHashed
			}
		case svcAttrTimeout:
			s.Timeout = time.Duration(ad.Uint32()) * time.Second
		case svcAttrNetmask:
			netmask = ad.Bytes()
		case svcAttrPEName:
			s.PersistenceEngine = ad.String()
		case svcAttrStats:
			if s.Stats == (Stats{}) {
				ad.Nested(func(nad *attrReader) { s.Stats = parseStats(nad, false) })
			}
		case svcAttrStats64:
			ad.Nested(func(nad *attrReader) { s.Stats = parseStats(nad, true) })
		}
	}
	if err := ad.Err(); err != nil {
		return Service{}, err
	}
	if s.FirewallMark != 0 {
		// The kernel reports TCP and a zero address for firewall-mark services.
		s.Protocol = 0
	} else {
		a, err := parseAddr(addr, s.Family)
		if err != nil {
			return Service{}, fmt.Errorf("service: %w", err)
		}
		if !hasPort {
			return Service{}, fmt.Errorf("service %v: no port", a)
		}
		s.Addr = netip.AddrPortFrom(a, port)
	}
	if netmask != nil {
		n, err := parseNetmask(netmask, s.Family)
		if err != nil {
			return Service{}, fmt.Errorf("service: %w", err)
		}
		s.Netmask = n
	}
	return s, nil
}

// encode writes a destination's attributes: with full, its settings too
// (create and update); without, only what identifies it (delete).
func (d Destination) encode(ae *attrWriter, full bool) {
	ae.Addr(destAttrAddr, d.Addr.Addr())
	ae.BE16(destAttrPort, d.Addr.Port())
	ae.Uint16(destAttrAddrFamily, uint16(d.Family()))
	if !full {
		return
	}
	ae.Uint32(destAttrFwdMethod, uint32(d.Forward))
	ae.Uint32(destAttrWeight, uint32(d.Weight))
	ae.Uint32(destAttrUThresh, d.UpperThreshold)
	ae.Uint32(destAttrLThresh, d.LowerThreshold)
	if d.Forward == Tunnel {
		ae.Uint8(destAttrTunType, uint8(d.TunnelType))
		ae.BE16(destAttrTunPort, d.TunnelPort)
		ae.Uint16(destAttrTunFlags, uint16(d.TunnelFlags))
	}
}

// parseDest decodes the attributes nested in IPVS_CMD_ATTR_DEST; svcFamily
// is used when the kernel does not report the destination's own family.
func parseDest(b []byte, svcFamily Family) (Destination, error) {
	ad := newAttrReader(b)
	var (
		d    Destination
		addr []byte
		port uint16
		fam  = svcFamily
	)
	for ad.Next() {
		switch ad.Type() {
		case destAttrAddr:
			addr = ad.Bytes()
		case destAttrPort:
			if v := ad.Bytes(); len(v) == 2 {
				port = binary.BigEndian.Uint16(v)
			}
		case destAttrAddrFamily:
			fam = Family(ad.Uint16())
		case destAttrFwdMethod:
			d.Forward = ForwardMethod(ad.Uint32() & fwdMask)
		case destAttrWeight:
			d.Weight = int(int32(ad.Uint32()))
		case destAttrUThresh:
			d.UpperThreshold = ad.Uint32()
		case destAttrLThresh:
			d.LowerThreshold = ad.Uint32()
		case destAttrActiveConns:
			d.ActiveConns = ad.Uint32()
		case destAttrInactConns:
			d.InactiveConns = ad.Uint32()
		case destAttrPersistConns:
			d.PersistentConns = ad.Uint32()
		case destAttrTunType:
			d.TunnelType = TunnelType(ad.Uint8())
		case destAttrTunPort:
			if v := ad.Bytes(); len(v) == 2 {
				d.TunnelPort = binary.BigEndian.Uint16(v)
			}
		case destAttrTunFlags:
			d.TunnelFlags = TunnelFlags(ad.Uint16())
		case destAttrStats:
			if d.Stats == (Stats{}) {
				ad.Nested(func(nad *attrReader) { d.Stats = parseStats(nad, false) })
			}
		case destAttrStats64:
			ad.Nested(func(nad *attrReader) { d.Stats = parseStats(nad, true) })
		}
	}
	if err := ad.Err(); err != nil {
		return Destination{}, err
	}
	a, err := parseAddr(addr, fam)
	if err != nil {
		return Destination{}, fmt.Errorf("destination: %w", err)
	}
	d.Addr = netip.AddrPortFrom(a, port)
	return d, nil
}

// parseStats decodes IPVS_STATS_ATTR_*: all u64 in STATS64; in the older
// STATS, byte counters are u64 and the rest u32.
func parseStats(ad *attrReader, wide bool) Stats {
	var s Stats
	for ad.Next() {
		var v uint64
		switch {
		case wide, ad.Type() == statsInBytes, ad.Type() == statsOutBytes:
			v = ad.Uint64()
		default:
			v = uint64(ad.Uint32())
		}
		switch ad.Type() {
		case statsConns:
			s.Connections = v
		case statsInPkts:
			s.PacketsIn = v
		case statsOutPkts:
			s.PacketsOut = v
		case statsInBytes:
			s.BytesIn = v
		case statsOutBytes:
			s.BytesOut = v
		case statsCPS:
			s.CPS = v
		case statsInPPS:
			s.PPSIn = v
		case statsOutPPS:
			s.PPSOut = v
		case statsInBPS:
			s.BPSIn = v
		case statsOutBPS:
			s.BPSOut = v
		}
	}
	return s
}

// encode writes a sync daemon's attributes; zero optional fields are left
// out so that the kernel applies its defaults.
func (d SyncDaemon) encode(ae *attrWriter) {
	ae.Uint32(daemonAttrState, uint32(d.State))
	ae.String(daemonAttrMcastIfn, d.Interface)
	ae.Uint32(daemonAttrSyncID, d.SyncID)
	if d.MaxLength != 0 {
		ae.Uint16(daemonAttrSyncMaxLen, d.MaxLength)
	}
	if d.Group.IsValid() {
		g := d.Group.Unmap()
		if g.Is4() {
			b := g.As4()
			ae.Bytes(daemonAttrMcastGroup, b[:])
		} else {
			b := g.As16()
			ae.Bytes(daemonAttrMcastGroup6, b[:])
		}
	}
	if d.Port != 0 {
		ae.Uint16(daemonAttrMcastPort, d.Port) // host order, unlike service ports
	}
	if d.TTL != 0 {
		ae.Uint8(daemonAttrMcastTTL, d.TTL)
	}
}

func parseDaemon(b []byte) (SyncDaemon, error) {
	ad := newAttrReader(b)
	var d SyncDaemon
	for ad.Next() {
		switch ad.Type() {
		case daemonAttrState:
			d.State = SyncState(ad.Uint32())
		case daemonAttrMcastIfn:
			d.Interface = ad.String()
		case daemonAttrSyncID:
			d.SyncID = ad.Uint32()
		case daemonAttrSyncMaxLen:
			d.MaxLength = ad.Uint16()
		case daemonAttrMcastGroup:
			if v := ad.Bytes(); len(v) == 4 {
				d.Group = netip.AddrFrom4([4]byte(v))
			}
		case daemonAttrMcastGroup6:
			if v := ad.Bytes(); len(v) == 16 {
				d.Group = netip.AddrFrom16([16]byte(v))
			}
		case daemonAttrMcastPort:
			d.Port = ad.Uint16()
		case daemonAttrMcastTTL:
			d.TTL = ad.Uint8()
		}
	}
	return d, ad.Err()
}
