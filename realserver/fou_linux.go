package realserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The kernel's "fou" generic-netlink family (include/uapi/linux/fou.h): UDP
// ports whose packets are decapsulated, here GUE carrying IP-in-IP, which
// then arrives on tunl0.
const (
	fouFamily   = "fou"
	fouVersion  = 1
	fouCmdAdd   = 1
	fouCmdDel   = 2
	fouCmdGet   = 3
	fouAttrPort = 1 // be16
	fouAttrAF   = 2 // u8
	fouAttrType = 4 // u8
	fouEncapGUE = 2
)

// fouConn is a connection to the fou family in one namespace, for the
// ports of one address family (fou keys its ports by port and family).
type fouConn struct {
	c      *genetlink.Conn
	family uint16
	af     uint8 // AF_INET or AF_INET6
}

func dialFOU(netns int, ipv6 bool) (*fouConn, error) {
	c, err := genetlink.Dial(&netlink.Config{NetNS: netns})
	if err != nil {
		return nil, err
	}
	f, err := c.GetFamily(fouFamily)
	if err != nil {
		c.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the fou module is not loaded: %w", errors.ErrUnsupported)
		}
		return nil, err
	}
	af := uint8(unix.AF_INET)
	if ipv6 {
		af = unix.AF_INET6
	}
	return &fouConn{c: c, family: f.ID, af: af}, nil
}

func (f *fouConn) close() { f.c.Close() }

func fouAttrs(port uint16, af uint8, gue bool) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(fouAttrPort, binary.BigEndian.AppendUint16(nil, port))
	ae.Uint8(fouAttrAF, af)
	if gue {
		ae.Uint8(fouAttrType, fouEncapGUE)
	}
	return ae.Encode()
}

func (f *fouConn) do(cmd uint8, flags netlink.HeaderFlags, port uint16, full bool) ([]genetlink.Message, error) {
	b, err := fouAttrs(port, f.af, full)
	if err != nil {
		return nil, err
	}
	return f.c.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: fouVersion}, Data: b}, f.family, netlink.Request|flags)
}

// hasGUE reports whether a GUE receive port is configured on port.
func (f *fouConn) hasGUE(port uint16) (bool, error) {
	msgs, err := f.do(fouCmdGet, 0, port, false)
	if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) { // no such port
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return false, err
		}
		for ad.Next() {
			if ad.Type() == fouAttrType && ad.Uint8() == fouEncapGUE {
				return true, nil
			}
		}
		if err := ad.Err(); err != nil {
			return false, err
		}
	}
	return false, fmt.Errorf("UDP port %d is a fou port of another kind", port)
}

func (f *fouConn) add(port uint16) error {
	_, err := f.do(fouCmdAdd, netlink.Acknowledge, port, true)
	return err
}

func (f *fouConn) del(port uint16) error {
	_, err := f.do(fouCmdDel, netlink.Acknowledge, port, false)
	return err
}
