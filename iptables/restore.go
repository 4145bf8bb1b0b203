package iptables

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// This file is the iptables backend's text: rules as iptables-restore input
// and iptables-save output parsed back. It is pure, so it is tested on any
// system.

// multiportSlots is how many ports one -m multiport match takes; a range
// counts as two (the kernel's XT_MULTI_PORTS).
const multiportSlots = 15

// An ownedChain is a chain this package owns in one table of iptables and
// ip6tables, jumped to first thing from one of the table's built-in chains,
// with the way its rules are written and read back. R is the rule type.
type ownedChain[R ownedRule] struct {
	table string // "mangle", "nat"
	name  string // the owned chain
	hook  string // the built-in chain that jumps to it
	// lines returns the "-A name ..." lines of canonical rules.
	lines func(rules []R) []string
	// parse reads the arguments after "-A name" of one line as
	// iptables-save prints it; it reports false for a rule this package
	// cannot have written.
	parse func(args []string, v4 bool) (R, bool)
	// add appends a parsed rule to those before it (marks merge).
	add func(rules []R, r R) []R
	// same reports whether two canonical rule sets are the same rules.
	same func(a, b []R) bool
}

// The chains this package owns.
var (
	markChain = ownedChain[Rule]{
		table: "mangle", name: IPTablesChain, hook: "PREROUTING",
		lines: chainLines, parse: parseRuleLine, add: appendMerged, same: sameRules,
	}
	snatChain = ownedChain[SNATRule]{
		table: "nat", name: IPTablesSNATChain, hook: "POSTROUTING",
		lines: snatLines, parse: parseSNATLine, add: appendSNAT, same: sameSNAT,
	}
)

func appendSNAT(rules []SNATRule, r SNATRule) []SNATRule { return append(rules, r) }

// ownedRule is a rule type of an owned chain: Rule or SNATRule.
type ownedRule interface {
	is4() bool
}

// family returns the rules of one address family, in order, as add joins
// them.
func (c ownedChain[R]) family(rules []R, v4 bool) []R {
	var out []R
	for _, r := range rules {
		if r.is4() == v4 {
			out = c.add(out, r)
		}
	}
	return out
}

// jump is the rule of the hook chain that sends packets through the owned
// chain, as iptables-save prints it (after "-A" or "-D").
func (c ownedChain[R]) jump() string { return c.hook + " -j " + c.name }

// iptablesMatch returns the arguments after "-A CHAIN" that make rule r with
// the given ports, in the order iptables-save prints them.
func iptablesMatch(r Rule, ports []PortRange) []string {
	var args []string
	if r.Source.IsValid() && r.Source.Bits() > 0 {
		args = append(args, "-s", r.Source.String())
	}
	if r.Destination.Bits() > 0 {
		args = append(args, "-d", r.Destination.String())
	}
	if r.InInterface != "" {
		args = append(args, "-i", r.InInterface)
	}
	dports := make([]string, len(ports))
	for i, p := range ports {
		dports[i] = strconv.Itoa(int(p.First))
		if p.Last != p.First {
			dports[i] += ":" + strconv.Itoa(int(p.Last))
		}
	}
	mask := r.Mask
	if mask == 0 {
		mask = ^uint32(0)
	}
	return append(args,
		"-p", r.Protocol.String(), "-m", "multiport", "--dports", strings.Join(dports, ","),
		"-j", "MARK", "--set-xmark", fmt.Sprintf("%#x/%#x", r.Mark, mask))
}

// chainLines returns the "-A LVS-MARK ..." lines for canonical mark rules.
// A rule with more ports than one multiport match takes becomes several
// lines with the same match; parseSave joins them again.
func chainLines(rules []Rule) []string {
	var lines []string
	for _, r := range rules {
		ports := r.Ports
		for len(ports) > 0 {
			n, slots := 0, 0
			for n < len(ports) {
				need := 1
				if ports[n].First != ports[n].Last {
					need = 2
				}
				if slots+need > multiportSlots {
					break
				}
				slots += need
				n++
			}
			lines = append(lines, "-A "+IPTablesChain+" "+strings.Join(iptablesMatch(r, ports[:n]), " "))
			ports = ports[n:]
		}
	}
	return lines
}

// savedState is what iptables-save shows of an owned chain in one family.
type savedState[R ownedRule] struct {
	chain   bool     // the owned chain exists
	jumps   int      // how many "-A HOOK -j CHAIN" rules there are
	rules   []R      // the owned chain's rules that parse, canonical
	unknown []string // the owned chain's rules that do not
}

// inSync reports whether the family's owned state s is exactly rules.
func (c ownedChain[R]) inSync(s savedState[R], rules []R) bool {
	if len(rules) == 0 {
		return !s.chain && s.jumps == 0
	}
	return s.chain && s.jumps == 1 && len(s.unknown) == 0 && c.same(s.rules, rules)
}

