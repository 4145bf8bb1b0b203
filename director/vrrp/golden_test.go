package vrrp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGoldenKeepalived decodes the adverts captured from keepalived and
// re-encodes them byte for byte.
func TestGoldenKeepalived(t *testing.T) {
	f, err := os.Open("testdata/keepalived-2.2.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]Advert{
		"v2":         {Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}},
		"v2-pass":    {Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}, AuthType: AuthPass, Password: [8]byte{'s', 'e', 'c', 'r', 'e', 't'}},
		"v3":         {Version: V3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}},
		"v3-unicast": {Version: V3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}},
		"v3-ipv6":    {Version: V3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::100")}},
		"v2-unicast": {Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}},
	}
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 {
			t.Fatalf("bad line %q", line)
		}
		name := fs[0]
		ad := Addressing{Src: netip.MustParseAddr(fs[1]), Dst: netip.MustParseAddr(fs[2])}
		b, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatal(err)
		}
		a, err := Unmarshal(b, ad)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("unexpected %s", name)
			continue
		}
		seen++
		if a.Version != w.Version || a.VRID != w.VRID || a.Priority != w.Priority || a.Interval != w.Interval ||
			a.AuthType != w.AuthType || a.Password != w.Password || len(a.Addrs) != 1 || a.Addrs[0] != w.Addrs[0] {
			t.Errorf("%s: decoded %+v, want %+v", name, *a, w)
		}
		out, err := w.Marshal(ad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Errorf("%s: encoded %x, keepalived sent %x", name, out, b)
		}
	}
	if seen != len(want) {
		t.Errorf("%d captures, want %d", seen, len(want))
	}
}
