package iptables

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// The labs on a real IPVS kernel, each with every backend (labBackends):
//
// Lab 6: the director marks TCP packets to the VIP 10.0.0.100 on ports 80
// and 88 with mark 10, one firewall-mark service (ipvsadm -A -f 10 -s rr)
// sends them to rs1 and rs2 by direct routing (the note uses TUN; the marks
// do not care), and the client sees one rotation across both ports. The
// control half shows the test can tell: two per-port services give two
// interleaved rotations instead.
//
// FULLNAT's equivalent: NAT to real servers whose gateway is not the
// director works only with the source-NAT rules, which make the director's
// address the source the real servers answer.

const vip = "10.0.0.100"

// lab6Topology is the DR lab with the VIP on the director, and on the real
// servers' lo with the ARP sysctls that keep them from answering for it.
func lab6Topology(t *testing.T) (client, director *lab.Host) {
	t.Helper()
	labtest.CheckNoLeaks(t)
	l := labtest.Build(t, lab.DR())
	director = labtest.Host(t, l, lab.Director)
	if err := director.AddAddr("lo", vip+"/32"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{lab.RS1, lab.RS2} {
		rs := labtest.Host(t, l, name)
		for _, kv := range [][2]string{
			{"net.ipv4.conf.all.arp_ignore", "1"}, {"net.ipv4.conf.all.arp_announce", "2"},
			{"net.ipv4.conf.eth0.arp_ignore", "1"}, {"net.ipv4.conf.eth0.arp_announce", "2"},
		} {
			if err := rs.Sysctl(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := rs.AddAddr("lo", vip+"/32"); err != nil {
			t.Fatal(err)
		}
	}
	return labtest.Host(t, l, lab.Client), director
}

// fetch requests the VIP on each port in turn and returns who answered.
func fetch(t *testing.T, client *lab.Host, ports ...int) []string {
	t.Helper()
	var got []string
	for _, p := range ports {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := client.Get(ctx, "http://"+netip.AddrPortFrom(netip.MustParseAddr(vip), uint16(p)).String()+"/")
		cancel()
		if err != nil {
			t.Fatalf("GET :%d: %v (so far %v)", p, err, got)
		}
		got = append(got, body)
	}
	return got
}

// alternates reports whether every answer differs from the one before.
func alternates(got []string) bool {
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			return false
		}
	}
	return true
}

func addDestinations(t *testing.T, c *ipvs.Client, svc ipvs.Service, port uint16) {
	t.Helper()
	for _, rs := range []string{"10.0.0.110", "10.0.0.120"} {
		d := ipvs.Destination{Addr: netip.AddrPortFrom(netip.MustParseAddr(rs), port), Forward: ipvs.DirectRoute, Weight: 1}
		if err := c.CreateDestination(context.Background(), svc, d); err != nil {
			t.Fatal(err)
		}
	}
}

// labBackend is a backend the labs run with, and how to see what it owns
// in a namespace with the tool's own means (iptables-save; for nftables,
// the kernel's listing of the tables), not with the backend's List.
type labBackend struct {
	name    string
	modules []string // beside labModules
	open    func(t *testing.T, ns int) Backend
	// marks and snat show the owned mark and source-NAT rules: "" when
	// there are none.
	marks, snat func(t *testing.T, ns int) string
	// lab6Marks and fullnatSNAT are what marks and snat show with the
	// labs' rules in place.
	lab6Marks, fullnatSNAT string
	// lab6Tables and fullnatTables are the nf_tables tables in the
	// namespace then: iptables-nft keeps its rules in tables named as
	// iptables' ("ip mangle"), iptables-legacy in none.
	lab6Tables, fullnatTables string
}

func labBackends() []labBackend {
	bs := []labBackend{{
		name:    "nftables",
		modules: nftModules,
		open: func(t *testing.T, ns int) Backend {
			b, err := New(&Config{NetNS: ns})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		marks:         func(t *testing.T, ns int) string { return nftView(t, ns, NFTTable) },
		snat:          func(t *testing.T, ns int) string { return nftView(t, ns, NFTSNATTable) },
		lab6Marks:     "table inet lvs\n\tchain prerouting: 1 rules\n",
		fullnatSNAT:   "table inet lvs_snat\n\tchain postrouting: 2 rules\n",
		lab6Tables:    "inet lvs",
		fullnatTables: "inet lvs_snat",
	}}
	// The iptables backend with each flavour of the programs, named as
	// Debian names them (the plain names are its alternatives' choice).
	for _, f := range []struct {
		v4, v6                    string
		modules                   []string
		lab6Tables, fullnatTables string
	}{
		{"iptables-nft", "ip6tables-nft", xtModules, "ip mangle", "ip nat"},
		{"iptables-legacy", "ip6tables-legacy", legacyModules, "", ""},
	} {
		hb := iptHost(f.v4, f.v6)
		bs = append(bs, labBackend{
			name:    f.v4,
			modules: f.modules,
			open: func(t *testing.T, ns int) Backend {
				if os.Getenv("CI") == "true" {
					for _, p := range []string{f.v4 + "-restore", f.v4 + "-save", f.v6 + "-restore", f.v6 + "-save"} {
						if _, err := lookBin(p); err != nil {
							t.Fatalf("%v (CI=true: failing instead of skipping)", err)
						}
					}
				}
				return hb.open(t, ns) // skips without the programs
			},
			marks: hb.owned,
			snat:  func(t *testing.T, ns int) string { return snatOwned(t, hb, ns) },
			lab6Marks: `4 :LVS-MARK - [0:0]
4 -A PREROUTING -j LVS-MARK
4 -A LVS-MARK -d 10.0.0.100/32 -p tcp -m multiport --dports 80,88 -j MARK --set-xmark 0xa/0xffffffff
`,
			fullnatSNAT: `4 :LVS-SNAT - [0:0]
4 -A POSTROUTING -j LVS-SNAT
4 -A LVS-SNAT -d 10.0.0.110/32 -p tcp -m tcp --dport 80 -j MASQUERADE
4 -A LVS-SNAT -d 10.0.0.120/32 -p tcp -m tcp --dport 80 -j MASQUERADE
`,
			lab6Tables:    f.lab6Tables,
			fullnatTables: f.fullnatTables,
		})
	}
	return bs
}

// forEachLabBackend runs lab as a subtest per backend, each needing the
// labs' kernel modules and the backend's.
func forEachLabBackend(t *testing.T, lab func(t *testing.T, lb labBackend)) {
	for _, lb := range labBackends() {
		t.Run(lb.name, func(t *testing.T) {
			vmtest.Require(t, slices.Concat(labModules, lb.modules)...)
			lab(t, lb)
		})
	}
}

// nftView lists the inet table name in ns as the kernel has it: its
// chains and how many rules each holds; "" when there is no such table.
func nftView(t *testing.T, ns int, name string) string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(ns))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tables, func(tb *nftables.Table) bool { return tb.Name == name })
	if i < 0 {
		return ""
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("table inet " + name + "\n")
	for _, ch := range chains {
		if ch.Table.Name != name {
			continue
		}
		rules, err := c.GetRules(tables[i], ch)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\tchain " + ch.Name + ": " + strconv.Itoa(len(rules)) + " rules\n")
	}
	return b.String()
}

