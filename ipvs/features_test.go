package ipvs

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/kernel"
)

var (
	gueTest = Destination{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Forward: Tunnel, TunnelType: TunnelGUE, TunnelPort: 6080}
	greTest = Destination{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Forward: Tunnel, TunnelType: TunnelGRE}
)

// supportsAll is nil if k has every feature of fs.
func supportsAll(k *kernelFacts, fs []*feature) error {
	for _, f := range fs {
		if err := k.supports(f); err != nil {
			return err
		}
	}
	return nil
}

// TestReleaseRule: where the kernel describes no policy, a feature needs
// the release that introduced it; an unknown release accepts it.
func TestReleaseRule(t *testing.T) {
	release := func(major, minor int) *kernelFacts {
		return &kernelFacts{release: kernel.V(major, minor, 0), noPolicy: "the kernel answers no IPVS policy: operation not supported"}
	}
	err := supportsAll(release(4, 19), gueTest.features())
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("GUE on 4.19: %v, want ErrUnsupported", err)
	}
	if want := "ipvs: GUE tunnel destinations need Linux 5.2, this kernel is 4.19 (the kernel answers no IPVS policy: operation not supported): unsupported operation"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if err := supportsAll(release(4, 2), SyncDaemon{TTL: 2}.features()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("daemon TTL on 4.2: %v", err)
	}
	if err := supportsAll(release(5, 2), greTest.features()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("GRE on 5.2: %v", err)
	}
	for _, k := range []*kernelFacts{release(0, 0), release(6, 1), release(4, 3)} {
		if err := supportsAll(k, SyncDaemon{TTL: 2}.features()); err != nil {
			t.Errorf("daemon TTL on %v: %v", k.release, err)
		}
	}
	if err := supportsAll(release(6, 1), gueTest.features()); err != nil {
		t.Errorf("GUE on 6.1: %v", err)
	}
}

// policyTest describes a kernel's IPVS policy as CTRL_CMD_GETPOLICY dumps
// it: policy 0 is the family's (IPVS_CMD_ATTR_*, every command's, with
// CTRL_ATTR_OP_POLICY if ops); if linked, IPVS_CMD_ATTR_DEST and _DAEMON
// name their nested policies, 1 and 2, with the attributes dest and
// daemon. Debian's 6.1 kernel (and mainline) is linked false: its
// ip_vs_cmd_policy has plain NLA_NESTED entries.
type policyTest struct {
	ops, linked  bool
	dest, daemon []uint16
}

// messages are the dump's replies, each the attributes after the
// generic-netlink header.
func (p policyTest) messages(family uint16) [][]byte {
	var out [][]byte
	msg := func(fn func(*attrWriter)) {
		w := newAttrWriter()
		w.Uint16(ctrlAttrFamilyID, family)
		fn(w)
		out = append(out, w.b)
	}
	if p.ops {
		for _, cmd := range []uint16{cmdNewService, cmdSetService, cmdDelService, cmdGetService, cmdNewDest,
			cmdSetDest, cmdDelDest, cmdGetDest, cmdNewDaemon, cmdDelDaemon, cmdGetDaemon, cmdSetConfig,
			cmdGetConfig, cmdGetInfo, cmdZero, cmdFlush} {
			msg(func(w *attrWriter) {
				w.Nested(ctrlAttrOpPolicy, func(w *attrWriter) error {
					w.Nested(cmd, func(w *attrWriter) error { w.Uint32(ctrlAttrPolicyDo, 0); return nil })
					return nil
				})
			})
		}
	}
	attr := func(policy uint32, typ uint16, nested int) {
		msg(func(w *attrWriter) {
			w.Nested(ctrlAttrPolicy, func(w *attrWriter) error {
				w.Nested(uint16(policy), func(w *attrWriter) error {
					w.Nested(typ, func(w *attrWriter) error {
						if nested >= 0 {
							w.Uint32(nlPolicyTypeAttrType, 13) // NL_ATTR_TYPE_NESTED
							w.Uint32(nlPolicyTypeAttrIdx, uint32(nested))
							w.Uint32(9, 8) // NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE
						} else {
							w.Uint32(nlPolicyTypeAttrType, 4) // NL_ATTR_TYPE_U32
						}
						return nil
					})
					return nil
				})
				return nil
			})
		})
	}
	for typ := uint16(cmdAttrService); typ <= cmdAttrTimeoutUDP; typ++ {
		nested := -1
		if p.linked && typ == cmdAttrDest {
			nested = 1
		} else if p.linked && typ == cmdAttrDaemon {
			nested = 2
		}
		attr(0, typ, nested)
	}
	if p.linked {
		for _, typ := range p.dest {
			attr(1, typ, -1)
		}
		for _, typ := range p.daemon {
			attr(2, typ, -1)
		}
	}
	return out
}

