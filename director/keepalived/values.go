package keepalived

import (
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// timer reads keepalived's TIMER: seconds, with up to microseconds.
func timer(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e8 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)).Round(time.Microsecond), true
}

// number reads an unsigned decimal up to max.
func number(s string, max uint64) (uint64, bool) {
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil && v <= max
}

// boolean reads keepalived's optional BOOL argument (true when absent).
func boolean(n *node) (bool, bool) {
	if len(n.args()) == 0 {
		return true, true
	}
	switch strings.ToLower(n.arg(0)) {
	case "true", "on", "yes":
		return true, true
	case "false", "off", "no":
		return false, true
	}
	return false, false
}

// port reads an optional port: "" is 0.
func port(s string) (uint16, bool) {
	if s == "" {
		return 0, true
	}
	v, ok := number(s, 65535)
	return uint16(v), ok
}

// addrPort reads keepalived's "IP [PORT]".
func addrPort(ip, p string) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(ip)
	pt, ok := port(p)
	if err != nil || !ok || a.Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), pt), true
}

// netmaskBits is the prefix length of a dotted IPv4 netmask, false if the
// mask is not contiguous.
func netmaskBits(s string) (int, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, false
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&(1<<31) != 0 {
		bits++
		v <<= 1
	}
	return bits, v == 0
}

// hexString reads keepalived's free-form HEX_STR: words of hex digits,
// each read two digits at a time ("Ab12f 3" is AB 12 0F 03). wild reports
// an x (a don't-care digit), which is not a byte this can return.
func hexString(words []string) (b []byte, wild, ok bool) {
	for _, w := range words {
		for len(w) > 0 {
			n := min(2, len(w))
			d := w[:n]
			w = w[n:]
			if strings.ContainsAny(d, "xX") {
				wild = true
				continue
			}
			if len(d) == 1 {
				d = "0" + d
			}
			v, err := hex.DecodeString(d)
			if err != nil {
				return nil, wild, false
			}
			b = append(b, v...)
		}
	}
	return b, wild, true
}

// shellWords splits a command line as keepalived splits a quoted
// misc_path: at white space, with '...' and "..." quoting and \ escapes.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote, in = c, true
		case c == '\\' && quote != '\'' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			in = true
		case quote == 0 && (c == ' ' || c == '\t'):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
