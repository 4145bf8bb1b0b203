// Package directortest has in-memory stand-ins for the kernel sides a
// director.Director acts on besides IPVS (which package ipvs/ipvstest
// stands in for): sysctls, links with their addresses, and the firewall's
// mark and source-NAT rules. A Kernel holds one of each with an
// ipvstest.Fake, and New builds a Director on it, so that a program
// embedding a Director tests its own logic without root, without a kernel
// with ip_vs, on any operating system:
//
//	d, k := directortest.New(t, nil)
//	c, _ := director.Parse(yaml)
//	p, _ := d.Plan(ctx, c)
//	d.Apply(ctx, p)
//	table, _ := k.IPVS.Table(ctx) // what the kernel would hold
//
// Each stand-in behaves as the real side does where the Director can tell
// (errors matching the same fs and package errors, what a read gives back
// after a write), and RunSides is the suite that holds them to the real
// ones: this package runs it on both. Faults are injected per call
// (Sysctls.Fail, Links.Fail, Firewall.Fail; ipvstest.Fake has its own), and
// every stand-in counts its calls.
//
// VRRPNetwork joins Directors into VRRP pairs in memory: each one's
// Options.VRRP is a Host of one network, and Cut partitions a host off;
// Links.SetLinkUp pulls a director's cable.
package directortest
