package iptables

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseSave: any iptables-save text parses without panicking; every
// rule read back validates, and written again as the package writes it,
// reads back as the same rules (what Sync compares). Seeds: the lines the
// package writes for its test cases.
func FuzzParseSave(f *testing.F) {
	for _, tt := range iptablesCases {
		f.Add("*mangle\n:PREROUTING ACCEPT [0:0]\n:LVS-MARK - [0:0]\n-A " + markChain.jump() + "\n" + strings.Join(tt.lines, "\n") + "\nCOMMIT\n")
	}
	f.Add("*nat\n:LVS-SNAT - [0:0]\n-A POSTROUTING -j LVS-SNAT\n-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n-A LVS-SNAT -d 10.0.0.3/32 -p udp -j MASQUERADE\nCOMMIT\n")
	f.Fuzz(func(t *testing.T, save string) {
		for _, v4 := range []bool{true, false} {
			m := markChain.parseSave(save, v4)
			for _, r := range m.rules {
				if err := r.Validate(); err != nil {
					t.Fatalf("mark rule read from %q does not validate: %+v: %v", save, r, err)
				}
			}
			if len(m.rules) > 0 {
				again := markChain.parseSave("*mangle\n"+strings.Join(chainLines(m.rules), "\n")+"\nCOMMIT\n", v4)
				if !sameRules(again.rules, m.rules) {
					t.Fatalf("mark rules %+v written and read back as %+v", m.rules, again.rules)
				}
			}
			s := snatChain.parseSave(save, v4)
			for _, r := range s.rules {
				if err := r.Validate(); err != nil {
					t.Fatalf("SNAT rule read from %q does not validate: %+v: %v", save, r, err)
				}
			}
			if len(s.rules) > 0 {
				again := snatChain.parseSave("*nat\n"+strings.Join(snatLines(s.rules), "\n")+"\nCOMMIT\n", v4)
				if !slices.Equal(again.rules, s.rules) {
					t.Fatalf("SNAT rules %+v written and read back as %+v", s.rules, again.rules)
				}
			}
		}
	})
}
