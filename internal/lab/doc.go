// Package lab builds small networks out of Linux network namespaces for the
// project's tests and example programs: hosts joined by veth pairs and Linux
// bridges, with addresses, routes, per-namespace sysctls, an HTTP page server
// and an HTTP client that each run inside a host's namespace.
//
// Everything a Lab makes lives in namespaces it created; the caller's own
// namespace is never changed, and the caller's thread is never left in a
// foreign namespace. The namespaces are anonymous (held only by file
// descriptors), so Close, or the end of the process, frees them together with
// every interface, address and route in them.
//
// A Lab is built either step by step (New, NewHost, Link, Bridge, AddAddr,
// Route, Sysctl, Serve) or from a Spec (Build, Apply). NAT, DR and
// DRMultiSegment return the Specs of the study note's labs. They set up the
// plain network only: IPVS, VIPs, ARP sysctls and the director's ip_forward
// are left to the SDK under test.
package lab
