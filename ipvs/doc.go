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
// when it is done. Only the socket is Linux's: on other systems New fails
// with an error matching errors.ErrUnsupported, and everything else
// (validation, Batch and its Rules, the text forms, package ipvstest)
// works alike.
//
// # Changes
//
// Every change goes one way: a single-change method (CreateService,
// UpdateDestination, SetTimeouts, ...) is a Batch of one. Each change is
// validated, checked against the running kernel and encoded in one place,
// then sent, many per system call for a Batch; the kernel answers each
// change that fails and acknowledges each system call's last change, which
// tells that the others were applied. The update methods write the whole object: UpdateDestination with a
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
// which also gives their String ("TCP", "Route", as ipvsadm lists them) and
// ServiceFlags.Names: a configuration file, a command-line flag, a Rule's
// String and ipvsadm's listings spell them alike.
//
// # Errors
//
// Invalid input is rejected before anything is sent, with a
// *ValidationError naming the field, for which errors.Is(err, ErrInvalid)
// and errors.Is(err, fs.ErrInvalid) hold. Kernel errors come back as *Error
// values carrying the operation, what it names (the service's key, the
// destination's address, the sync daemon's role) and the errno, and say it:
// "ipvs: create destination 10.0.0.2:80 in tcp 10.0.0.1:80: no such
// service". A missing service or destination satisfies errors.Is(err,
// fs.ErrNotExist), a duplicate errors.Is(err, fs.ErrExist), the kernel's
// EINVAL errors.Is(err, ErrInvalid), and a kernel without IPVS
// errors.Is(err, ErrNotAvailable) (which also matches fs.ErrNotExist).
// The errno matches too (errors.Is(err, syscall.ESRCH)).
//
// # IPv4-mapped addresses
//
// IPVS keeps an IPv4 service or destination by its IPv4 address: written
// as the IPv4-mapped IPv6 address ::ffff:10.0.0.1 (what converting a
// net.IP with netip.AddrFromSlice gives), it would read back as 10.0.0.1,
// and a program comparing what it wrote with what it reads would see a
// difference forever (and, trying to fix it, delete the real server). So
// there is one rule: a change or query that names a service, destination
// or sync daemon multicast group by an IPv4-mapped address is refused
// before anything is sent, with a *ValidationError that says to pass the
// IPv4 address (netip.Addr.Unmap). Only Destination and ModifyDestination,
// which look a destination up among those the kernel lists, find the IPv4
// destination by its mapped form.
//
// # ipvsadm
//
// A Rule is a change in ipvsadm's command syntax ("-a -t 10.0.0.8:80 -r
// 10.0.0.110:80 -g -w 1"): Batch.AddRules queues rules, Batch.Rules reads a
// batch back as rules, ValidateRule checks one as Apply would, and
// Rule.String prints one as ipvsadm -S would. Reading ipvsadm's syntax as
// ipvsadm itself does (ParseRules), and its listings (-Ln, --stats, --rate)
// and save format (-Sn), are package ipvs/ipvsadm's, a user of this one.
//
// # Kernel features
//
// The package speaks the IPVS generic-netlink API as of Linux 6.1 and is
// tested on Debian's 6.1 kernel. Parts of it are newer than the API itself.
// Because the kernel ignores attributes it does not know, a change that
// uses a newer attribute is checked first and refused, with an
// *UnsupportedFeatureError (matching errors.ErrUnsupported) that names the
// feature, the release that introduced it and why, where the
// kernel would otherwise silently do something else:
//
//   - Linux 4.3: sync daemon max length, multicast group, port and TTL.
//   - Linux 5.2: GUE tunnel destinations. 5.3: GRE tunnels and tunnel
//     checksum flags.
//
// The check asks the kernel, not its release number, where the kernel can
// say: on the first change that uses one of these (once per Client), the
// client reads the IPVS family's policy from the generic-netlink
// controller (CTRL_CMD_GETPOLICY, Linux 5.7) and looks for the attributes
// in the policies of IPVS_CMD_ATTR_DEST and IPVS_CMD_ATTR_DAEMON, so that a
// distribution kernel with the feature backported is not refused it. Where
// the kernel gives no such answer, the release number (uname) decides, as
// the list above says: a kernel without CTRL_CMD_GETPOLICY (EOPNOTSUPP,
// EINVAL or ENODATA from the controller), and a policy that names those
// nests without describing their attributes, as mainline's does (its
// ip_vs_cmd_policy has plain NLA_NESTED entries; Debian's 6.1 answers so).
// No other probe is free of side effects (the kernel parses these
// attributes only inside a change to an existing service), so for a
// distribution kernel that has them backported past its release number,
// Config.SkipFeatureChecks turns the release rule off.
//
// Schedulers are the kernel's to refuse: it loads ip_vs_<name> on demand
// and answers ENOENT when there is none (Debian's 6.1 has no twos). Such a
// create or update service error says the scheduler is not available in
// this kernel and matches errors.ErrUnsupported as well as fs.ErrNotExist
// (ovf is Linux 4.3, mh 4.18, twos 5.11).
//
// Older parts of the API are not checked: Linux 2.6.34: SCTP services.
// 2.6.35: FlagOnePacket. 2.6.37: the "sip" persistence engine. 3.18:
// destinations of another family than their service (tunnels only). 4.1:
// 64-bit stats (older kernels report 32-bit ones, which the client reads
// too).
package ipvs
