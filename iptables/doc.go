// Package iptables keeps the firewall-mark rules that group ports into one
// IPVS firewall-mark service: the Go form of
//
//	iptables -t mangle -A PREROUTING -d 10.0.0.100 -p tcp -m multiport --dports 80,88 -j MARK --set-mark 10
//	ipvsadm -A -f 10 -s rr
//
// A Rule is data: destination prefix, protocol, ports and port ranges,
// optional source prefix and input interface, the mark and an optional
// mask. A Backend keeps a whole set of rules in one network namespace:
// Sync makes the owned rules exactly the given set (sending nothing when
// they already are), List reads them back, Remove deletes them.
//
// A Backend also keeps the source-NAT rules of a director (the FULLNAT
// equivalent): an SNATRule masquerades the traffic forwarded to one real
// server, so that the real server replies to the director even when its
// gateway is another router. SyncSNAT, ListSNAT and Remove treat them as
// Sync, List and Remove treat the marks, in a table or chain of their own,
// so that either set changes without disturbing the other.
//
// Two backends share the Backend interface. NFTables, the default, speaks
// nf_tables netlink itself and owns the table "inet lvs" (NFTTable) with a
// prerouting chain at mangle priority, and for source NAT the table "inet
// lvs_snat" (NFTSNATTable) with a postrouting chain at srcnat priority.
// IPTables runs iptables-restore and iptables-save (ip6tables-* for IPv6),
// for hosts whose firewall is managed with iptables, and owns the mangle
// chain LVS-MARK (IPTablesChain), jumped to from PREROUTING, and the nat
// chain LVS-SNAT (IPTablesSNATChain), jumped to from POSTROUTING. Either way
// the package changes only what it owns: other tables, chains and rules
// stay as they are.
//
// Errors: invalid rules give a *ValidationError (errors.Is ErrInvalid and
// fs.ErrInvalid) before any change; other
// failures an *Error, which wraps errors.ErrUnsupported when nf_tables is
// missing (or the system is not Linux) and fs.ErrNotExist when the iptables
// programs are.
package iptables
