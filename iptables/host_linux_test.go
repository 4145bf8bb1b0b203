package iptables

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
)

// The host tier: each test gets a fresh network namespace (nstest) and
// checks what the backends did with the system's own tools run inside it:
// nft list, iptables-save.

// sh runs a program inside ns and returns its output; it fails the test if
// the program fails.
func sh(t *testing.T, ns int, stdin string, prog string, args ...string) string {
	t.Helper()
	out, err := shErr(ns, stdin, prog, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func shErr(ns int, stdin string, prog string, args ...string) (string, error) {
	path, err := lookBin(prog)
	if err != nil {
		return "", err
	}
	return run(context.Background(), ns, path, stdin, args...)
}

func needBin(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := lookBin(p); err != nil {
			t.Skipf("%v", err)
		}
	}
}

// hostBackend is a backend under test with the tools that look at and
// change its state by hand.
type hostBackend struct {
	name string
	open func(t *testing.T, ns int) Backend
	// owned shows what the backend owns, in the tool's own syntax.
	owned func(t *testing.T, ns int) string
	// others makes rules the backend does not own; othersView shows them.
	others     func(t *testing.T, ns int)
	othersView func(t *testing.T, ns int) string
	// deleteByHand deletes what the backend owns; addByHand adds a rule to
	// its chain that it cannot have written.
	deleteByHand, addByHand func(t *testing.T, ns int)
	// want is the owned view for each scenario below.
	want map[string]string
}

// The rules of the scenarios.
var (
	v6rule    = Rule{Destination: netip.MustParsePrefix("2001:db8::1/128"), Protocol: TCP, Ports: []PortRange{Port(443)}, Mark: 7}
	firstSet  = []Rule{lab6(), v6rule}
	secondSet = []Rule{{
		Destination: netip.MustParsePrefix("10.0.0.100/32"),
		Source:      netip.MustParsePrefix("10.0.1.0/24"),
		InInterface: "veth0",
		Protocol:    TCP,
		Ports:       []PortRange{Port(80), Port(88), {8080, 8090}},
		Mark:        11,
	}}
)

const (
	nftFirst = `table inet lvs {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.0.0.100 tcp dport { 80, 88 } meta mark set 0x0000000a
		ip6 daddr 2001:db8::1 tcp dport 443 meta mark set 0x00000007
	}
}
`
	nftSecond = `table inet lvs {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.0.0.100 ip saddr 10.0.1.0/24 iifname "veth0" tcp dport { 80, 88, 8080-8090 } meta mark set 0x0000000b
	}
}
`
	iptFirst = `4 :LVS-MARK - [0:0]
4 -A PREROUTING -j LVS-MARK
4 -A LVS-MARK -d 10.0.0.100/32 -p tcp -m multiport --dports 80,88 -j MARK --set-xmark 0xa/0xffffffff
6 :LVS-MARK - [0:0]
6 -A PREROUTING -j LVS-MARK
6 -A LVS-MARK -d 2001:db8::1/128 -p tcp -m multiport --dports 443 -j MARK --set-xmark 0x7/0xffffffff
`
	iptSecond = `4 :LVS-MARK - [0:0]
4 -A PREROUTING -j LVS-MARK
4 -A LVS-MARK -s 10.0.1.0/24 -d 10.0.0.100/32 -i veth0 -p tcp -m multiport --dports 80,88,8080:8090 -j MARK --set-xmark 0xb/0xffffffff
`
)

func nftHost() hostBackend {
	return hostBackend{
		name: "nftables",
		open: func(t *testing.T, ns int) Backend {
			needBin(t, "nft")
			b, err := New(&Config{NetNS: ns})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		owned: func(t *testing.T, ns int) string {
			out, err := shErr(ns, "", "nft", "list", "table", "inet", NFTTable)
			if err != nil && strings.Contains(err.Error(), "No such file or directory") {
				return ""
			}
			if err != nil {
				t.Fatal(err)
			}
			return out
		},
		others: func(t *testing.T, ns int) {
			sh(t, ns, `
table inet other {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ip daddr 10.0.0.100 tcp dport 80 meta mark set 0x63
	}
}
table ip lvs {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		tcp dport 80 meta mark set 0x64
	}
}
`, "nft", "-f", "-")
		},
		othersView: func(t *testing.T, ns int) string {
			return sh(t, ns, "", "nft", "list", "table", "inet", "other") + sh(t, ns, "", "nft", "list", "table", "ip", "lvs")
		},
		deleteByHand: func(t *testing.T, ns int) { sh(t, ns, "", "nft", "delete", "table", "inet", NFTTable) },
		addByHand: func(t *testing.T, ns int) {
			sh(t, ns, "", "nft", "add", "rule", "inet", NFTTable, NFTChain, "tcp", "dport", "22", "counter", "accept")
		},
		want: map[string]string{"first": nftFirst, "second": nftSecond},
	}
}

// iptHost is the iptables backend with the tools named v4 and v6 ("iptables"
// and "ip6tables", or their -legacy twins).
func iptHost(v4, v6 string) hostBackend {
	save := func(t *testing.T, ns int, prog string, args ...string) []string {
		var lines []string
		for l := range strings.Lines(sh(t, ns, "", prog, args...)) {
			if !strings.HasPrefix(l, "#") {
				lines = append(lines, strings.TrimSuffix(l, "\n"))
			}
		}
		return lines
	}
	return hostBackend{
		name: v4,
		open: func(t *testing.T, ns int) Backend {
			needBin(t, v4+"-restore", v4+"-save", v6+"-restore", v6+"-save")
			b, err := newIPTables(Config{NetNS: ns, Backend: IPTables}, v4, v6)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		owned: func(t *testing.T, ns int) string {
			var b strings.Builder
			for _, fam := range []struct{ tag, prog string }{{"4 ", v4}, {"6 ", v6}} {
				for _, l := range save(t, ns, fam.prog+"-save", "-t", "mangle") {
					if strings.Contains(l, IPTablesChain) {
						b.WriteString(fam.tag + l + "\n")
					}
				}
			}
			return b.String()
		},
		others: func(t *testing.T, ns int) {
			sh(t, ns, `*mangle
:OTHER - [0:0]
-A PREROUTING -j OTHER
-A OTHER -d 10.0.0.100/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x63/0xffffffff
COMMIT
*filter
:LVS-MARK - [0:0]
-A INPUT -j LVS-MARK
-A LVS-MARK -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`, v4+"-restore", "--noflush")
		},
		othersView: func(t *testing.T, ns int) string {
			// Everything but the owned lines of the mangle table.
			var b strings.Builder
			table := ""
			for _, l := range save(t, ns, v4+"-save") {
				if strings.HasPrefix(l, "*") {
					table = l
				}
				if table != "*mangle" || !strings.Contains(l, IPTablesChain) {
					b.WriteString(l + "\n")
				}
			}
			return b.String()
		},
		deleteByHand: func(t *testing.T, ns int) {
			for _, prog := range []string{v4, v6} {
				sh(t, ns, "*mangle\n-D PREROUTING -j LVS-MARK\n-F LVS-MARK\n-X LVS-MARK\nCOMMIT\n", prog+"-restore", "--noflush")
			}
		},
		addByHand: func(t *testing.T, ns int) {
			sh(t, ns, "*mangle\n-A LVS-MARK -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n", v4+"-restore", "--noflush")
		},
		want: map[string]string{"first": iptFirst, "second": iptSecond},
	}
}

func hostBackends() []hostBackend {
	return []hostBackend{nftHost(), iptHost("iptables", "ip6tables"), iptHost("iptables-legacy", "ip6tables-legacy")}
}

func forEachBackend(t *testing.T, test func(t *testing.T, hb hostBackend, ns int, b Backend)) {
	for _, hb := range hostBackends() {
		t.Run(hb.name, func(t *testing.T) {
			ns := int(nstest.New(t))
			test(t, hb, ns, hb.open(t, ns))
		})
	}
}

func checkOwned(t *testing.T, hb hostBackend, ns int, want string) {
	t.Helper()
	if got := hb.owned(t, ns); got != want {
		t.Fatalf("owned rules in the namespace:\n%s\nwant\n%s", got, want)
	}
}

func checkList(t *testing.T, b Backend, want []Rule) {
	t.Helper()
	got, err := b.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	wantC, err := canonicalRules(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantC) && !(len(got) == 0 && len(wantC) == 0) {
		t.Fatalf("List = %v, want %v", got, wantC)
	}
}

func mustSync(t *testing.T, b Backend, rules []Rule, wantChanged bool) {
	t.Helper()
	changed, err := b.Sync(context.Background(), rules)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if changed != wantChanged {
		t.Fatalf("Sync changed = %v, want %v", changed, wantChanged)
	}
}

// nftHandles lists the whole ruleset with object handles, which change when
// a table, chain or rule is made again: equal output means nothing was
// rewritten. It covers iptables-nft too, whose rules live in nf_tables.
func nftHandles(t *testing.T, ns int) string {
	out, err := shErr(ns, "", "nft", "-a", "list", "ruleset")
	if err != nil {
		return "" // no nft, or iptables-legacy's tables: iptables-save compares
	}
	return out
}

func TestHostSyncReplaceRemove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		ctx := context.Background()
		self, err := netns.Get()
		if err != nil {
			t.Fatal(err)
		}
		defer self.Close()
		hb.others(t, ns)
		others := hb.othersView(t, ns)

		// Nothing yet.
		checkList(t, b, nil)
		mustSync(t, b, nil, false)

		// The first set appears, and reads back.
		mustSync(t, b, firstSet, true)
		checkOwned(t, hb, ns, hb.want["first"])
		checkList(t, b, firstSet)

		// The same set again sends nothing: nothing got new handles.
		before := nftHandles(t, ns)
		mustSync(t, b, firstSet, false)
		// Also in another spelling: host bits, unsorted ports, full mask,
		// the rule split in two, families in the other order.
		respelled := []Rule{v6rule, lab6(), lab6()}
		respelled[1].Destination = netip.MustParsePrefix("10.0.0.100/32")
		respelled[1].Ports = []PortRange{Port(88)}
		respelled[1].Mask = 0xffffffff
		respelled[2].Ports = []PortRange{Port(80)}
		mustSync(t, b, respelled, false)
		if after := nftHandles(t, ns); after != before {
			t.Fatalf("an unchanged Sync rewrote rules:\n%s\nthen\n%s", before, after)
		}
		checkOwned(t, hb, ns, hb.want["first"])

		// An invalid set changes nothing.
		bad := append(slices.Clone(secondSet), Rule{Destination: netip.MustParsePrefix("10.0.0.1/32"), Protocol: UDP, Mark: 1})
		_, err = b.Sync(ctx, bad)
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Index != 1 || verr.Field != "Ports" {
			t.Fatalf("Sync(invalid) = %v, want a *ValidationError for rule 1's Ports", err)
		}
		checkOwned(t, hb, ns, hb.want["first"])

		// A new set replaces the old.
		mustSync(t, b, secondSet, true)
		checkOwned(t, hb, ns, hb.want["second"])
		checkList(t, b, secondSet)
		if got := hb.othersView(t, ns); got != others {
			t.Fatalf("others' rules changed:\n%s\nwant\n%s", got, others)
		}

		// Remove takes everything, twice is fine, and an empty Sync after
		// that sends nothing.
		if err := b.Remove(ctx); err != nil {
			t.Fatal(err)
		}
		checkOwned(t, hb, ns, "")
		checkList(t, b, nil)
		if err := b.Remove(ctx); err != nil {
			t.Fatalf("second Remove: %v", err)
		}
		mustSync(t, b, nil, false)

		// Sync with no rules removes as well.
		mustSync(t, b, firstSet, true)
		mustSync(t, b, nil, true)
		checkOwned(t, hb, ns, "")

		if got := hb.othersView(t, ns); got != others {
			t.Fatalf("others' rules changed:\n%s\nwant\n%s", got, others)
		}
		now, err := netns.Get()
		if err != nil {
			t.Fatal(err)
		}
		defer now.Close()
		if !now.Equal(self) {
			t.Fatal("the test's thread was left in another namespace")
		}
	})
}

