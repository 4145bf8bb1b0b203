package iptables

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/lvs-go/lvs/internal/nstest"
)

// The host tier for source NAT: as host_linux_test.go, each test in a fresh
// network namespace, checked with nft and iptables-save run inside it.

var (
	snatWeb2  = SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("10.0.0.4:443")}
	snatFirst = []SNATRule{snatWeb, snatAny, snatDNS6}
	// The second set: another rule, one gone, the IPv4 order changed.
	snatSecond = []SNATRule{snatWeb2, snatWeb}
)

// snatViews are the owned SNAT views of snatFirst and snatSecond, as
// snatOwned shows them, of nftables and of iptables (both variants).
var snatViews = map[string]map[string]string{
	"nftables": {
		"first": `table inet lvs_snat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip daddr 10.0.0.2 tcp dport 80 masquerade
		ip daddr 10.0.0.3 meta l4proto sctp masquerade
		ip6 daddr 2001:db8::2 udp dport 53 masquerade
	}
}
`,
		"second": `table inet lvs_snat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip daddr 10.0.0.4 tcp dport 443 masquerade
		ip daddr 10.0.0.2 tcp dport 80 masquerade
	}
}
`,
	},
	"iptables": {
		"first": `4 :LVS-SNAT - [0:0]
4 -A POSTROUTING -j LVS-SNAT
4 -A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
4 -A LVS-SNAT -d 10.0.0.3/32 -p sctp -j MASQUERADE
6 :LVS-SNAT - [0:0]
6 -A POSTROUTING -j LVS-SNAT
6 -A LVS-SNAT -d 2001:db8::2/128 -p udp -m udp --dport 53 -j MASQUERADE
`,
		"second": `4 :LVS-SNAT - [0:0]
4 -A POSTROUTING -j LVS-SNAT
4 -A LVS-SNAT -d 10.0.0.4/32 -p tcp -m tcp --dport 443 -j MASQUERADE
4 -A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
`,
	},
}

// snatWant returns hb's owned SNAT view of scenario ("first", "second").
func snatWant(hb hostBackend, scenario string) string {
	if hb.name == "nftables" {
		return snatViews["nftables"][scenario]
	}
	return snatViews["iptables"][scenario]
}

