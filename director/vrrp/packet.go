package vrrp

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// The multicast groups adverts are sent to (RFC 5798 section 5.1).
var (
	Group4 = netip.MustParseAddr("224.0.0.18")
	Group6 = netip.MustParseAddr("ff02::12")
)

// TTL is the IPv4 TTL and IPv6 hop limit every advert is sent with and
// must arrive with.
const TTL = 255

const (
	headerLen   = 8
	authDataLen = 8
	// MaxAddrs is the most addresses one advert carries (count is a byte).
	MaxAddrs = 255
)

// Version is a VRRP version: 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
type Version uint8

// The versions.
const (
	V2 Version = 2
	V3 Version = 3
)

// String returns "v2" or "v3" (unknown(N) for others).
func (v Version) String() string {
	switch v {
	case V2, V3:
		return fmt.Sprintf("v%d", uint8(v))
	}
	return fmt.Sprintf("unknown(%d)", uint8(v))
}

// AuthType is VRRPv2's authentication type; v3 has none.
type AuthType uint8

// The authentication types supported: none and keepalived's
// "auth_type PASS" (RFC 2338's simple text password).
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1
)

// String returns "none" or "PASS" (unknown(N) for others).
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	}
	return fmt.Sprintf("unknown(%d)", uint8(a))
}

// Advert is a VRRP advertisement.
type Advert struct {
	Version  Version
	VRID     uint8
	Priority uint8
	// Interval is the advertisement interval: whole seconds in v2 (1-255),
	// centiseconds in v3 (10ms-40.95s).
	Interval time.Duration
	// Addrs are the virtual addresses, all IPv4 or all IPv6 (v3 only).
	Addrs []netip.Addr
	// AuthType and Password are v2's authentication; Password is the 8
	// bytes sent after the addresses (zeros when AuthType is AuthNone).
	AuthType AuthType
	Password [8]byte
}

// Addressing is what a checksum covers besides the advert: the IP
// source and destination of the packet (the pseudo-header of v3 and of
// IPv6), and keepalived's v3_checksum_as_v2 option (a v3 IPv4 checksum
// without the pseudo-header, as keepalived before 1.2.24 sent it).
type Addressing struct {
	Src, Dst       netip.Addr
	V3ChecksumAsV2 bool
}

// Marshal encodes the advert with its checksum.
func (a *Advert) Marshal(ad Addressing) ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	v6 := len(a.Addrs) > 0 && a.Addrs[0].Is6()
	if ad.Src.Is6() != v6 && len(a.Addrs) > 0 || ad.Src.Is6() != ad.Dst.Is6() {
		return nil, invalidf("advert: source %s, destination %s and addresses of different families", ad.Src, ad.Dst)
	}
	alen := 4
	if ad.Src.Is6() {
		alen = 16
	}
	n := headerLen + alen*len(a.Addrs)
	if a.Version == V2 {
		n += authDataLen
	}
	b := make([]byte, n)
	b[0] = byte(a.Version)<<4 | 1
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = byte(len(a.Addrs))
	if a.Version == V2 {
		b[4] = byte(a.AuthType)
		b[5] = byte(a.Interval / time.Second)
	} else {
		binary.BigEndian.PutUint16(b[4:], uint16(a.Interval/(10*time.Millisecond)))
	}
	off := headerLen
	for _, addr := range a.Addrs {
		s := addr.AsSlice()
		copy(b[off:], s)
		off += len(s)
	}
	if a.Version == V2 {
		copy(b[off:], a.Password[:])
	}
	binary.BigEndian.PutUint16(b[6:], checksum(b, a.Version, ad))
	return b, nil
}

