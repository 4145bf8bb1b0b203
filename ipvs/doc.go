// Package ipvs is a client for the Linux kernel's IP Virtual Server (IPVS),
// over its "IPVS" generic-netlink family: what ipvsadm does, from Go.
//
// A Service is a virtual server: a protocol, address and port (TCP, UDP or
// SCTP; IPv4 or IPv6), or a firewall mark, with a Scheduler, flags and
// optional persistence. Each service forwards to Destinations (real servers)
// with a forwarding method (masquerade/NAT, direct routing, tunnelling or
// local), a weight and optional connection thresholds.
//
// A Client is bound to one network namespace (the caller's, or the one given
// in Config) for its whole life: its netlink socket is opened there, and it may
// then be used from any goroutine. Methods take a context; they stop waiting
// when it is done.
//
// Errors: invalid input is rejected before anything is sent, with an error
// for which errors.Is(err, ErrInvalid) holds (a *ValidationError names the
// field). Kernel errors come back as *Error values carrying the operation and
// errno: a missing service or destination satisfies errors.Is(err,
// fs.ErrNotExist), a duplicate errors.Is(err, fs.ErrExist), and a kernel
// without IPVS errors.Is(err, ErrNotAvailable) (which also matches
// fs.ErrNotExist).
package ipvs
