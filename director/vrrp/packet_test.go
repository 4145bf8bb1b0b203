package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var (
	src4 = netip.MustParseAddr("10.0.0.1")
	src6 = netip.MustParseAddr("fe80::1")
	vip4 = netip.MustParseAddr("10.0.0.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
)

func TestRoundTrip(t *testing.T) {
	pass := [8]byte{'s', 'e', 'c', 'r', 'e', 't'}
	for _, tc := range []struct {
		name string
		a    Advert
		ad   Addressing
		n    int
	}{
		{"v2", Advert{Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}}, Addressing{Src: src4, Dst: Group4}, 20},
		{"v2 PASS", Advert{Version: V2, VRID: 1, Priority: 255, Interval: 255 * time.Second, AuthType: AuthPass, Password: pass, Addrs: []netip.Addr{vip4, src4}}, Addressing{Src: src4, Dst: Group4}, 24},
		{"v3", Advert{Version: V3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}}, Addressing{Src: src4, Dst: Group4}, 12},
		{"v3 as v2", Advert{Version: V3, VRID: 51, Priority: 100, Interval: 40950 * time.Millisecond, Addrs: []netip.Addr{vip4}}, Addressing{Src: src4, Dst: Group4, V3ChecksumAsV2: true}, 12},
		{"v3 IPv6", Advert{Version: V3, VRID: 7, Priority: 0, Interval: 10 * time.Millisecond, Addrs: []netip.Addr{vip6}}, Addressing{Src: src6, Dst: Group6}, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.a.Marshal(tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.n {
				t.Errorf("%d bytes, want %d", len(b), tc.n)
			}
			got, err := Unmarshal(b, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.a) {
				t.Errorf("decoded %+v, want %+v", *got, tc.a)
			}
			// A checksum is over the whole message: one changed byte is
			// refused.
			b[len(b)-1] ^= 1
			var pe *PacketError
			if _, err := Unmarshal(b, tc.ad); !errors.As(err, &pe) || pe.Reason != ReasonChecksum {
				t.Errorf("flipped bit: %v, want a checksum error", err)
			}
		})
	}
}

// TestChecksumPseudoHeader: v3 covers the addresses (the pseudo-header),
// unless V3ChecksumAsV2; v2 does not.
func TestChecksumPseudoHeader(t *testing.T) {
	a := Advert{Version: V3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}}
	ad := Addressing{Src: src4, Dst: Group4}
	b, _ := a.Marshal(ad)
	other := Addressing{Src: netip.MustParseAddr("10.0.0.2"), Dst: Group4}
	if _, err := Unmarshal(b, other); err == nil {
		t.Error("v3 checksum ignores the source address")
	}
	asV2 := Addressing{Src: src4, Dst: Group4, V3ChecksumAsV2: true}
	if _, err := Unmarshal(b, asV2); err == nil {
		t.Error("v3 checksum with the pseudo-header accepted as v2's")
	}
	a.Version, a.Interval = V2, time.Second
	b, _ = a.Marshal(ad)
	if _, err := Unmarshal(b, other); err != nil {
		t.Errorf("v2 checksum depends on the addresses: %v", err)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	good, _ := (&Advert{Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}}).Marshal(Addressing{Src: src4, Dst: Group4})
	mod := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
		ad   Addressing
		want Reason
	}{
		{"empty", nil, Addressing{Src: src4, Dst: Group4}, ReasonLength},
		{"short", good[:19], Addressing{Src: src4, Dst: Group4}, ReasonLength},
		{"long", append(bytes.Clone(good), make([]byte, 40)...), Addressing{Src: src4, Dst: Group4}, ReasonLength},
		{"count", mod(func(b []byte) []byte { b[3] = 2; return b }), Addressing{Src: src4, Dst: Group4}, ReasonLength},
		{"version 1", mod(func(b []byte) []byte { b[0] = 0x11; return b }), Addressing{Src: src4, Dst: Group4}, ReasonVersion},
		{"type 2", mod(func(b []byte) []byte { b[0] = 0x22; return b }), Addressing{Src: src4, Dst: Group4}, ReasonType},
		{"v2 over IPv6", good, Addressing{Src: src6, Dst: Group6}, ReasonVersion},
		{"checksum", mod(func(b []byte) []byte { b[6] ^= 0xff; return b }), Addressing{Src: src4, Dst: Group4}, ReasonChecksum},
	} {
		_, err := Unmarshal(tc.b, tc.ad)
		var pe *PacketError
		if !errors.As(err, &pe) || pe.Reason != tc.want {
			t.Errorf("%s: %v, want reason %s", tc.name, err, tc.want)
		}
	}
	// Ethernet padding to a 46-byte payload is allowed, as keepalived
	// allows it.
	if _, err := Unmarshal(append(bytes.Clone(good), make([]byte, 26)...), Addressing{Src: src4, Dst: Group4}); err != nil {
		t.Errorf("padded: %v", err)
	}
}

