package realserver

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The tunnel protocol of an ip6tnl device (include/uapi/linux/if_tunnel.h):
// which inner packets it decapsulates. The fallback device ip6tnl0 is
// created in mode ip6ip6 (IPPROTO_IPV6); ip4ip6 packets reach it only in
// mode any (0) or ipip (IPPROTO_IPIP): ipxip6_rcv drops the others.
const (
	iflaIPTunProto = 9 // IFLA_IPTUN_PROTO, u8

	protoAny = 0 // "mode any": IPv4 and IPv6 inner packets

	// SIOCGETTUNNEL and SIOCCHGTUNNEL (SIOCDEVPRIVATE + 0 and + 3).
	siocGetTunnel = 0x89f0
	siocChgTunnel = 0x89f3
)

// tunnelProtoName spells a tunnel protocol as ip -6 tunnel does.
func tunnelProtoName(p uint8) string {
	switch p {
	case protoAny:
		return "any"
	case unix.IPPROTO_IPIP:
		return "ipip6"
	case unix.IPPROTO_IPV6:
		return "ip6ip6"
	}
	return fmt.Sprintf("unknown(%d)", p)
}

// acceptsIPv4 reports whether an ip6tnl device with tunnel protocol p
// decapsulates IPv4 in IPv6.
func acceptsIPv4(p uint8) bool { return p == protoAny || p == unix.IPPROTO_IPIP }

// ip6tnlData returns the ip6tnl device's IFLA_INFO_DATA attributes as the
// kernel reports them, and its tunnel protocol.
func ip6tnlData(rt *rtnl.Conn, index uint32) ([]byte, uint8, error) {
	l, err := rt.Link.Get(index)
	if err != nil {
		return nil, 0, fmt.Errorf("get link %d: %w", index, err)
	}
	info := l.Attributes.Info
	if info == nil || info.Kind != ip6tnl0.kind {
		return nil, 0, fmt.Errorf("link %d is not an %s device", index, ip6tnl0.kind)
	}
	d, ok := info.Data.(*rtnetlink.LinkData)
	if !ok {
		return nil, 0, fmt.Errorf("link %d: %s data decoded by a registered driver (%T)", index, ip6tnl0.kind, info.Data)
	}
	ad, err := netlink.NewAttributeDecoder(d.Data)
	if err != nil {
		return nil, 0, err
	}
	proto, found := uint8(0), false
	for ad.Next() {
		if ad.Type() == iflaIPTunProto {
			proto, found = ad.Uint8(), true
		}
	}
	if err := ad.Err(); err != nil {
		return nil, 0, err
	}
	if !found {
		return nil, 0, fmt.Errorf("link %d: the kernel reports no tunnel protocol", index)
	}
	return d.Data, proto, nil
}

// setTunnelProto sets the tunnel protocol of the ip6tnl device, the fallback
// device included, and returns the previous one. Over rtnetlink it sends
// the device's parameters back as read, with only the protocol changed (as
// ip link set ... type ip6tnl mode any does; Linux 6.17 and later check
// that the fallback device's other parameters are unchanged). Kernels
// before 6.17 refuse to change the fallback device over rtnetlink (EINVAL):
// then it uses the ioctl of ip -6 tunnel change, SIOCCHGTUNNEL, on a socket
// opened in the namespace.
func setTunnelProto(rt *rtnl.Conn, netns int, ifc string, index uint32, proto uint8) (old uint8, err error) {
	data, old, err := ip6tnlData(rt, index)
	if err != nil {
		return 0, err
	}
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return 0, err
	}
	ae := netlink.NewAttributeEncoder()
	for ad.Next() {
		if ad.Type() == iflaIPTunProto {
			ae.Uint8(iflaIPTunProto, proto)
		} else {
			ae.Bytes(ad.TypeFlags(), ad.Bytes())
		}
	}
	if err := ad.Err(); err != nil {
		return 0, err
	}
	b, err := ae.Encode()
	if err != nil {
		return 0, err
	}
	err = rt.Link.Set(&rtnetlink.LinkMessage{
		Family: unix.AF_UNSPEC,
		Index:  index,
		Attributes: &rtnetlink.LinkAttributes{Info: &rtnetlink.LinkInfo{
			Kind: ip6tnl0.kind,
			Data: &rtnetlink.LinkData{Name: ip6tnl0.kind, Data: b},
		}},
	})
	if errors.Is(err, unix.EINVAL) {
		err = ioctlTunnelProto(netns, ifc, proto)
	}
	if err != nil {
		return 0, err
	}
	if _, now, err := ip6tnlData(rt, index); err != nil {
		return old, err
	} else if now != proto {
		return old, fmt.Errorf("tunnel protocol is %s after setting %s", tunnelProtoName(now), tunnelProtoName(proto))
	}
	return old, nil
}

// ip6TnlParm is struct ip6_tnl_parm (include/uapi/linux/ip6_tunnel.h), 64
// bytes, the argument of the ip6_tunnel ioctls.
type ip6TnlParm struct {
	Name       [unix.IFNAMSIZ]byte
	Link       int32
	Proto      uint8
	EncapLimit uint8
	HopLimit   uint8
	_          uint8
	Flowinfo   uint32
	Flags      uint32
	Laddr      [16]byte
	Raddr      [16]byte
}

// ifreqData is struct ifreq with ifr_data set, 40 bytes.
type ifreqData struct {
	Name [unix.IFNAMSIZ]byte
	Data unsafe.Pointer
	_    [16]byte
}

// ioctlTunnelProto reads the device's parameters with SIOCGETTUNNEL and
// writes them back with the new protocol with SIOCCHGTUNNEL; for the
// fallback device the kernel changes only the protocol (ip6_tnl0_update).
func ioctlTunnelProto(netns int, ifc string, proto uint8) error {
	var fd int
	err := netnsx.Do(netns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("socket for the tunnel ioctls: %w", err)
	}
	defer unix.Close(fd)
	var p ip6TnlParm
	copy(p.Name[:], ifc)
	if err := tunnelIoctl(fd, siocGetTunnel, ifc, &p); err != nil {
		return fmt.Errorf("SIOCGETTUNNEL %s: %w", ifc, err)
	}
	p.Proto = proto
	if err := tunnelIoctl(fd, siocChgTunnel, ifc, &p); err != nil {
		return fmt.Errorf("SIOCCHGTUNNEL %s: %w", ifc, err)
	}
	return nil
}

func tunnelIoctl(fd int, req uintptr, ifc string, p *ip6TnlParm) error {
	var ifr ifreqData
	copy(ifr.Name[:], ifc)
	ifr.Data = unsafe.Pointer(p)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(p)
	if errno != 0 {
		return errno
	}
	return nil
}

// The layouts the kernel expects.
var (
	_ [64 - unsafe.Sizeof(ip6TnlParm{})]byte
	_ [unsafe.Sizeof(ip6TnlParm{}) - 64]byte
	_ [40 - unsafe.Sizeof(ifreqData{})]byte
	_ [unsafe.Sizeof(ifreqData{}) - 40]byte
)
