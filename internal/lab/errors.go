package lab

import "errors"

// ErrClosed is returned by methods of a Lab, or of its Hosts, after Close.
var ErrClosed = errors.New("lab: closed")
