package ipvsadm

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/lvs-go/lvs/ipvs"
)

// RuleError is a line ParseRules could not read.
type RuleError struct {
	Line   int // 1-based
	Text   string
	Reason string // Err's text: ipvsadm's message where ipvsadm refuses the line
	Err    error  // a *ipvs.ValidationError where the client's validation refuses it
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("ipvsadm: rules line %d: %s: %q", e.Line, e.Reason, e.Text)
}

// Is matches ipvs.ErrInvalid and fs.ErrInvalid.
func (e *RuleError) Is(target error) bool {
	return target == ipvs.ErrInvalid || target == fs.ErrInvalid
}

// Unwrap returns Err.
func (e *RuleError) Unwrap() error { return e.Err }

// ParseRules reads rules in ipvsadm's syntax, one command per line, as
// ipvsadm-restore feeds them to ipvsadm 1.31: lines that start with # are
// left out (ipvsadm-restore's grep -v '^#'; a # anywhere else is an error,
// as in ipvsadm -R), words are separated by blanks, tabs and carriage
// returns, and a word "ipvsadm" is dropped. Each line is read exactly as
// ipvsadm reads its arguments (popt: the command first, long options with
// "=" or a following word, short ones with their value attached or
// following) and each Rule is the request ipvsadm would send for it, with
// the values ipvsadm fills in and rewrites:
//
//   - a service's scheduler is wlc unless -s says otherwise; -s is taken as
//     written (case matters, as the kernel's module names do);
//   - -p without a timeout is 360 seconds (libipvs' IPVS_SVC_PERSISTENT_TIMEOUT;
//     the manual says 300); -p takes the next word unless it starts with -;
//   - an address service without a port (or with port 0) must be
//     persistent; -o only on UDP and firewall-mark services;
//   - -M is an IPv4 address as inet_aton reads it (so -M 24 is 0.0.0.24,
//     refused here: a Service's Netmask is a prefix length) or, once the
//     service is IPv6, a prefix length from 1 to 128; -M is kept without -p;
//     an IPv6 service given after -M, and -6, reset it to 128;
//   - -6 only after -f;
//   - -b takes flag-1..3, and sh-*/mh-* only with that scheduler;
//   - a destination's weight is 1, its method -g, unless given; -r without a
//     port takes the service's port as parsed so far (0 for a firewall mark,
//     or before -t); a -g or -i destination of an address service gets the
//     service's port whatever port it names;
//   - a destination of the other family only with -i; tunnel options only
//     with -i, and as --tun-type allows (GUE needs --tun-port; one checksum
//     option).
//
// What ipvsadm refuses is refused with ipvsadm's message. ParseRules also
// refuses what ipvsadm would send but the kernel refuses or a Rule cannot
// hold (an unknown scheduler name, an IPv4-mapped address, a non-contiguous
// or empty IPv4 netmask), what the client's validation refuses (NAT to port
// 0 on a service with a port), and names: it reads numeric addresses and
// ports only. Lines of ipvsadm's other commands (-C, --set, ...) are
// errors. Each rule is validated as the client would before sending it
// (ipvs.ValidateRule).
//
// A port-0 address service is persistent (ipvsadm refuses one that is
// not), and a Service names one with its persistence: the Rule of a line
// that only names it (-D, -a, -e, -d) has ipvs.FlagPersistent set.
//
// Batch.AddRules queues the rules as they are: a Rule from ParseRules
// already holds what ipvsadm would send for its line.
func ParseRules(r io.Reader) ([]ipvs.Rule, error) {
	var out []ipvs.Rule
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var words []string
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' }) {
			if w != "ipvsadm" {
				words = append(words, w)
			}
		}
		if len(words) == 0 {
			continue
		}
		rule, err := parseLine(words)
		if err != nil {
			return nil, &RuleError{Line: n, Text: strings.TrimSpace(line), Reason: err.Error(), Err: err}
		}
		out = append(out, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteRules writes t byte for byte as `ipvsadm -S -n` does, which
// `ipvsadm -R` (ipvsadm-restore) and ParseRules read back: services and
// their destinations in ipvsadm's order, each line a Rule's String.
func WriteRules(w io.Writer, t ipvs.Table) error {
	bw := bufio.NewWriter(w)
	for _, s := range sorted(t).Services {
		bw.WriteString(ipvs.Rule{Command: ipvs.CreateService, Service: s.Service}.String())
		bw.WriteByte('\n')
		for _, d := range s.Destinations {
			bw.WriteString(ipvs.Rule{Command: ipvs.CreateDestination, Service: s.Service, Destination: d}.String())
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}