// nftTables lists the nf_tables tables in ns, as "family name" joined by
// commas.
func nftTables(t *testing.T, ns int) string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(ns))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	family := map[nftables.TableFamily]string{
		nftables.TableFamilyINet: "inet", nftables.TableFamilyIPv4: "ip", nftables.TableFamilyIPv6: "ip6",
	}
	var names []string
	for _, tb := range tables {
		f, ok := family[tb.Family]
		if !ok {
			f = strconv.Itoa(int(tb.Family))
		}
		names = append(names, f+" "+tb.Name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// checkView fails the test unless view (a labBackend's marks or snat)
// shows want.
func checkView(t *testing.T, what string, view func(*testing.T, int) string, ns int, want string) {
	t.Helper()
	if got := view(t, ns); got != want {
		t.Fatalf("%s in the director's namespace:\n%s\nwant\n%s", what, got, want)
	}
}

// refused fails the test if a request to url gets an answer.
func refused(t *testing.T, client *lab.Host, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if body, err := client.Get(ctx, url); err == nil {
		t.Fatalf("GET %s = %q, want no answer", url, body)
	}
}

func TestLab6FirewallMark(t *testing.T) {
	forEachLabBackend(t, func(t *testing.T, lb labBackend) {
		ctx := context.Background()
		client, director := lab6Topology(t)
		ns := int(director.NS())
		c, err := ipvs.New(&ipvs.Config{NetNS: ns})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fwm := ipvs.Service{FirewallMark: 10, Scheduler: ipvs.RoundRobin}
		if err := c.CreateService(ctx, fwm); err != nil {
			t.Fatal(err)
		}
		addDestinations(t, c, fwm, 0)

		// Without marks nothing reaches the service: the director itself
		// has nothing listening on the VIP.
		noMarks, cancel := context.WithTimeout(ctx, 2*time.Second)
		if body, err := client.Get(noMarks, "http://"+vip+"/"); err == nil {
			t.Fatalf("GET before marking = %q, want a refusal", body)
		}
		cancel()

		fw := lb.open(t, ns)
		mustSync(t, fw, []Rule{lab6()}, true)
		checkView(t, "mark rules", lb.marks, ns, lb.lab6Marks)
		checkView(t, "nf_tables tables", nftTables, ns, lb.lab6Tables)

		// Port 80 is asked at positions 0 and 2: one rotation across both
		// ports gives the same answer there, a rotation per port cannot.
		// And each real server gets to answer on both ports.
		ports := []int{80, 88, 80, 88, 88, 80, 80, 88}
		got := fetch(t, client, ports...)
		t.Logf("FWM 10 rr, ports %v: %v", ports, got)
		if !alternates(got) {
			t.Fatalf("answers %v for ports %v: want one rotation across both ports", got, ports)
		}
		seen := map[string]bool{}
		for i, who := range got {
			seen[who+":"+strconv.Itoa(ports[i])] = true
		}
		for _, want := range []string{"rs1:80", "rs1:88", "rs2:80", "rs2:88"} {
			if !seen[want] {
				t.Fatalf("answers %v for ports %v: %s never answered", got, ports, want)
			}
		}
		dests, err := c.Destinations(ctx, fwm)
		if err != nil {
			t.Fatal(err)
		}
		// The connection entries count at once (Stats wait for the
		// estimator).
		for _, d := range dests {
			if n := d.ActiveConns + d.InactiveConns; n != 4 {
				t.Errorf("destination %v: %d connections (%d active), want 4", d.Addr, n, d.ActiveConns)
			}
		}

		// Teardown: the marks are gone, as the tool sees it, and without
		// them the service gets nothing again.
		if err := fw.Remove(ctx); err != nil {
			t.Fatal(err)
		}
		checkView(t, "mark rules after Remove", lb.marks, ns, "")
		checkView(t, "source-NAT rules after Remove", lb.snat, ns, "")
		refused(t, client, "http://"+vip+"/")

		// Control: one service per port, the same requests see two
		// rotations, one per port.
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range []uint16{80, 88} {
			svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.MustParseAddr(vip), p), Scheduler: ipvs.RoundRobin}
			if err := c.CreateService(ctx, svc); err != nil {
				t.Fatal(err)
			}
			addDestinations(t, c, svc, p)
		}
		got = fetch(t, client, ports...)
		t.Logf("two services rr, ports %v: %v", ports, got)
		if alternates(got) {
			t.Fatalf("answers %v for ports %v alternate with a service per port: the test cannot tell", got, ports)
		}
	})
}

