//go:build !linux

package sysctl

import (
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("sysctl: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func dupNS(int) (int, error) { return 0, errUnsupported }
func closeNS(int) error      { return nil }

func (s *Sysctl) read(string) (string, error) { return "", errUnsupported }
func (s *Sysctl) write(string, string) error  { return errUnsupported }