// snatOwned shows the SNAT rules backend hb owns: `nft list table inet
// lvs_snat`, or the owned lines of iptables-save -t nat of both families.
func snatOwned(t *testing.T, hb hostBackend, ns int) string {
	t.Helper()
	if hb.name == "nftables" {
		out, err := shErr(ns, "", "nft", "list", "table", "inet", NFTSNATTable)
		if err != nil && strings.Contains(err.Error(), "No such file or directory") {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	v6 := strings.Replace(hb.name, "iptables", "ip6tables", 1)
	var b strings.Builder
	for _, fam := range []struct{ tag, prog string }{{"4 ", hb.name}, {"6 ", v6}} {
		for l := range strings.Lines(sh(t, ns, "", fam.prog+"-save", "-t", "nat")) {
			if strings.Contains(l, IPTablesSNATChain) {
				b.WriteString(fam.tag + l)
			}
		}
	}
	return b.String()
}

// snatHandles shows the SNAT table or chains with the kernel's handles
// (for iptables-legacy, which has none, the owned lines).
func snatHandles(t *testing.T, hb hostBackend, ns int) string {
	t.Helper()
	switch hb.name {
	case "nftables":
		return sh(t, ns, "", "nft", "-a", "list", "table", "inet", NFTSNATTable)
	case "iptables":
		return sh(t, ns, "", "nft", "-a", "list", "table", "ip", "nat") + sh(t, ns, "", "nft", "-a", "list", "table", "ip6", "nat")
	}
	return snatOwned(t, hb, ns)
}

func checkSNATOwned(t *testing.T, hb hostBackend, ns int, want string) {
	t.Helper()
	if got := snatOwned(t, hb, ns); got != want {
		t.Fatalf("owned SNAT rules in the namespace:\n%s\nwant\n%s", got, want)
	}
}

// checkListSNAT compares ListSNAT with want, which has its IPv4 rules first
// (as both backends list them).
func checkListSNAT(t *testing.T, b Backend, want []SNATRule) {
	t.Helper()
	got, err := b.ListSNAT(context.Background())
	if err != nil {
		t.Fatalf("ListSNAT: %v", err)
	}
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("ListSNAT = %v, want %v", got, want)
	}
}

func mustSyncSNAT(t *testing.T, b Backend, rules []SNATRule, wantChanged bool) {
	t.Helper()
	changed, err := b.SyncSNAT(context.Background(), rules)
	if err != nil {
		t.Fatalf("SyncSNAT: %v", err)
	}
	if changed != wantChanged {
		t.Fatalf("SyncSNAT changed = %v, want %v", changed, wantChanged)
	}
}

func TestHostSNATSyncList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		// Nothing yet.
		checkListSNAT(t, b, nil)
		mustSyncSNAT(t, b, nil, false)

		// IPv4, IPv6 and any port go in, and read back.
		mustSyncSNAT(t, b, snatFirst, true)
		checkSNATOwned(t, hb, ns, snatWant(hb, "first"))
		checkListSNAT(t, b, snatFirst)

		// Again, also with the families in the other order, sends nothing.
		before := snatHandles(t, hb, ns)
		mustSyncSNAT(t, b, snatFirst, false)
		mustSyncSNAT(t, b, []SNATRule{snatDNS6, snatWeb, snatAny}, false)
		if after := snatHandles(t, hb, ns); after != before {
			t.Fatalf("an unchanged SyncSNAT rewrote rules:\n%s\nthen\n%s", before, after)
		}

		// An invalid set changes nothing.
		_, err := b.SyncSNAT(context.Background(), []SNATRule{snatWeb2, {Protocol: TCP, Destination: netip.MustParseAddrPort("[::ffff:10.0.0.5]:80")}})
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Index != 1 || verr.Field != "Destination" || !errors.Is(err, ErrInvalid) {
			t.Fatalf("SyncSNAT(invalid) = %v, want a *ValidationError for rule 1's Destination", err)
		}
		checkSNATOwned(t, hb, ns, snatWant(hb, "first"))

		// A new set replaces the old; the order within a family is kept.
		mustSyncSNAT(t, b, snatSecond, true)
		checkSNATOwned(t, hb, ns, snatWant(hb, "second"))
		checkListSNAT(t, b, snatSecond)

		// An empty set removes the table or chains.
		mustSyncSNAT(t, b, nil, true)
		checkSNATOwned(t, hb, ns, "")
		checkListSNAT(t, b, nil)
		mustSyncSNAT(t, b, nil, false)
	})
}

// Marks and source NAT live apart: each Sync leaves the other's rules (and,
// where the kernel shows them, their handles) as they are; Sync(nil) and
// SyncSNAT(nil) remove only their own; Remove removes both.
func TestHostSNATAndMarks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		ctx := context.Background()
		mustSync(t, b, firstSet, true)
		mustSyncSNAT(t, b, snatFirst, true)
		checkList(t, b, firstSet)
		checkOwned(t, hb, ns, hb.want["first"])
		checkListSNAT(t, b, snatFirst)
		checkSNATOwned(t, hb, ns, snatWant(hb, "first"))

		// New marks leave source NAT alone.
		snatBefore := snatHandles(t, hb, ns)
		mustSync(t, b, secondSet, true)
		checkList(t, b, secondSet)
		checkListSNAT(t, b, snatFirst)
		if got := snatHandles(t, hb, ns); got != snatBefore {
			t.Fatalf("Sync changed the SNAT rules:\n%s\nwant\n%s", got, snatBefore)
		}

		// New source NAT leaves the marks alone.
		marksBefore := hb.owned(t, ns)
		mustSyncSNAT(t, b, snatSecond, true)
		checkListSNAT(t, b, snatSecond)
		checkList(t, b, secondSet)
		if got := hb.owned(t, ns); got != marksBefore {
			t.Fatalf("SyncSNAT changed the marks:\n%s\nwant\n%s", got, marksBefore)
		}
		if hb.name == "nftables" {
			c, err := nftables.New(nftables.WithNetNSFd(ns))
			if err != nil {
				t.Fatal(err)
			}
			if rules, err := c.GetRules(nftTable, nftChain()); err != nil || len(rules) != 1 {
				t.Fatalf("mark rules after SyncSNAT: %d, %v", len(rules), err)
			}
		}

		// SyncSNAT(nil) removes only source NAT.
		mustSyncSNAT(t, b, nil, true)
		checkSNATOwned(t, hb, ns, "")
		checkListSNAT(t, b, nil)
		checkList(t, b, secondSet)
		checkOwned(t, hb, ns, hb.want["second"])

		// Sync(nil) removes only the marks.
		mustSyncSNAT(t, b, snatFirst, true)
		mustSync(t, b, nil, true)
		checkOwned(t, hb, ns, "")
		checkList(t, b, nil)
		checkListSNAT(t, b, snatFirst)
		checkSNATOwned(t, hb, ns, snatWant(hb, "first"))

		// Remove removes both, and twice is fine.
		mustSync(t, b, firstSet, true)
		if err := b.Remove(ctx); err != nil {
			t.Fatal(err)
		}
		checkOwned(t, hb, ns, "")
		checkSNATOwned(t, hb, ns, "")
		checkList(t, b, nil)
		checkListSNAT(t, b, nil)
		if err := b.Remove(ctx); err != nil {
			t.Fatalf("second Remove: %v", err)
		}
		// Remove with only source NAT there.
		mustSyncSNAT(t, b, snatFirst, true)
		if err := b.Remove(ctx); err != nil {
			t.Fatal(err)
		}
		checkSNATOwned(t, hb, ns, "")
		mustSyncSNAT(t, b, nil, false)
		mustSync(t, b, nil, false)
	})
}