func TestMarshalRefuses(t *testing.T) {
	ad := Addressing{Src: src4, Dst: Group4}
	for _, tc := range []struct {
		name string
		a    Advert
		ad   Addressing
	}{
		{"v2 interval 0", Advert{Version: V2, VRID: 1, Interval: 0}, ad},
		{"v2 interval 1.5s", Advert{Version: V2, VRID: 1, Interval: 1500 * time.Millisecond}, ad},
		{"v2 interval 256s", Advert{Version: V2, VRID: 1, Interval: 256 * time.Second}, ad},
		{"v3 interval 5ms", Advert{Version: V3, VRID: 1, Interval: 5 * time.Millisecond}, ad},
		{"v3 interval 41s", Advert{Version: V3, VRID: 1, Interval: 41 * time.Second}, ad},
		{"v3 auth", Advert{Version: V3, VRID: 1, Interval: time.Second, AuthType: AuthPass}, ad},
		{"version 4", Advert{Version: 4, VRID: 1, Interval: time.Second}, ad},
		{"VRID 0", Advert{Version: V2, Interval: time.Second}, ad},
		{"v2 IPv6", Advert{Version: V2, VRID: 1, Interval: time.Second, Addrs: []netip.Addr{vip6}}, Addressing{Src: src6, Dst: Group6}},
		{"mixed", Advert{Version: V3, VRID: 1, Interval: time.Second, Addrs: []netip.Addr{vip4, vip6}}, ad},
		{"family", Advert{Version: V3, VRID: 1, Interval: time.Second, Addrs: []netip.Addr{vip6}}, ad},
	} {
		if _, err := tc.a.Marshal(tc.ad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, a := range []Advert{
		{Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}},
		{Version: V3, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4, src4}},
	} {
		b, _ := a.Marshal(Addressing{Src: src4, Dst: Group4})
		f.Add(b, false)
	}
	b, _ := (&Advert{Version: V3, VRID: 1, Priority: 1, Interval: time.Second, Addrs: []netip.Addr{vip6}}).Marshal(Addressing{Src: src6, Dst: Group6})
	f.Add(b, true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		ad := Addressing{Src: src4, Dst: Group4}
		if v6 {
			ad = Addressing{Src: src6, Dst: Group6}
		}
		a, err := Unmarshal(b, ad)
		if err != nil {
			var pe *PacketError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// What decodes re-encodes to the same bytes (less padding) when
		// Marshal accepts it.
		// (v3's four reserved bits are ignored, as keepalived ignores them.)
		out, err := a.Marshal(ad)
		if err != nil || a.Version == V3 && b[4]&0xf0 != 0 {
			return
		}
		if !bytes.Equal(out, b[:len(out)]) {
			t.Fatalf("re-encoded %x, decoded from %x", out, b)
		}
	})
}
