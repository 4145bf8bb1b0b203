// Package vrrp is a VRRP speaker (RFC 5798 / RFC 9568 version 3, RFC 3768
// version 2) that interoperates with keepalived: a director pair moves its
// virtual addresses with it, or replaces one node of a keepalived pair.
package vrrp