func (a *Advert) validate() error {
	switch a.Version {
	case V2:
		if a.Interval < time.Second || a.Interval > 255*time.Second || a.Interval%time.Second != 0 {
			return invalidf("advert: v2 interval %s is not 1-255 whole seconds", a.Interval)
		}
		if a.AuthType != AuthNone && a.AuthType != AuthPass {
			return invalidf("advert: auth type %s", a.AuthType)
		}
	case V3:
		if a.Interval < 10*time.Millisecond || a.Interval > 4095*10*time.Millisecond || a.Interval%(10*time.Millisecond) != 0 {
			return invalidf("advert: v3 interval %s is not 10ms-40.95s in centiseconds", a.Interval)
		}
		if a.AuthType != AuthNone {
			return invalidf("advert: v3 has no authentication")
		}
	default:
		return invalidf("advert: version %s", a.Version)
	}
	if a.VRID == 0 {
		return invalidf("advert: VRID 0")
	}
	if len(a.Addrs) > MaxAddrs {
		return invalidf("advert: %d addresses, at most %d", len(a.Addrs), MaxAddrs)
	}
	for _, addr := range a.Addrs {
		if !addr.IsValid() || addr.Zone() != "" || addr.Is4In6() || addr.Is6() != a.Addrs[0].Is6() {
			return invalidf("advert: address %q", addr)
		}
		if addr.Is6() && a.Version == V2 {
			return invalidf("advert: IPv6 address %s in a v2 advert", addr)
		}
	}
	return nil
}

// Unmarshal decodes one advert (the IP payload) and checks its length,
// version, type and checksum; ad gives the packet's addresses. The
// address family is the source's; with a zero Src or Dst the checksum is
// not checked. Errors are *PacketError.
func Unmarshal(b []byte, ad Addressing) (*Advert, error) {
	if len(b) < headerLen {
		return nil, &PacketError{Reason: ReasonLength, Detail: fmt.Sprintf("%d bytes", len(b))}
	}
	ver := Version(b[0] >> 4)
	if ver != V2 && ver != V3 {
		return nil, &PacketError{Reason: ReasonVersion, Detail: fmt.Sprintf("version %d", ver)}
	}
	if b[0]&0x0f != 1 {
		return nil, &PacketError{Reason: ReasonType, Detail: fmt.Sprintf("type %d", b[0]&0x0f)}
	}
	v6 := ad.Src.Is6()
	if ver == V2 && v6 {
		return nil, &PacketError{Reason: ReasonVersion, Detail: "v2 over IPv6"}
	}
	alen := 4
	if v6 {
		alen = 16
	}
	count := int(b[3])
	want := headerLen + alen*count
	if ver == V2 {
		want += authDataLen
	}
	// keepalived accepts Ethernet padding up to a 46-byte payload; the
	// kernel hands a raw socket the IP payload, which has none, but a
	// captured frame may: allow what keepalived allows.
	if len(b) != want && !(len(b) > want && len(b) <= 46 && !v6) {
		return nil, &PacketError{Reason: ReasonLength, Detail: fmt.Sprintf("%d bytes for %d addresses, want %d", len(b), count, want)}
	}
	b = b[:want]
	if ad.Src.IsValid() && ad.Dst.IsValid() {
		if c := checksum(b, ver, ad); c != binary.BigEndian.Uint16(b[6:]) {
			return nil, &PacketError{Reason: ReasonChecksum, Detail: fmt.Sprintf("%#04x, computed %#04x", binary.BigEndian.Uint16(b[6:]), c)}
		}
	}
	a := &Advert{Version: ver, VRID: b[1], Priority: b[2], Addrs: make([]netip.Addr, 0, count)}
	if ver == V2 {
		a.AuthType = AuthType(b[4])
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.Password[:], b[want-authDataLen:])
	} else {
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * 10 * time.Millisecond
	}
	for off := headerLen; off < headerLen+alen*count; off += alen {
		addr, _ := netip.AddrFromSlice(b[off : off+alen])
		a.Addrs = append(a.Addrs, addr)
	}
	return a, nil
}

// checksum computes the advert's checksum as keepalived does: v2 over
// the VRRP message (with its authentication data); v3 over the IPv4 or
// IPv6 pseudo-header and the message, or over the message alone for IPv4
// with V3ChecksumAsV2. The checksum field is taken as zero.
func checksum(b []byte, ver Version, ad Addressing) uint16 {
	var sum uint32
	if ver == V3 && !(ad.Src.Is4() && ad.V3ChecksumAsV2) {
		s, d := ad.Src.AsSlice(), ad.Dst.AsSlice()
		sum = sum16(sum, s)
		sum = sum16(sum, d)
		// IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length,
		// three zeros, next header. Both sum to the same words.
		sum += Protocol + uint32(len(b))
	}
	sum = sum16(sum, b[:6])
	sum = sum16(sum, b[8:])
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func sum16(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// passwordEqual compares two v2 passwords in constant time, as
// keepalived does.
func passwordEqual(a, b [8]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
