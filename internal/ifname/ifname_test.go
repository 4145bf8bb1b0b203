package ifname

import "testing"

func TestValid(t *testing.T) {
	for _, ok := range []string{"lo", "eth0", "tunl0", "dummy-vip", "br.10", "a_b", "123456789012345"} {
		if !Valid(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a:1", "a b", "a\tb", "a\nb", "a\rb", "a\x00b", `a"b`, "a'b", `a\b`, "1234567890123456", "é"} {
		if Valid(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