func TestHostDeletedByHand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		mustSync(t, b, firstSet, true)
		hb.deleteByHand(t, ns)
		checkOwned(t, hb, ns, "")
		checkList(t, b, nil)
		mustSync(t, b, firstSet, true)
		checkOwned(t, hb, ns, hb.want["first"])
		hb.deleteByHand(t, ns)
		if err := b.Remove(context.Background()); err != nil {
			t.Fatalf("Remove after deletion by hand: %v", err)
		}
		checkOwned(t, hb, ns, "")
	})
}

func TestHostJumpDeletedByHand(t *testing.T) {
	hb := iptHost("iptables", "ip6tables")
	ns := int(nstest.New(t))
	b := hb.open(t, ns)
	mustSync(t, b, firstSet, true)
	sh(t, ns, "*mangle\n-D PREROUTING -j LVS-MARK\nCOMMIT\n", "iptables-restore", "--noflush")
	mustSync(t, b, firstSet, true)
	checkOwned(t, hb, ns, iptFirst)
	// A second jump (say, from a crashed run) is removed.
	sh(t, ns, "*mangle\n-A PREROUTING -j LVS-MARK\nCOMMIT\n", "iptables-restore", "--noflush")
	mustSync(t, b, firstSet, true)
	checkOwned(t, hb, ns, iptFirst)
}

