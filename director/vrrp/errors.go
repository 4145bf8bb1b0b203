package vrrp

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every error about bad input: a
// configuration or an advert this package refuses to build.
var ErrInvalid = errors.New("vrrp: invalid")

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return "vrrp: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Reason is why a received packet was refused; the counters are kept by
// reason.
type Reason uint8

// The reasons a packet is refused.
const (
	// ReasonLength: shorter or longer than its address count says.
	ReasonLength Reason = iota + 1
	// ReasonVersion: not the instance's version (or not 2 or 3).
	ReasonVersion
	// ReasonType: not an advertisement.
	ReasonType
	// ReasonChecksum: the checksum does not match.
	ReasonChecksum
	// ReasonTTL: multicast received with a TTL or hop limit other than 255.
	ReasonTTL
	// ReasonAuth: v2 authentication type or password not the instance's.
	ReasonAuth
	// ReasonAddrList: the virtual addresses are not the instance's.
	ReasonAddrList
	// ReasonInterval: a v2 advert with another interval (keepalived drops
	// these to keep two masters from one VRID).
	ReasonInterval
	// ReasonPeer: a unicast advert from an address that is not a peer.
	ReasonPeer
)

// Reasons lists every reason, for counters and metrics.
var Reasons = []Reason{ReasonLength, ReasonVersion, ReasonType, ReasonChecksum, ReasonTTL, ReasonAuth, ReasonAddrList, ReasonInterval, ReasonPeer}

var reasonNames = map[Reason]string{
	ReasonLength: "length", ReasonVersion: "version", ReasonType: "type", ReasonChecksum: "checksum",
	ReasonTTL: "ttl", ReasonAuth: "auth", ReasonAddrList: "addr_list", ReasonInterval: "interval", ReasonPeer: "peer",
}

// String returns the reason's metric label ("checksum", "ttl"...).
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint8(r))
}

// PacketError is a received packet refused, with its reason.
type PacketError struct {
	Reason Reason
	Detail string
}

// Error says why the packet was refused.
func (e *PacketError) Error() string {
	if e.Detail == "" {
		return "vrrp: packet refused: " + e.Reason.String()
	}
	return "vrrp: packet refused: " + e.Reason.String() + ": " + e.Detail
}
