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

// jumpRule is the PREROUTING rule that sends packets through the owned chain,
// as iptables-save prints it.
const jumpRule = "-A PREROUTING -j " + IPTablesChain

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

// chainLines returns the "-A LVS-MARK ..." lines for canonical rules. A rule
// with more ports than one multiport match takes becomes several lines with
// the same match; parseSave joins them again.
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

// savedState is what iptables-save shows of the owned chain in one family.
type savedState struct {
	chain   bool     // the owned chain exists
	jumps   int      // how many "-A PREROUTING -j LVS-MARK" rules there are
	rules   []Rule   // the owned chain's rules that parse, canonical
	unknown []string // the owned chain's rules that do not
}

// inSync reports whether the family's owned state is exactly rules.
func (s savedState) inSync(rules []Rule) bool {
	if len(rules) == 0 {
		return !s.chain && s.jumps == 0
	}
	return s.chain && s.jumps == 1 && len(s.unknown) == 0 && sameRules(s.rules, rules)
}

// restoreScript returns the iptables-restore --noflush input that turns
// state s into canonical rules (all of one family) in one transaction, or ""
// when s already is that.
func restoreScript(s savedState, rules []Rule) string {
	if s.inSync(rules) {
		return ""
	}
	var b strings.Builder
	b.WriteString("*mangle\n")
	if len(rules) == 0 {
		for range s.jumps {
			b.WriteString("-D PREROUTING -j " + IPTablesChain + "\n")
		}
		if s.chain {
			// Declaring the chain flushes it under --noflush; then delete it.
			b.WriteString(":" + IPTablesChain + " - [0:0]\n")
			b.WriteString("-X " + IPTablesChain + "\n")
		}
		b.WriteString("COMMIT\n")
		return b.String()
	}
	// Declaring the chain creates it, or flushes it under --noflush.
	b.WriteString(":" + IPTablesChain + " - [0:0]\n")
	switch {
	case s.jumps == 0:
		// First in PREROUTING, so that no earlier ACCEPT in mangle can keep
		// packets from being marked.
		b.WriteString("-I PREROUTING 1 -j " + IPTablesChain + "\n")
	case s.jumps > 1:
		for range s.jumps - 1 {
			b.WriteString("-D PREROUTING -j " + IPTablesChain + "\n")
		}
	}
	for _, l := range chainLines(rules) {
		b.WriteString(l + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// parseSave reads the owned chain's state from iptables-save -t mangle
// output of one family.
func parseSave(out string, v4 bool) savedState {
	var s savedState
	inMangle := false
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case line == "*mangle":
			inMangle = true
		case strings.HasPrefix(line, "*"):
			inMangle = false
		case !inMangle:
		case line == ":"+IPTablesChain || strings.HasPrefix(line, ":"+IPTablesChain+" "):
			s.chain = true
		case line == jumpRule:
			s.jumps++
		case strings.HasPrefix(line, "-A "+IPTablesChain+" "):
			r, ok := parseRuleLine(strings.Fields(line)[2:], v4)
			if !ok {
				s.unknown = append(s.unknown, line)
				continue
			}
			s.rules = appendMerged(s.rules, r)
		}
	}
	return s
}

// parseRuleLine parses the arguments of an owned rule as iptables-save
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