// script returns the iptables-restore --noflush input that turns state s
// into canonical rules (all of one family) in one transaction, or "" when s
// already is that. It names only the chain's table, so that other tables
// are left alone.
func (c ownedChain[R]) script(s savedState[R], rules []R) string {
	if c.inSync(s, rules) {
		return ""
	}
	var b strings.Builder
	b.WriteString("*" + c.table + "\n")
	if len(rules) == 0 {
		for range s.jumps {
			b.WriteString("-D " + c.jump() + "\n")
		}
		if s.chain {
			// Declaring the chain flushes it under --noflush; then delete it.
			b.WriteString(":" + c.name + " - [0:0]\n")
			b.WriteString("-X " + c.name + "\n")
		}
		b.WriteString("COMMIT\n")
		return b.String()
	}
	// Declaring the chain creates it, or flushes it under --noflush.
	b.WriteString(":" + c.name + " - [0:0]\n")
	switch {
	case s.jumps == 0:
		// First in the hook chain, so that no earlier verdict (an ACCEPT in
		// mangle, another NAT rule in nat) keeps packets from the rules.
		b.WriteString("-I " + c.hook + " 1 -j " + c.name + "\n")
	case s.jumps > 1:
		for range s.jumps - 1 {
			b.WriteString("-D " + c.jump() + "\n")
		}
	}
	for _, l := range c.lines(rules) {
		b.WriteString(l + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// parseSave reads the owned chain's state from iptables-save output of one
// family: of the chain's table only (-t), or of all tables.
func (c ownedChain[R]) parseSave(out string, v4 bool) savedState[R] {
	var s savedState[R]
	inTable := false
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case line == "*"+c.table:
			inTable = true
		case strings.HasPrefix(line, "*"):
			inTable = false
		case !inTable:
		case line == ":"+c.name || strings.HasPrefix(line, ":"+c.name+" "):
			s.chain = true
		case line == "-A "+c.jump():
			s.jumps++
		case strings.HasPrefix(line, "-A "+c.name+" "):
			r, ok := c.parse(strings.Fields(line)[2:], v4)
			if !ok {
				s.unknown = append(s.unknown, line)
				continue
			}
			s.rules = c.add(s.rules, r)
		}
	}
	return s
}

// parseRuleLine parses the arguments of an owned mark rule as iptables-save
// prints them, in any order. It accepts only what iptablesMatch writes.
func parseRuleLine(args []string, v4 bool) (Rule, bool) {
	var r Rule
	if v4 {
		r.Destination = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	} else {
		r.Destination = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	seen := map[string]bool{}
	for len(args) >= 2 {
		opt, val := args[0], args[1]
		args = args[2:]
		if seen[opt] {
			return Rule{}, false
		}
		seen[opt] = true
		var ok bool
		switch opt {
		case "-s":
			r.Source, ok = parsePrefix(val)
		case "-d":
			r.Destination, ok = parsePrefix(val)
		case "-i":
			r.InInterface, ok = val, true
		case "-p":
			r.Protocol, ok = parseProtocol(val)
		case "-m":
			ok = val == "multiport"
		case "--dports":
			r.Ports, ok = parseDports(val)
		case "-j":
			ok = val == "MARK"
		case "--set-xmark":
			r.Mark, r.Mask, ok = parseXmark(val)
		}
		if !ok {
			return Rule{}, false
		}
	}
	for _, need := range []string{"-p", "-m", "--dports", "-j", "--set-xmark"} {
		if !seen[need] {
			return Rule{}, false
		}
	}
	if len(args) != 0 || r.validate() != nil || r.Destination.Addr().Is4() != v4 {
		return Rule{}, false
	}
	return r.canonical(), true
}

func parsePrefix(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return p, true
}

func parseDports(s string) ([]PortRange, bool) {
	var ports []PortRange
	for f := range strings.SplitSeq(s, ",") {
		first, last, isRange := strings.Cut(f, ":")
		a, err := strconv.ParseUint(first, 10, 16)
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(last, 10, 16); err != nil {
				return nil, false
			}
		}
		ports = append(ports, PortRange{uint16(a), uint16(b)})
	}
	return ports, true
}

func parseXmark(s string) (mark, mask uint32, ok bool) {
	v, m, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(v, 0, 32)
	b, err2 := strconv.ParseUint(m, 0, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(a), uint32(b), true
}

// snatLines returns the "-A LVS-SNAT ..." lines for SNAT rules, as
// iptables-save prints them.
func snatLines(rules []SNATRule) []string {
	lines := make([]string, 0, len(rules))
	for _, r := range rules {
		a := r.Destination.Addr()
		args := []string{"-A", IPTablesSNATChain, "-d", netip.PrefixFrom(a, a.BitLen()).String(), "-p", r.Protocol.String()}
		if p := r.Destination.Port(); p != 0 {
			args = append(args, "-m", r.Protocol.String(), "--dport", strconv.Itoa(int(p)))
		}
		lines = append(lines, strings.Join(append(args, "-j", "MASQUERADE"), " "))
	}
	return lines
}

// parseSNATLine parses the arguments of an owned SNAT rule as iptables-save
// prints them, in any order. It accepts only what snatLines writes.
func parseSNATLine(args []string, v4 bool) (SNATRule, bool) {
	var (
		r     SNATRule
		addr  netip.Prefix
		port  uint64
		match string
	)
	seen := map[string]bool{}
	for len(args) >= 2 {
		opt, val := args[0], args[1]
		args = args[2:]
		if seen[opt] {
			return SNATRule{}, false
		}
		seen[opt] = true
		ok := true
		switch opt {
		case "-d":
			addr, ok = parsePrefix(val)
			ok = ok && addr.Bits() == addr.Addr().BitLen()
		case "-p":
			r.Protocol, ok = parseProtocol(val)
		case "-m":
			match = val
		case "--dport":
			var err error
			port, err = strconv.ParseUint(val, 10, 16)
			ok = err == nil && port != 0
		case "-j":
			ok = val == "MASQUERADE"
		default:
			ok = false
		}
		if !ok {
			return SNATRule{}, false
		}
	}
	if len(args) != 0 || !seen["-d"] || !seen["-p"] || !seen["-j"] ||
		seen["-m"] != seen["--dport"] || (seen["-m"] && match != r.Protocol.String()) {
		return SNATRule{}, false
	}
	r.Destination = netip.AddrPortFrom(addr.Addr(), uint16(port))
	if r.validate() != nil || r.is4() != v4 {
		return SNATRule{}, false
	}
	return r, true
}
