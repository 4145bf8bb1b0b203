// Package lvs is a Go SDK for Linux Virtual Server (IPVS), the kernel's
// layer-4 load balancer: what operators do with ipvsadm, sysctls, iptables
// mangle rules and keepalived, done from Go, typed, and tested against a real
// kernel.
//
// The module is a set of focused packages:
//
//   - ipvs: the kernel's IPVS generic-netlink family: services, destinations,
//     schedulers, persistence, timeouts, stats, sync daemons, connections.
//   - sysctl: typed, network-namespace-aware /proc/sys access with
//     snapshot and restore.
//   - realserver: brings a host or namespace into the DR or TUN real-server
//     role, and exactly back out.
//   - iptables: firewall-mark rules that group ports into one IPVS service,
//     through nftables or iptables.
//   - director: the director role, declared and applied with the fewest
//     kernel changes.
//   - examples: one runnable program per classic LVS lab.
//
// Every package can work on a given network namespace; nothing switches the
// caller's thread into a foreign namespace.
package lvs