func (p policyTest) facts(t *testing.T, release kernel.Version) *kernelFacts {
	t.Helper()
	var d policyDump
	for _, m := range p.messages(30) {
		if err := d.add(m); err != nil {
			t.Fatal(err)
		}
	}
	return d.facts(release)
}

// Every destination attribute up to TUN_FLAGS (5.3), every daemon one
// (4.3).
var (
	destAttrs5_3   = []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	destAttrs5_1   = []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	daemonAttrs4_3 = []uint16{1, 2, 3, 4, 5, 7, 8} // MCAST_GROUP6 is NLA_UNSPEC: not dumped
)

// TestPolicyDecides: where the kernel describes the nested policies, they
// decide, whatever the release says: a backported 4.18 has GUE; a kernel
// whose policy lacks an attribute lacks its feature, and the error names
// the attribute.
func TestPolicyDecides(t *testing.T) {
	for _, ops := range []bool{false, true} {
		backport := policyTest{ops: ops, linked: true, dest: destAttrs5_3, daemon: daemonAttrs4_3}.facts(t, kernel.V(4, 18, 0))
		for _, fs := range [][]*feature{gueTest.features(), greTest.features(), SyncDaemon{TTL: 1}.features(),
			Destination{TunnelFlags: TunnelChecksum}.features()} {
			if err := supportsAll(backport, fs); err != nil {
				t.Errorf("ops %v: backported 4.18: %v", ops, err)
			}
		}
		old := policyTest{ops: ops, linked: true, dest: destAttrs5_1, daemon: daemonAttrs4_3}.facts(t, kernel.V(6, 1, 0))
		err := supportsAll(old, gueTest.features())
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("ops %v: policy without TUN_TYPE: %v, want ErrUnsupported", ops, err)
		}
		if want := "ipvs: GUE tunnel destinations need IPVS_DEST_ATTR_TUN_TYPE, which this kernel's IPVS policy lacks (IPVS_CMD_NEW_DEST in IPVS_CMD_ATTR_DEST): unsupported operation"; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
		if err := supportsAll(old, SyncDaemon{TTL: 1}.features()); err != nil {
			t.Errorf("ops %v: daemon TTL: %v", ops, err)
		}
	}
}

// TestPolicyWithoutNestedPolicies: the kernel's policy as Debian's 6.1 has
// it (IPVS_CMD_ATTR_DEST and _DAEMON described as nested, without their
// policies) leaves every feature to the release rule, and says so.
func TestPolicyWithoutNestedPolicies(t *testing.T) {
	k := policyTest{ops: true}.facts(t, kernel.V(5, 1, 0))
	if len(k.nests) != 0 {
		t.Fatalf("nests %v, want none", k.nests)
	}
	err := supportsAll(k, gueTest.features())
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "need Linux 5.2, this kernel is 5.1 (its IPVS policy does not describe IPVS_CMD_ATTR_DEST)") {
		t.Errorf("GUE on 5.1: %v", err)
	}
	if err := supportsAll(policyTest{}.facts(t, kernel.V(6, 1, 0)), gueTest.features()); err != nil {
		t.Errorf("GUE on 6.1: %v", err)
	}
}

// TestPolicyDumpMalformed: a reply that is not attributes is an error.
func TestPolicyDumpMalformed(t *testing.T) {
	var d policyDump
	if err := d.add([]byte{8, 0, ctrlAttrPolicy, 0, 1}); err == nil {
		t.Error("no error")
	}
}
