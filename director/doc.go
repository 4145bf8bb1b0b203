// Package director brings a host, or a network namespace, into the LVS
// director role from a declared configuration, changing only what differs:
// what keepalived's virtual_server blocks and kube-proxy's IPVS mode do, as a
// library.
//
// A Config declares the virtual services (address, port and protocol, or a
// firewall mark with the rule that sets it), their schedulers, flags and
// persistence, the real servers with forwarding method, weight and
// thresholds, the VIPs and where they live, global timeouts, and sysctls.
// Plan reads the kernel and computes the operations that make it so; a Plan
// prints as a readable diff (a dry run); Apply executes it, the IPVS part
// through one ipvs.Batch.
//
// # Ownership
//
// A Director changes only what it owns, and never anything else in the
// namespace: other services, other addresses, other firewall rules stay as
// they are. It owns
//
//   - the IPVS services whose keys its configuration lists, and the ones it
//     created before and that are no longer listed (until it has deleted
//     them);
//   - the VIP addresses it added (an address that was already there is used
//     but never removed), and the dummy devices it created;
//   - the sysctls it changed, whose previous values it keeps to restore;
//   - the firewall-mark and source-NAT rules, which live in the iptables
//     package's own tables or chains.
//
// What it created and changed is its state; with Options.StateFile set, the
// state is saved there after each Apply (whatever failed) so that a
// restarted director still knows what is its own.
//
// # From configuration to kernel
//
// A Config is compiled once into a model: validated (each error a
// *ConfigError saying where), defaults filled in, IPv4-mapped addresses
// normalised, health checks bound to their probers. Plan compares the
// model with the kernel; each operation (an Op) carries its IPVS change as
// an ipvs.Rule, which is what the plan prints and what Apply sends in one
// ipvs.Batch. Health verdicts change the model (quiesced or removed real
// servers, the sorry server), never the Config, so a health flip plans
// only the affected real servers.
//
// # The running loop
//
// Run's work is proportional to the change, not to the table. Health
// changes that arrive within a few milliseconds of each other are planned
// together, for the affected services only, against what the Director
// knows it applied (the last full read plus its own changes since), and
// reach the kernel as one batch: a flip reads nothing and costs the same
// with 1,000 services as with 10,000. The whole table is read at start, on
// reload, on Plan, and every Options.Resync, which repairs and reports
// (Report.Resync) what someone else changed. Status tells what Run and
// Apply have done and the health of each checked real server, at any time
// and without waiting for them (package director/metrics exports it).
//
// # Health checks
//
// Each kind of Check is one file, health_<kind>.go, registered by one line
// in checkKinds: tcp (connect), http and https (status), udp (a datagram
// and its reply) and command (exit status). Checks run in the director's
// network namespace.
//
// # Changing without dropping traffic
//
// Operations run in this order: sysctls and timeouts; new and changed
// services; new destinations; changed destinations; firewall marks; new
// VIPs; then the removals, last: VIPs, destinations, services. A removed
// real server is not deleted at once when Options.Drain is set: its weight
// goes to 0 so that it takes no new connections, and Collect deletes it
// when its active connections reach zero or the drain deadline passes
// (kube-proxy's graceful termination).
package director