func TestHostUnknownRule(t *testing.T) {
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		mustSync(t, b, firstSet, true)
		hb.addByHand(t, ns)
		if _, err := b.List(context.Background()); !errors.Is(err, ErrUnknownRule) {
			t.Fatalf("List with a rule added by hand = %v, want ErrUnknownRule", err)
		}
		mustSync(t, b, firstSet, true)
		checkOwned(t, hb, ns, hb.want["first"])
		checkList(t, b, firstSet)
	})
}

// TestNFTMatchesNft checks the expressions against nft's own: the rules of
// nftCases written in nft's syntax by nft read back as the Rules, a Sync of
// those Rules finds nothing to change, and the kernel holds the same
// expressions and set elements for nft's rules as for the backend's.
func TestNFTMatchesNft(t *testing.T) {
	needBin(t, "nft")
	ns := int(nstest.New(t))
	var script strings.Builder
	script.WriteString("table inet lvs {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n")
	var rules []Rule
	for _, tt := range nftCases {
		script.WriteString("\t\t" + tt.nft + "\n")
		rules = append(rules, tt.rule)
	}
	script.WriteString("\t}\n}\n")
	sh(t, ns, script.String(), "nft", "-f", "-")
	nftMade := kernelRules(t, ns)

	b, err := New(&Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range nftCases {
		if i >= len(got) || !reflect.DeepEqual(got[i], tt.rule.canonical()) {
			t.Fatalf("nft's %q read back as %v, want %v", tt.nft, got, tt.rule.canonical())
		}
	}
	mustSync(t, b, rules, false)

	if err := b.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b, rules, true)
	ours := kernelRules(t, ns)
	for i, tt := range nftCases {
		if !reflect.DeepEqual(ours[i], nftMade[i]) {
			t.Errorf("%s: the kernel holds\n%s\nfor the backend's rule, and\n%s\nfor nft's", tt.name, ours[i], nftMade[i])
		}
	}
}

