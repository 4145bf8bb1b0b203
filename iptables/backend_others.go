//go:build !linux

package iptables

import (
	"errors"
	"fmt"
)

func newBackend(cfg Config) (Backend, error) {
	return nil, &Error{Backend: cfg.Backend, Op: "new", Err: fmt.Errorf("firewall marks need Linux: %w", errors.ErrUnsupported)}
}
