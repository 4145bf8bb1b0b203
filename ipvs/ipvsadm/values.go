package ipvsadm

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvs-go/lvs/ipvs"
)

// ipvsadm's value parsers (ipvsadm.c's parse_service, string_to_number,
// str_is_digit) and the C library's it relies on (strtol, atoi,
// inet_aton), to the letter, for parseLine.

// What parse_service found.
const (
	serviceAddr = 1
	servicePort = 2
)

// address is a service or real-server address as parse_service fills it in.
type address struct {
	af   ipvs.Family
	addr netip.Addr
	port uint16
}

// parseService is parse_service: "[v6]:port", a bare IPv6 address
// (no port), or an IPv4 address as inet_aton reads it, with an optional
// ":port". A bracketed address that is not IPv6 loses its port, as in
// ipvsadm. Names (hosts, services) are not looked up: ipvsadm would.
func parseService(buf string) (address, int, error) {
	var p address
	if strIsDigit(buf) {
		return p, 0, nil
	}
	var port string
	hasPort := false
	if buf[0] == '[' {
		end := strings.IndexByte(buf, ']')
		if end < 0 || !strings.HasPrefix(buf[end+1:], ":") {
			return p, 0, nil
		}
		buf, port, hasPort = buf[1:end], buf[end+2:], true
	}
	if a, err := netip.ParseAddr(buf); err == nil && a.Is6() && a.Zone() == "" {
		p.af, p.addr = ipvs.IPv6, a
	} else {
		hasPort = false
		if k := strings.LastIndexByte(buf, ':'); k >= 0 {
			buf, port, hasPort = buf[:k], buf[k+1:], true
		}
		v, ok := inetAton(buf)
		if !ok {
			return p, 0, fmt.Errorf("%q is not a numeric address (ParseRules does not look names up; ipvsadm would)", buf)
		}
		p.af, p.addr = ipvs.IPv4, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	if !hasPort {
		return p, serviceAddr, nil
	}
	n, ok := stringToNumber(port, 0, 65535)
	if !ok {
		return p, 0, fmt.Errorf("port %q is not a number from 0 to 65535 (ParseRules does not look service names up; ipvsadm would)", port)
	}
	p.port = uint16(n)
	return p, serviceAddr | servicePort, nil
}

// strIsDigit is ipvsadm's str_is_digit: true for "" too.
func strIsDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// strtol reads s as strtol(s, &end, 10) with *end == '\0' required: leading
// blanks, a sign, decimal digits. ok is false for anything else or out of
// a long's range.
func strtol(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
		if n > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// stringToNumber is ipvsadm's string_to_number: strtol, then min..max.
func stringToNumber(s string, min, max int64) (int64, bool) {
	n, ok := strtol(s)
	if !ok || n < min || n > max {
		return 0, false
	}
	return n, true
}

// atoi is C's atoi: leading blanks, a sign, then the digits there are; 0
// if none.
func atoi(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<40 {
			n = n*10 + int64(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// inetAton is glibc's inet_aton: one to four parts separated by dots, each
// decimal, octal (leading 0) or hexadecimal (0x), the last part filling
// the bytes left ("10.1" is 10.0.0.1, "4294967040" is 255.255.255.0).
// The result is in host order.
func inetAton(s string) (uint32, bool) {
	var parts []uint32
	for {
		if s == "" || s[0] < '0' || s[0] > '9' {
			return 0, false
		}
		var v uint64
		base, i := uint64(10), 0
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			if len(s) > 2 && isHex(s[2]) {
				base, i = 16, 2
			} else {
				i = 1 // strtoul reads "0" and stops at the x
			}
		} else if s[0] == '0' {
			base = 8
		}
		for ; i < len(s); i++ {
			d, ok := digitValue(s[i])
			if !ok || d >= base {
				break
			}
			if v = v*base + d; v > 0xffffffff {
				return 0, false
			}
		}
		s = s[i:]
		if s == "" || s[0] != '.' {
			parts = append(parts, uint32(v))
			break
		}
		if len(parts) == 3 || v > 0xff {
			return 0, false
		}
		parts = append(parts, uint32(v))
		s = s[1:]
	}
	if s != "" && !strings.ContainsRune(" \t\n\v\f\r", rune(s[0])) {
		return 0, false
	}
	last := parts[len(parts)-1]
	if max := [...]uint32{0xffffffff, 0xffffff, 0xffff, 0xff}[len(parts)-1]; last > max {
		return 0, false
	}
	var v uint32
	for i, p := range parts[:len(parts)-1] {
		v |= p << (24 - 8*i)
	}
	return v | last, true
}

func isHex(c byte) bool { _, ok := digitValue(c); return ok }

func digitValue(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}