// A rule added by hand to the owned SNAT chain is reported, and replaced by
// the next SyncSNAT; a chain deleted by hand is made again.
func TestHostSNATByHand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		mustSyncSNAT(t, b, snatFirst, true)
		if hb.name == "nftables" {
			sh(t, ns, "", "nft", "add", "rule", "inet", NFTSNATTable, NFTSNATChain, "ip", "daddr", "10.0.0.9", "counter", "masquerade")
		} else {
			sh(t, ns, "*nat\n-A LVS-SNAT -d 10.0.0.9/32 -p tcp -j MASQUERADE --random\nCOMMIT\n", hb.name+"-restore", "--noflush")
		}
		if _, err := b.ListSNAT(context.Background()); !errors.Is(err, ErrUnknownRule) {
			t.Fatalf("ListSNAT with a rule added by hand = %v, want ErrUnknownRule", err)
		}
		mustSyncSNAT(t, b, snatFirst, true)
		checkSNATOwned(t, hb, ns, snatWant(hb, "first"))

		if hb.name == "nftables" {
			sh(t, ns, "", "nft", "delete", "table", "inet", NFTSNATTable)
		} else {
			v6 := strings.Replace(hb.name, "iptables", "ip6tables", 1)
			for _, prog := range []string{hb.name, v6} {
				sh(t, ns, "*nat\n-D POSTROUTING -j LVS-SNAT\n-F LVS-SNAT\n-X LVS-SNAT\nCOMMIT\n", prog+"-restore", "--noflush")
			}
		}
		checkListSNAT(t, b, nil)
		mustSyncSNAT(t, b, snatFirst, true)
		checkSNATOwned(t, hb, ns, snatWant(hb, "first"))
	})
}

// TestNFTSNATMatchesNft checks the SNAT expressions against nft's own: the
// rules of snatNFTCases written by nft read back as the SNATRules, SyncSNAT
// then finds nothing to change, and the kernel holds the same expressions
// for nft's rules as for the backend's.
func TestNFTSNATMatchesNft(t *testing.T) {
	needBin(t, "nft")
	ns := int(nstest.New(t))
	var script strings.Builder
	script.WriteString("table inet lvs_snat {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	var rules []SNATRule
	for _, tt := range snatNFTCases {
		script.WriteString("\t\t" + tt.nft + "\n")
		rules = append(rules, tt.rule)
	}
	script.WriteString("\t}\n}\n")
	sh(t, ns, script.String(), "nft", "-f", "-")
	nftMade := snatKernelRules(t, ns)

	b, err := New(&Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	checkListSNAT(t, b, rules)
	mustSyncSNAT(t, b, rules, false)

	mustSyncSNAT(t, b, nil, true)
	mustSyncSNAT(t, b, rules, true)
	ours := snatKernelRules(t, ns)
	if !reflect.DeepEqual(ours, nftMade) {
		t.Fatalf("the kernel holds\n%s\nfor the backend's rules, and\n%s\nfor nft's", strings.Join(ours, "\n"), strings.Join(nftMade, "\n"))
	}
}

// snatKernelRules returns the SNAT chain's rules as the kernel lists them.
func snatKernelRules(t *testing.T, ns int) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(ns))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.GetRules(nftSNATTable, nftSNATChain())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rules {
		out = append(out, dumpExprs(r.Exprs))
	}
	return out
}
