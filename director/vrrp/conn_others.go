//go:build !linux

package vrrp

import (
	"errors"
	"fmt"
)

// Listen is Linux only: its error wraps errors.ErrUnsupported.
func Listen(cfg *Config, netns int) (Conn, error) {
	return nil, fmt.Errorf("vrrp: raw sockets: %w", errors.ErrUnsupported)
}

// NewAnnouncer is Linux only: its error wraps errors.ErrUnsupported.
func NewAnnouncer(iface string, v6 bool, netns int) (Announcer, error) {
	return nil, fmt.Errorf("vrrp: ARP and NDP: %w", errors.ErrUnsupported)
}
