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
// # Changes
//
// Every change goes one way: a single-change method (CreateService,
// UpdateDestination, SetTimeouts, ...) is a Batch of one. Each change is
// validated, checked against the running kernel and encoded in one place,
// then sent, many per system call for a Batch, and acknowledged one by
// one. The update methods write the whole object: UpdateDestination with a
// zero Forward makes a destination masqueraded, UpdateService with an empty
// Scheduler resets it to wlc, as ipvsadm -e and -E do. ModifyDestination
// and ModifyService read the object, let a func change it and write it
// back, so that what the func leaves alone stays as it is; Destination and
// Service read one object.
//
// # Text forms
//
// Protocol, Family, Scheduler, ForwardMethod, TunnelType, TunnelFlags and
// ServiceFlags implement encoding.TextMarshaler and TextUnmarshaler from one
// spelling table each ("tcp", "wrr", "dr", "gue", "csum", "mh-fallback"),
// which the ipvsadm rule syntax (ParseRules) uses too: a configuration file,
// a command-line flag and an ipvsadm-save file spell them alike.
//
// Errors: invalid input is rejected before anything is sent, with an error
// for which errors.Is(err, ErrInvalid) and errors.Is(err, fs.ErrInvalid)
// hold (a *ValidationError names the field). Kernel errors come back as *Error values carrying the operation and
// errno: a missing service or destination satisfies errors.Is(err,
// fs.ErrNotExist), a duplicate errors.Is(err, fs.ErrExist), and a kernel
// without IPVS errors.Is(err, ErrNotAvailable) (which also matches
// fs.ErrNotExist).
//
// # Kernel versions
//
// The package speaks the IPVS generic-netlink API as of Linux 6.1 and is
// tested on Debian's 6.1 kernel. Parts of it are newer than the API itself;
// because the kernel ignores attributes it does not know, the client checks
// the running kernel's release first and refuses, with an error wrapping
// errors.ErrUnsupported, what the kernel would otherwise silently do
// differently:
//
//   - Linux 2.6.34: SCTP services. 2.6.35: FlagOnePacket. 2.6.37: the "sip"
//     persistence engine. 3.18: destinations of another family than their
//     service (tunnels only).
//   - Linux 4.1: 64-bit stats (older kernels report 32-bit ones, which the
//     client reads too). 4.3: sync daemon max length, multicast group, port
//     and TTL; the ovf scheduler. 4.18: the mh scheduler.
//   - Linux 5.2: GUE tunnel destinations. 5.3: GRE tunnels and tunnel
//     checksum flags. 5.11: the twos scheduler.
package ipvs
