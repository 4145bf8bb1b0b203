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
//   - the firewall-mark rules, which live in the iptables package's own
//     table or chain.
//
// What it created and changed is its state; with Options.StateFile set, the
// state is saved there after each Apply so that a restarted director still
// knows what is its own.
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
