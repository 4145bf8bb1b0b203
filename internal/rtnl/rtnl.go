// Package rtnl holds the few link and address operations the director and
// real-server roles share, over jsimonetti/rtnetlink in a given namespace.
package rtnl
