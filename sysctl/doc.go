// Package sysctl reads and writes kernel parameters under /proc/sys, typed,
// per network namespace, with snapshot and exact restore.
//
// Keys are written in sysctl(8)'s dotted form: "net.ipv4.ip_forward". A dot
// inside one component (an interface such as "eth0.100") is written as a
// slash, as sysctl(8) does: "net.ipv4.conf.eth0/100.rp_filter". The helpers
// ConfIPv4 and ConfIPv6 build such keys from an interface name.
//
// Every net.* key is per network namespace. A Sysctl bound to a namespace
// opens its files from a thread switched into that namespace (the kernel
// binds a /proc/sys/net file to the opener's namespace) and switches the
// thread back at once; the caller's threads never change namespace. Other
// keys (kernel.*, vm.*) are global whatever the namespace.
//
// Apply writes several keys as one change: it reads every old value first
// and, if a write fails, puts back those it already wrote, so no partial
// change is left behind. It returns a Snapshot of what it changed, which
// Restore puts back exactly.
//
// Every call that reads or writes /proc/sys takes a context. A done context
// stops a call before it starts; Apply, Snapshot and Restore also check it
// between keys, and an Apply stopped midway puts back what it wrote, as it
// does when a write fails.
package sysctl
