package iptables

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-go/lvs/internal/vmtest"
)

// The real-kernel tier (lab_linux_test.go) runs the labs with every backend:
// nftables, and the iptables backend with iptables-nft and with
// iptables-legacy. The guest has no modprobe, so the modules any of their
// rules make the kernel ask for are loaded at boot.
var (
	// labModules are what every lab needs: IPVS with rr, and veth and
	// bridge for the topology.
	labModules = []string{"ip_vs", "ip_vs_rr", "veth", "bridge"}
	// nftModules are the nftables backend's: nf_tables (its counters and
	// route chains are built in), and for source NAT the nat chain type
	// and the masquerade expression.
	nftModules = []string{"nf_tables", "nft_chain_nat", "nft_masq"}
	// xtModules are iptables-nft's: the xtables matches and targets that
	// restore.go writes (-m multiport, -j MARK, -m tcp and -m udp, -j
	// MASQUERADE), reached through nft_compat, and the nat chain type its
	// nat table is made of.
	xtModules = []string{"nf_tables", "nft_compat", "nft_chain_nat",
		"xt_multiport", "xt_mark", "xt_tcpudp", "xt_MASQUERADE"}
	// legacyModules are iptables-legacy's: its tables, of both families
	// (the backend reads the IPv6 tables even for IPv4 rules), and the same
	// matches and targets.
	legacyModules = []string{"iptable_mangle", "iptable_nat", "ip6table_mangle", "ip6table_nat",
		"xt_multiport", "xt_mark", "xt_tcpudp", "xt_MASQUERADE"}
)

// xtablesDir is where Debian's libxtables looks for the extensions it
// dlopens (its XTABLES_LIBDIR).
const xtablesDir = "/usr/lib/x86_64-linux-gnu/xtables"

// guestPrograms are the iptables programs the guest carries, of both
// flavours (each one binary, xtables-nft-multi or xtables-legacy-multi,
// under several names), and the extensions that read and write the rules
// restore.go emits: the ELF walk does not find those, since they are
// dlopened by name. libxt_MASQUERADE.so is a link to libxt_NAT.so.
func guestPrograms() []string {
	var progs []string
	for _, flavour := range []string{"nft", "legacy"} {
		for _, fam := range []string{"iptables", "ip6tables"} {
			for _, op := range []string{"restore", "save"} {
				progs = append(progs, "/usr/sbin/"+fam+"-"+flavour+"-"+op)
			}
		}
	}
	for _, ext := range []string{"standard", "multiport", "MARK", "tcp", "udp", "MASQUERADE"} {
		progs = append(progs, filepath.Join(xtablesDir, "libxt_"+ext+".so"))
	}
	// A host without some of them still runs the other tests in the
	// guest; the labs that need a missing program say so there.
	var have []string
	for _, p := range progs {
		if _, err := os.Stat(p); err == nil {
			have = append(have, p)
		}
	}
	return have
}

func TestMain(m *testing.M) {
	var mods []string
	for _, ms := range [][]string{labModules, nftModules, xtModules, legacyModules} {
		mods = append(mods, ms...) // the closure drops the repeated ones
	}
	vmtest.Main(m, vmtest.Config{Modules: mods, Programs: guestPrograms()})
}