// fullnatTopology is the NAT lab with the real servers' gateway moved off
// the director, to 10.0.0.254, where nothing is: their answers to the
// client (192.168.10.100) go nowhere, while answers to the director's
// 10.0.0.8 stay on the segment. The director forwards, and keeps conntrack
// entries for IPVS's connections (net.ipv4.vs.conntrack), which source NAT
// needs.
func fullnatTopology(t *testing.T) (client, director *lab.Host) {
	t.Helper()
	labtest.CheckNoLeaks(t)
	spec := lab.NAT()
	for i := range spec.Hosts {
		for j := range spec.Hosts[i].Routes {
			if spec.Hosts[i].Routes[j].Via == "10.0.0.8" {
				spec.Hosts[i].Routes[j].Via = "10.0.0.254"
			}
		}
	}
	l := labtest.Build(t, spec)
	director = labtest.Host(t, l, lab.Director)
	for _, kv := range [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.ipv4.vs.conntrack", "1"}} {
		if err := director.Sysctl(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	return labtest.Host(t, l, lab.Client), director
}

func TestLabSourceNAT(t *testing.T) {
	forEachLabBackend(t, func(t *testing.T, lb labBackend) {
		ctx := context.Background()
		client, director := fullnatTopology(t)
		ns := int(director.NS())
		c, err := ipvs.New(&ipvs.Config{NetNS: ns})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Scheduler: ipvs.RoundRobin}
		if err := c.CreateService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		var rules []SNATRule
		for _, rs := range []string{"10.0.0.110:80", "10.0.0.120:80"} {
			d := ipvs.Destination{Addr: netip.MustParseAddrPort(rs), Forward: ipvs.Masquerade, Weight: 1}
			if err := c.CreateDestination(ctx, svc, d); err != nil {
				t.Fatal(err)
			}
			rules = append(rules, SNATRule{Protocol: TCP, Destination: d.Addr})
		}
		const url = "http://10.0.0.8/"

		// Plain NAT: the real servers answer the client by their gateway,
		// which is not the director.
		refused(t, client, url)

		fw := lb.open(t, ns)
		mustSyncSNAT(t, fw, rules, true)
		checkView(t, "source-NAT rules", lb.snat, ns, lb.fullnatSNAT)
		checkView(t, "mark rules", lb.marks, ns, "")
		checkView(t, "nf_tables tables", nftTables, ns, lb.fullnatTables)

		// With the director's address as their source, the real servers
		// answer it, and the director the client: rr across both.
		var got []string
		for range 4 {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			body, err := client.Get(rctx, url)
			cancel()
			if err != nil {
				t.Fatalf("GET %s with source NAT: %v (so far %v)", url, err, got)
			}
			got = append(got, body)
		}
		t.Logf("NAT + source NAT, rr: %v", got)
		if !alternates(got) || !slices.Contains(got, "rs1") || !slices.Contains(got, "rs2") {
			t.Fatalf("answers %v: want rs1 and rs2 in turn", got)
		}

		// Teardown: the rules are gone, as the tool sees it, and new
		// connections get no answer again.
		if err := fw.Remove(ctx); err != nil {
			t.Fatal(err)
		}
		checkView(t, "source-NAT rules after Remove", lb.snat, ns, "")
		checkView(t, "mark rules after Remove", lb.marks, ns, "")
		refused(t, client, url)
	})
}
