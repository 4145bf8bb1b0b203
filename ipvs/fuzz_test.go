package ipvs

import (
	"strings"
	"testing"
)

// FuzzDecodeReply: any generic-netlink payload decodes without panicking,
// as a service, a destination, a sync daemon or info; a service or
// destination that decodes and validates encodes into attributes that
// decode back to it (with the defaults encoding fills in). Seeds: the kernel's own replies (testdata/kernel.txt).
func FuzzDecodeReply(f *testing.F) {
	for _, m := range loadFixtures(f).replies {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 4 {
			return
		}
		body := b[4:]
		if sb, err := nested(body, cmdAttrService); err == nil {
			if s, err := parseService(sb); err == nil && s.validate() == nil {
				ae := newAttrWriter()
				s.encode(ae)
				back, err := parseService(ae.b)
				// What encoding fills in: the family, wlc, the persistent
				// flag of a timeout.
				s.Stats, s.Family = Stats{}, s.AddressFamily()
				if s.Scheduler == "" {
					s.Scheduler = WeightedLeastConnection
				}
				if s.Timeout > 0 {
					s.Flags |= FlagPersistent
				}
				if err != nil || back != s {
					t.Fatalf("service %#v encodes into %x, decoded as %#v, %v", s, ae.b, back, err)
				}
			}
		}
		if db, err := nested(body, cmdAttrDest); err == nil {
			if d, err := parseDest(db, 0); err == nil && d.Addr.IsValid() {
				svc := Service{Protocol: TCP, Addr: vip4test}
				if d.Family() == IPv6 {
					svc.Addr = vip6
				}
				if d.Addr.Port() == 0 {
					svc = Service{FirewallMark: 1, Family: d.Family()}
				}
				if d.validate(svc) == nil {
					ae := newAttrWriter()
					d.encode(ae, true)
					back, err := parseDest(ae.b, 0)
					if err != nil || back != settings(d) {
						t.Fatalf("destination %+v encodes into %x, decoded as %+v, %v", d, ae.b, back, err)
					}
				}
			}
		}
		if db, err := nested(body, cmdAttrDaemon); err == nil {
			parseDaemon(db)
		}
		ad := newAttrReader(body)
		for ad.Next() {
			ad.Uint32()
		}
	})
}

// settings is d without what only the kernel reports.
func settings(d Destination) Destination {
	d.ActiveConns, d.InactiveConns, d.PersistentConns, d.Stats = 0, 0, 0, Stats{}
	return d
}

// FuzzParseConnections: any /proc/net/ip_vs_conn text parses without
// panicking; every connection it yields has addresses.
func FuzzParseConnections(f *testing.F) {
	f.Add(`Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0A80A64 9C40 0A000064 0050 0A00006E 0050 FIN_WAIT         15
IP  C0A80A64 0000 0A000064 0050 0A00006E 0050 NONE             58
UDP 2001:0db8:0000:0000:0000:0000:0000:0001 1F90 2001:0db8:0000:0000:0000:0000:0000:0100 0035 0A000078 0035 UDP             299
UDP C0A80A64 13C4 0A000066 13C4 0A00006E 13C4 UDP              40 sip 3a1f@host
`)
	f.Add("Pro FromIP FPrt\nTCP zz 1 2 3 4 5 X 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		conns, err := parseConnections(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range conns {
			if !c.Client.Addr().IsValid() || !c.Virtual.Addr().IsValid() || !c.Destination.Addr().IsValid() {
				t.Fatalf("connection without addresses from %q: %+v", s, c)
			}
		}
	})
}
