// Package lvs is a Go SDK for Linux Virtual Server (IPVS), the kernel's
// layer-4 load balancer: what operators do with ipvsadm, sysctls, iptables
// mangle rules and keepalived, done from Go, typed, and tested against a real
// kernel.
//
// # Packages
//
//   - ipvs: the kernel's IPVS generic-netlink family: services, destinations,
//     schedulers, persistence, timeouts, stats, sync daemons, connections;
//     batches; text forms of its enums.
//   - ipvs/ipvsadm: ipvsadm as a user of ipvs: its rule syntax, read as
//     ipvsadm 1.31 reads it, and its listings and save format, byte for byte.
//   - sysctl: typed, network-namespace-aware /proc/sys access with
//     snapshot and restore.
//   - realserver: brings a host or namespace into the DR or TUN real-server
//     role, and exactly back out.
//   - iptables: the firewall rules the others need, in one owned table or
//     chain per purpose: firewall marks that group ports into one IPVS
//     service, and source NAT (FULLNAT's effect), through nftables or
//     iptables.
//   - director: the director role, declared and applied with the fewest
//     kernel changes, with health checks and drains. Portable: it reaches
//     the kernel through four interfaces (ipvs.API, Sysctls, Firewall,
//     Links), the real ones by default.
//   - director/directortest: in-memory sysctls, links and firewall (with
//     ipvs/ipvstest's IPVS), for testing a program that embeds a Director
//     without root or ip_vs; held to the real sides by one suite.
//   - director/check: the health checks, one typed kind per protocol behind
//     one interface, with a registry programs add their own kinds to.
//   - director/keepalived: reads keepalived.conf as keepalived's own parser
//     does, into a director Config, noting what it does not carry.
//   - director/bgp: the director's BGP speaker (GoBGP), for several
//     directors behind a router.
//   - director/vrrp: a VRRP v2/v3 speaker that interoperates with
//     keepalived, for a director pair without BGP.
//   - director/metrics: a Prometheus collector of the IPVS table and a
//     director's status, read on each scrape; the only package that
//     imports client_golang.
//   - examples: the classic LVS labs, an ipvsadm and a director daemon, all
//     on the SDK.
//   - internal: namespaces, rtnetlink helpers, the VM test runner.
//
// Imports point down only: director uses ipvs, sysctl and iptables; realserver
// uses sysctl; ipvs/ipvsadm uses ipvs; ipvs, sysctl and iptables import no
// sibling.
//
// # How data flows
//
// A director configuration, in Go or YAML, is compiled once into a model
// (director.Compiled, which Plan, Run and reloads take as it is):
// validated, defaults filled in, converted to the
// values the kernel takes (ipvs.Service, ipvs.Destination, iptables.Rule,
// iptables.SNATRule, sysctl.Setting) with each health check bound to its
// prober. Planning compares the model with what the kernel holds and yields
// operations; an IPVS operation carries its change as an ipvs.Rule, which
// is both what the plan prints (ipvsadm's syntax) and what Apply queues on
// an ipvs.Batch. The batch is the one path of every IPVS change, the
// single-change methods included: each change is validated, checked against
// the running kernel's features and encoded in one place (ipvs/change.go),
// then sent, many per system call, and acknowledged one by one.
//
//	Config --Compile--> Compiled --plan(model, kernel)--> []Op --Rule--> ipvs.API (Batch) --> kernel | ipvstest
//	                      |                              \--> Sysctls, Firewall, Links --> kernel | directortest
//	health verdicts --effective(model)--> plan again (only the affected real servers differ)
//
// Every package takes its network namespace as a file descriptor in its
// Config and opens its sockets there; nothing switches the caller's thread
// into a foreign namespace. Handles are built with New(*Config), nil meaning
// the defaults; every call that talks to the kernel takes a context; every
// validation error matches fs.ErrInvalid and the package's ErrInvalid.
package lvs
