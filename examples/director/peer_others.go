//go:build !linux

package main

import (
	"errors"
	"fmt"
	"net"
)

// peerOf cannot read a peer's credentials on this system: the control
// socket refuses every peer.
func peerOf(net.Conn) (peer, error) {
	return peer{}, fmt.Errorf("control socket: peer credentials: %w", errors.ErrUnsupported)
}
