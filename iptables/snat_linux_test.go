package iptables

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"golang.org/x/sys/unix"
)

// An error reading the owned chain is returned, not read as "no rules": the
// kernel lists the table inet lvs_snat and then refuses the chain listing
// with EPERM. SyncSNAT fails the same way and sends no batch.
func TestNFTSNATReadError(t *testing.T) {
	var requests []string
	b := newNFTables(Config{}, nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		switch typ := req[0].Header.Type & 0xff; typ {
		case unix.NFT_MSG_GETTABLE:
			requests = append(requests, "list tables")
			return []netlink.Message{tableMsg(req[0], NFTSNATTable)}, nil
		case unix.NFT_MSG_GETCHAIN:
			requests = append(requests, "list chains")
			return refuse(unix.EPERM, req)
		default:
			requests = append(requests, "other")
			return refuse(unix.EPERM, req)
		}
	}))
	ctx := context.Background()
	rules, listErr := b.ListSNAT(ctx)
	if rules != nil {
		t.Errorf("ListSNAT returned rules %v with its error", rules)
	}
	_, syncErr := b.SyncSNAT(ctx, []SNATRule{snatWeb})
	for op, err := range map[string]error{"list snat": listErr, "sync snat": syncErr} {
		var e *Error
		if !errors.Is(err, unix.EPERM) || !errors.As(err, &e) || e.Op != op || e.Backend != NFTables {
			t.Errorf("%s = %v, want an *Error from %s wrapping EPERM", op, err, op)
		}
	}
	if want := "list tables, list chains, list tables, list chains"; strings.Join(requests, ", ") != want {
		t.Errorf("requests: %s; want %s", strings.Join(requests, ", "), want)
	}
}

// tableMsg is the kernel's answer to a table listing: one inet table.
func tableMsg(req netlink.Message, name string) netlink.Message {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_TABLE_NAME, Data: nlenc.Bytes(name)},
		{Type: unix.NFTA_TABLE_FLAGS, Data: []byte{0, 0, 0, 0}},
	})
	if err != nil {
		panic(err)
	}
	return netlink.Message{
		Header: netlink.Header{
			Type:     netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWTABLE),
			Sequence: req.Header.Sequence,
			PID:      req.Header.PID,
		},
		Data: append([]byte{unix.NFPROTO_INET, 0, 0, 0}, attrs...),
	}
}

func TestNFTSNATInvalidSendsNothing(t *testing.T) {
	b := newNFTables(Config{}, nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		t.Fatal("a request was sent")
		return nil, nil
	}))
	_, err := b.SyncSNAT(context.Background(), []SNATRule{snatWeb, {Protocol: TCP}})
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Field != "Destination" || verr.Index != 1 || !errors.Is(err, ErrInvalid) {
		t.Fatalf("SyncSNAT(no destination) = %v, want a *ValidationError for rule 1's Destination", err)
	}
}

// fakeIPTables writes NAME-save and NAME-restore programs for the names
// "ipt" and "ip6t" into a new directory: save prints saveOut and exits with
// saveCode (printing an error when it is not 0), restore records that it
// ran. It returns the directory.
func fakeIPTables(t *testing.T, saveOut string, saveCode int) string {
	t.Helper()
	dir := t.TempDir()
	save := "#!/bin/sh\n"
	if saveCode != 0 {
		save += "echo 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' >&2\n"
	}
	save += "cat <<'EOF'\n" + saveOut + "EOF\nexit " + strconv.Itoa(saveCode) + "\n"
	restore := "#!/bin/sh\ncat >> " + filepath.Join(dir, "restored") + "\n"
	for _, name := range []string{"ipt", "ip6t"} {
		for prog, text := range map[string]string{"-save": save, "-restore": restore} {
			if err := os.WriteFile(filepath.Join(dir, name+prog), []byte(text), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// With the iptables backend, a failing iptables-save (here: refused, as for
// a user without CAP_NET_ADMIN) fails ListSNAT and SyncSNAT; nothing is
// restored.
func TestIPTablesSNATReadError(t *testing.T) {
	dir := fakeIPTables(t, "", 4)
	b, err := newIPTables(Config{Backend: IPTables}, filepath.Join(dir, "ipt"), filepath.Join(dir, "ip6t"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rules, listErr := b.ListSNAT(ctx)
	if rules != nil {
		t.Errorf("ListSNAT returned rules %v with its error", rules)
	}
	_, syncErr := b.SyncSNAT(ctx, []SNATRule{snatWeb})
	for op, err := range map[string]error{"list snat": listErr, "sync snat": syncErr} {
		var e *Error
		var exit *exec.ExitError
		if !errors.As(err, &e) || e.Op != op || e.Backend != IPTables || !errors.As(err, &exit) ||
			!strings.Contains(err.Error(), "Permission denied") {
			t.Errorf("%s = %v, want an *Error from %s with the program's exit and message", op, err, op)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "restored")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("iptables-restore ran after a failed iptables-save (%v)", err)
	}
}

// The iptables backend reads the nat table for SNAT, and writes only it:
// iptables-save -t nat, then a *nat script.
func TestIPTablesSNATTouchesOnlyNat(t *testing.T) {
	dir := fakeIPTables(t, "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n", 0)
	b, err := newIPTables(Config{Backend: IPTables}, filepath.Join(dir, "ipt"), filepath.Join(dir, "ip6t"))
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := b.SyncSNAT(context.Background(), []SNATRule{snatWeb}); err != nil || !changed {
		t.Fatalf("SyncSNAT = %v, %v; want true, nil", changed, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "restored"))
	if err != nil {
		t.Fatal(err)
	}
	want := "*nat\n:LVS-SNAT - [0:0]\n-I POSTROUTING 1 -j LVS-SNAT\n" + snatIPTablesCases[0].line + "\nCOMMIT\n"
	if string(got) != want {
		t.Fatalf("restored\n%s\nwant\n%s", got, want)
	}
}
