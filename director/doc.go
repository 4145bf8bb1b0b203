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
// # Kernel sides, and testing a program that embeds a Director
//
// A Director reaches the kernel through four sides, each an interface in
// Options: IPVS (ipvs.API), Sysctls, Firewall (iptables.Backend) and
// Links (the VIPs' addresses and dummy devices). Left nil, each is the
// real one in Options.NetNS (Linux). Everything else (planning, applying,
// the run loop, health, quorum, maintenance, the state) is the same code
// on every system, so a program that embeds a Director tests its own
// logic on in-memory sides: package director/directortest has them (and
// builds a Director on them), with ipvs/ipvstest's IPVS, and holds them to
// the real sides with one suite run on both. Health checks and notify
// commands run in the namespace (dialling, listening, starting commands);
// on the stand-ins, use a check kind the test controls (a command).
//
// # From configuration to kernel
//
// A Config is compiled once (Compile, or Parse and Load, which return a
// *Compiled): validated (each error a *ConfigError saying where, in the
// file's own names, with its line, and wrapping the error of the package
// that refused the value), defaults filled in, health checks bound to
// their checkers. An IPv4-mapped IPv6 address is refused, as package ipvs
// refuses it: the kernel would hold the IPv4 address, and a configuration
// naming the mapped one would never match what is read back. Plan, Run
// and each reload take a *Compiled and compile nothing again. Plan
// compares the model with the kernel; each operation (an Op) carries its IPVS change as
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
// Memory per real server: about 730 bytes of live heap at 5,000 services of
// 4 real servers, a tcp check on each (keepalived.conf imported), all that
// Run holds: the Config kept with its Compiled (180), the compiled model
// (285: each real server once, which what the Director knows of the
// kernel's table shares while they match) and Run's own (265: what it
// knows of each service, one probe per address and check with a 32-byte
// subscriber per real server, 32 bytes for the Status). The table itself
// is the kernel's. BenchmarkMemory measures it by component;
// TestMemoryPerRealServer holds it under 1,200 bytes at 1,000 services,
// where fixed costs weigh more.
//
// # Health checks
//
// A Check is a kind of check from package director/check, its Spec, and
// how the director runs it: every Interval, within Timeout (at most
// check.MaxTimeout), Rise successes or Fall failures in a row to change a
// real server's health, a random start delay (Jitter) that spreads many
// checks, and OnFailure. The kinds are tcp (connect), http and https
// (status set, body regular expression, MD5 digest, request headers), tls
// (a verified handshake: CA file, server name, client certificate;
// verification is skipped only when insecure says so), udp (a datagram
// and its reply), dns (a query judged by rcode and answer), icmp (an
// echo), smtp (the banner and HELO) and command (exit status), each
// bounding what it reads, in bytes and in time; a program adds its own
// with check.Register. In a file a check is one block, its type and the
// kind's fields next to the director's; a field the kind does not read
// is an error at its line, never ignored. Checks run in the director's
// network namespace (the Director is their check.Env).
//
// A service can have a Quorum: with fewer real servers in service it is
// down, every real server quiesced and the sorry server in, until
// Quorum+Hysteresis are back. Real servers' health changes and a
// service's quorum changes are Reports from Run and, with Notify, commands
// run with the event in their environment.
//
// # Maintenance by hand
//
// Disable takes a real server out of service (weight 0: its open
// connections go on, new ones go elsewhere) with a reason, whatever its
// health, until Enable; Status lists them. The list is part of the state:
// it survives reloads and, with Options.StateFile, restarts. Ping tells a
// watchdog that Run's loop still answers.
//
// # Kernel defaults
//
// Some of IPVS's behaviour surprises whoever has not read its source. A
// Config sets these sysctls for the services that need them (each is
// recorded and put back on Teardown like any other; Config.Sysctls
// overrides any of them):
//
//   - net.ipv4.vs.expire_quiescent_template=1 for a persistent service: a
//     real server at weight 0 (failed and quiesced, or disabled by hand)
//     would otherwise keep every client whose persistence template points
//     at it, for as long as that client keeps coming back.
//   - net.ipv4.vs.expire_nodest_conn=1 when a check removes failed real
//     servers: their connections are expired at once and their clients
//     reconnect elsewhere, instead of sending into a void until the
//     connection times out.
//   - net.ipv4.vs.conn_reuse_mode=0 on kernels from 4.1 to 5.8 (by release
//     number: a fix cannot be probed), as kube-proxy does: there the default
//     1 delays a new connection from a reused client port by one second
//     (kubernetes/kubernetes#81775); 5.9 fixed it, and the default stays.
//
// An mh (Maglev hashing) service whose real servers may be quiesced (a
// check with onFailure: quiesce, or Disable) needs the mh-fallback flag: a
// weight-0 real server keeps its share of the lookup table, and without the
// flag its flows find no destination. The configuration is refused
// without it, and so is Disable.
//
// # Several directors
//
// A Config's Cluster makes the director one of several behind a router
// that spreads the VIPs' traffic over them (ECMP) or prefers one (a backup
// announces a worse MED): Run announces the Cluster's prefixes through
// Options.Announcer (BGP in package director/bgp) once an apply has
// succeeded, withdraws a prefix while a service under it is below its
// quorum, and Teardown withdraws before removing anything. So that every
// director sends a flow to the same real server, announced services must
// use mh with mh-fallback, quiesce failed real servers rather than remove
// them, and have no upper thresholds (each is refused with its reason);
// Fingerprint digests what the kernel holds, for comparing directors;
// Withdraw takes the director out of the cluster (its prefixes withdrawn,
// forwarding on) until Rejoin, and WaitIdle tells when nothing reaches it.
// A
// cluster sets sloppy TCP and SCTP (a director that never saw a flow's
// first packet still forwards it) and, with Sync, runs the IPVS sync
// daemon as master and backup, refreshing synced connections every 10
// seconds, so that a flow that moves to another director keeps its
// connection state (ipvs.Connection.Synced tells such entries).
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
