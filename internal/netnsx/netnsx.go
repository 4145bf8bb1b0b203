// Package netnsx runs code on an OS thread inside another network
// namespace, for the few things that netlink's Config.NetNS cannot do:
// opening /proc/sys/net and /proc/net files (bound to the opener's namespace),
// listening or dialling sockets, starting a process in the namespace.
//
// A thread is only ever switched while locked to its goroutine and is
// switched back before it is unlocked. If switching back fails, the thread
// stays locked and the runtime discards it when the goroutine ends, so no
// thread is ever reused in a foreign namespace.
package netnsx