// kernelRules returns the owned chain's rules as the kernel lists them, each
// with its set's elements, sorted (the order a set lists in is its own).
func kernelRules(t *testing.T, ns int) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(ns))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.GetRules(nftTable, nftChain())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rules {
		var elems []string
		for i, e := range r.Exprs {
			l, ok := e.(*expr.Lookup)
			if !ok {
				continue
			}
			set, err := c.GetSetByName(nftTable, l.SetName)
			if err != nil {
				t.Fatal(err)
			}
			es, err := c.GetSetElements(set)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				elems = append(elems, fmt.Sprintf("%x end=%v", e.Key, e.IntervalEnd))
			}
			slices.Sort(elems)
			elems = append(elems, fmt.Sprintf("interval=%v", set.Interval))
			// Set names and IDs are the kernel's choice.
			r.Exprs[i] = &expr.Lookup{SourceRegister: l.SourceRegister}
		}
		out = append(out, dumpExprs(r.Exprs)+"\tset "+strings.Join(elems, ", "))
	}
	return out
}

func TestIPTablesSaveMatches(t *testing.T) {
	hb := iptHost("iptables", "ip6tables")
	for _, tt := range iptablesCases {
		t.Run(tt.name, func(t *testing.T) {
			ns := int(nstest.New(t))
			b := hb.open(t, ns)
			mustSync(t, b, []Rule{tt.rule}, true)
			tag := "4 "
			if !tt.rule.is4() {
				tag = "6 "
			}
			want := tag + ":LVS-MARK - [0:0]\n" + tag + "-A PREROUTING -j LVS-MARK\n"
			for _, l := range tt.lines {
				want += tag + l + "\n"
			}
			checkOwned(t, hb, ns, want)
			mustSync(t, b, []Rule{tt.rule}, false)
			checkList(t, b, []Rule{tt.rule})
		})
	}
}

func TestIPTablesWithoutIP6Tables(t *testing.T) {
	hb := iptHost("iptables", "ip6tables")
	ns := int(nstest.New(t))
	hb.open(t, ns) // skips without the tools
	b, err := newIPTables(Config{NetNS: ns}, "iptables", "no-such-ip6tables")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Sync(context.Background(), firstSet)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no-such-ip6tables-restore") {
		t.Fatalf("Sync(IPv6 rule) without ip6tables = %v, want fs.ErrNotExist naming the program", err)
	}
	checkOwned(t, hb, ns, "") // the IPv4 rules did not go in either
	mustSync(t, b, []Rule{lab6()}, true)
	checkList(t, b, []Rule{lab6()})
	if err := b.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkOwned(t, hb, ns, "")
}

func TestIPTablesMissing(t *testing.T) {
	_, err := newIPTables(Config{}, "no-such-iptables", "no-such-ip6tables")
	var e *Error
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &e) || e.Op != "new" || e.Backend != IPTables {
		t.Fatalf("newIPTables without the programs = %v, want an *Error from new wrapping fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "no-such-iptables-restore not found") {
		t.Fatalf("error %q does not name the program", err)
	}
}
