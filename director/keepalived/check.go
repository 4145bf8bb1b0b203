package keepalived

import (
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
)

// checkKinds maps keepalived's checkers to the director's check types,
// "" for those it has no counterpart of.
var checkKinds = map[string]string{
	"TCP_CHECK": "tcp", "HTTP_GET": "http", "SSL_GET": "https", "MISC_CHECK": "command",
	"DNS_CHECK": "dns", "SMTP_CHECK": "smtp", "UDP_CHECK": "udp", "PING_CHECK": "icmp",
	"FILE_CHECK": "file", "BFD_CHECK": "",
}

// built is one keepalived checker as a director check, with its notes.
type built struct {
	n     *node
	rs    *realServer
	addr  netip.AddrPort // the real server's in the service
	check director.Check
	// more are the checker's further checks: an HTTP_GET's or SSL_GET's
	// other urls, each a check of its own.
	more  []director.Check
	notes []Note
}

// serviceChecks sets the checks of svc from its real servers' checkers,
// as keepalived runs them: each real server's checkers are its checks (up
// while every one passes), with its own inhibit_on_failure; the service's
// Check (one checker) or Checks when every real server has the same ones,
// else each real server's own Checks. A real server without a checker
// has none, and counts as healthy, as keepalived's. carried maps each
// real server block to its destination in svc.
func (im *importer) serviceChecks(vs *virtualServer, svc *director.VirtualService, carried map[*realServer]int) {
	per := map[*realServer][]built{}
	var all []built
	var order []*realServer
	for _, rs := range vs.rs {
		i, ok := carried[rs]
		if !ok {
			continue // not carried over
		}
		order = append(order, rs)
		for _, c := range rs.checkers {
			if b, ok := im.checker(vs, rs, c, svc.RealServers[i].Address); ok {
				b.addr = svc.RealServers[i].Address
				per[rs] = append(per[rs], b)
				all = append(all, b)
			}
		}
	}
	if len(all) == 0 {
		return
	}
	// MISC_CHECKs that differ only by each real server's address: one
	// command, when each real server has one.
	var cmds []built
	var at []*built
	for _, rs := range order {
		for i := range per[rs] {
			if _, ok := per[rs][i].check.Spec.(*check.Command); ok {
				cmds = append(cmds, per[rs][i])
				at = append(at, &per[rs][i])
			}
		}
	}
	if len(cmds) == len(order) && len(order) == len(per) {
		im.commonCommand(vs, cmds)
		for i, b := range cmds {
			*at[i] = b
		}
	}
	// inhibit_on_failure is per real server in keepalived: each of its
	// checks carries it.
	lists := make([][]director.Check, len(order))
	for j, rs := range order {
		t := rs.timing.over(vs.timing)
		action := director.Remove
		if t.inhibit != nil && *t.inhibit {
			action = director.Quiesce
		}
		for _, b := range per[rs] {
			for _, c := range append([]director.Check{b.check}, b.more...) {
				c.OnFailure = action
				lists[j] = append(lists[j], c)
			}
		}
	}
	// The notes of a check every real server has alike, once.
	var noted []Note
	for _, rs := range order {
		for _, b := range per[rs] {
			for _, n := range b.notes {
				if !slices.ContainsFunc(noted, func(c Note) bool { return c.Option == n.Option && c.Reason == n.Reason }) {
					noted = append(noted, n)
					im.notes = appendNotes(im.notes, im.quiet, n)
				}
			}
		}
	}
	same := len(per) == len(order)
	for _, l := range lists[1:] {
		same = same && reflect.DeepEqual(l, lists[0])
	}
	switch {
	case same && len(lists[0]) == 1:
		c := lists[0][0]
		svc.Check = &c
	case same:
		svc.Checks = lists[0]
	default:
		for j, rs := range order {
			svc.RealServers[carried[rs]].Checks = lists[j]
		}
	}
}

func appendNotes(dst []Note, quiet bool, n ...Note) []Note {
	if quiet {
		return dst
	}
	return append(dst, n...)
}

// checker maps one checker block of rs, whose address in the service is
// addr; false for a checker the director has no counterpart of (noted).
func (im *importer) checker(vs *virtualServer, rs *realServer, n *node, addr netip.AddrPort) (built, bool) {
	block := rs.block + ": " + n.key()
	b := built{n: n, rs: rs}
	note := func(s *node, format string, args ...any) {
		b.notes = append(b.notes, Note{File: s.file, Line: s.line, Block: block, Option: s.label(), Reason: fmt.Sprintf(format, args...)})
	}
	kind := checkKinds[n.key()]
	if kind == "" {
		im.note(n, rs.block, "", "%s: not carried over (the director has no BFD)", n.key())
		return b, false
	}
	if kind == "file" {
		return b, im.fileCheck(n, rs, &b)
	}
	var c director.Check
	// The kind's own fields, made its Spec at the end.
	var (
		web  check.HTTP // http, https
		tlsc check.TLS  // https
		cmd  check.Command
		dnsq check.DNS
		smtp check.SMTP
		udp  check.UDP
	)
	var t timing
	var smtpHosts []smtpHost // an SMTP_CHECK's further hosts
	var urls []*node
	var hosts []*node
	var connectIP *node
	misc := struct{ timeout *time.Duration }{}
	require := false
	for _, s := range n.children {
		saved := im.notes
		ok := im.timingOption(&t, s, block)
		// timingOption's notes belong to this checker.
		for _, x := range im.notes[len(saved):] {
			b.notes = append(b.notes, x)
		}
		im.notes = saved
		if ok {
			if s.key() == "inhibit_on_failure" || s.key() == "virtualhost" && kind != "http" && kind != "https" {
				note(s, "not carried over (not a checker option)")
			}
			continue
		}
		switch k := s.key(); {
		case k == "connect_port":
			p, ok := port(s.arg(0))
			if !ok || p == 0 {
				note(s, "invalid port %q, ignored", s.arg(0))
				continue
			}
			c.Port = p
		case k == "connect_ip":
			connectIP = s
		case k == "bindto" || k == "bind_port" || k == "bind_if" || k == "fwmark":
			note(s, "not carried over (the director's checks choose their source themselves)")
		case k == "alpha":
			note(s, "not carried over (%s)", notOption["alpha"])
		case k == "log_all_failures":
			note(s, "not carried over (no counterpart in the director)")
		case (kind == "http" || kind == "https") && k == "url" && s.block:
			urls = append(urls, s)
		case (kind == "http" || kind == "https") && k == "sni_name" && kind == "https":
			tlsc.ServerName = s.arg(0)
		case (kind == "http" || kind == "https") && k == "enable_sni":
			// The director's https check always sends the server name.
		case (kind == "http" || kind == "https") && (k == "http_protocol" || k == "fast_recovery" || k == "tls_compliant"):
			note(s, "not carried over (no counterpart in the director)")
		case kind == "command" && k == "misc_path":
			args := s.args()
			if len(args) == 1 {
				args = shellWords(args[0])
			}
			cmd.Argv = args
		case kind == "command" && k == "misc_timeout":
			v, ok := number(s.arg(0), 1<<31)
			if !ok {
				note(s, "invalid value %q, ignored", s.arg(0))
				continue
			}
			d := time.Duration(v) * time.Second
			misc.timeout = &d
		case kind == "command" && k == "misc_dynamic":
			note(s, "not carried over (the director does not take exit codes as weights: 0 is healthy, anything else failed)")
		case kind == "command" && k == "user":
			note(s, "not carried over (the director runs the command as itself)")
		case kind == "dns" && k == "type":
			dnsq.QueryType = strings.ToUpper(s.arg(0))
		case kind == "dns" && k == "name":
			dnsq.Query = s.arg(0)
		case kind == "smtp" && k == "helo_name":
			smtp.Helo = s.arg(0)
		case kind == "smtp" && k == "host" && s.block:
			hosts = append(hosts, s)
		case kind == "udp" && k == "payload":
			v, wild, ok := hexString(s.args())
			if !ok || wild || !utf8.Valid(v) {
				note(s, "not carried over (the director sends text, and this is not)")
				continue
			}
			udp.Send = string(v)
		case kind == "udp" && k == "require_reply":
			require = true
			v, wild, ok := hexString(s.args())
			if !ok || wild || !utf8.Valid(v) {
				note(s, "its data is not carried over (the director expects text, without wildcards): any reply passes")
				continue
			}
			udp.Expect = string(v)
		case kind == "udp" && (k == "min_reply_length" || k == "max_reply_length"):
			note(s, "not carried over (no counterpart in the director)")
		default:
			note(s, "not carried over (unknown option)")
		}
	}
	if kind == "smtp" && len(hosts) > 0 {
		// Without connection options of its own, the checker is the first
		// host's; every other host is another checker.
		main := c.Port == 0 && connectIP == nil
		extra := hosts
		if main {
			h := hosts[0]
			extra = hosts[1:]
			for _, s := range h.children {
				switch s.key() {
				case "connect_ip":
					connectIP = s
				case "connect_port":
					if p, ok := port(s.arg(0)); ok && p != 0 {
						c.Port = p
					}
				case "connect_timeout":
					if d, ok := timer(s.arg(0)); ok && d > 0 {
						t.connectTimeout = &d
					}
				default:
					note(s, "not carried over (the director's checks choose their source themselves)")
				}
			}
		}
		// Every other host is a checker of its own in keepalived: a
		// check of its own here, at its port.
		for _, h := range extra {
			x := smtpHost{port: addr.Port()}
			ok := true
			for _, s := range h.children {
				switch s.key() {
				case "connect_ip":
					if a, err := netip.ParseAddr(s.arg(0)); err != nil || a.Unmap() != addr.Addr() {
						note(h, "not carried over (its connect_ip is not the real server's address, and the director checks the real server's own)")
						ok = false
					}
				case "connect_port":
					if p, good := port(s.arg(0)); good && p != 0 {
						x.port = p
					}
				case "connect_timeout":
					if d, good := timer(s.arg(0)); good && d > 0 {
						x.timeout = &d
					}
				default:
					note(s, "not carried over (the director's checks choose their source themselves)")
				}
			}
			if ok {
				smtpHosts = append(smtpHosts, x)
			}
		}
	}
	if connectIP != nil {
		if a, err := netip.ParseAddr(connectIP.arg(0)); err != nil || a.Unmap() != addr.Addr() {
			note(connectIP, "not carried over (the director checks the real server's own address)")
		}
	}
	switch {
	case vs.fwmarkService && c.Port == 0:
		c.Port = addr.Port() // a firewall-mark service's check needs its port
	case !vs.fwmarkService && c.Port == addr.Port():
		c.Port = 0 // the real server's port
	}
	var webs []check.HTTP // every url's, web the first
	if kind == "http" || kind == "https" {
		if webs = im.urls(urls, note); len(webs) == 0 {
			im.note(n, rs.block, "", "%s: not carried over (no url with a path: keepalived ignores it too)", n.key())
			return b, false
		}
		t2 := t.over(rs.timing).over(vs.timing)
		for i := range webs {
			if webs[i].Host == "" && t2.virtualhost != nil {
				webs[i].Host = *t2.virtualhost
			}
		}
		web = webs[0]
		if len(webs) > 1 {
			b.notes = append(b.notes, Note{File: n.file, Line: n.line, Block: rs.block, Option: n.key(),
				Reason: fmt.Sprintf("its %d urls are %d checks, each counting its own retries (keepalived GETs them in turn in one checker, which fails when one fails)", len(webs), len(webs))})
		}
	}
	if kind == "https" {
		im.ssl.used = true
		im.tlsSettings(&tlsc, &b, n, rs)
	}
	if kind == "command" && len(cmd.Argv) == 0 {
		im.note(n, rs.block, "", "MISC_CHECK: not carried over (no misc_path: keepalived ignores it too)")
		return b, false
	}
	if kind == "dns" {
		if dnsq.QueryType == "" {
			dnsq.QueryType = "SOA" // keepalived's defaults
		}
		if dnsq.Query == "" {
			dnsq.Query = "."
		}
	}
	if kind == "smtp" && smtp.Helo == "" {
		smtp.Helo = "smtpchecker.keepalived.org" // keepalived's SMTP_DEFAULT_HELO
	}
	if kind == "udp" && !require {
		b.notes = append(b.notes, Note{File: n.file, Line: n.line, Block: rs.block, Option: n.key(),
			Reason: "the director's udp check needs a reply; without require_reply keepalived's passes unless an ICMP error comes back"})
	}
	// Each Spec a copy of its own, so that the kind's fields above stay on
	// the stack: a real server's checker allocated all six.
	switch kind {
	case "tcp":
		c.Spec = &check.TCP{}
	case "http":
		c.Spec = ptr(web)
	case "https":
		c.Spec = &check.HTTPS{HTTP: web, TLS: tlsc}
	case "command":
		c.Spec = ptr(cmd)
	case "dns":
		c.Spec = ptr(dnsq)
	case "smtp":
		c.Spec = ptr(smtp)
	case "udp":
		c.Spec = ptr(udp)
	case "icmp":
		c.Spec = &check.ICMP{}
	}
	im.timing(&c, t.over(rs.timing).over(vs.timing), kind, misc.timeout, &b, block)
	b.check = c
	for _, w := range webs[min(1, len(webs)):] {
		m := c
		if kind == "http" {
			m.Spec = ptr(w)
		} else {
			m.Spec = &check.HTTPS{HTTP: w, TLS: tlsc}
		}
		b.more = append(b.more, m)
	}
	for _, h := range smtpHosts {
		m := c
		switch {
		case vs.fwmarkService:
			m.Port = h.port
		case h.port == addr.Port():
			m.Port = 0
		default:
			m.Port = h.port
		}
		m.Timeout = 5 * time.Second // keepalived's, unless the host's or the real server's
		if d := rs.timing.over(vs.timing).connectTimeout; d != nil {
			m.Timeout = *d
		}
		if h.timeout != nil {
			m.Timeout = *h.timeout
		}
		m.Timeout = min(m.Timeout, check.MaxTimeout)
		b.more = append(b.more, m)
	}
	return b, true
}

// smtpHost is an SMTP_CHECK's host block after the first: a checker of
// its own in keepalived.
type smtpHost struct {
	port    uint16
	timeout *time.Duration
}

// tlsSettings sets an SSL_GET check's TLS as keepalived runs it: it never
// verifies the server's certificate (even with the SSL block's ca), so
// neither does the check, and a note says how to turn verification on;
// the SSL block's certificate and key are presented when both are given.
func (im *importer) tlsSettings(tlsc *check.TLS, b *built, n *node, rs *realServer) {
	note := func(format string, args ...any) {
		b.notes = append(b.notes, Note{File: n.file, Line: n.line, Block: rs.block, Option: n.key(), Reason: fmt.Sprintf(format, args...)})
	}
	tlsc.Insecure = true
	if im.ssl.ca != "" {
		note("certificates are not verified (insecure: true), as keepalived does not verify them even with the SSL block's ca; to verify, set the check's caFile: %s and remove insecure", im.ssl.ca)
	} else {
		note("certificates are not verified (insecure: true), as keepalived does not verify them; to verify, remove insecure (the system's roots verify) or set caFile")
	}
	switch {
	case im.ssl.cert != "" && im.ssl.key != "":
		tlsc.CertFile, tlsc.KeyFile = im.ssl.cert, im.ssl.key
	case im.ssl.cert != "" || im.ssl.key != "":
		note("the SSL block's client certificate is not carried over: it has a certificate or a key but not both, and the director presents one only with both; the check is kept")
	}
}

// urls are the checks of an HTTP_GET's or SSL_GET's urls with a path,
// one each, in order (keepalived GETs every url); one without a path is
// noted.
func (im *importer) urls(urls []*node, note func(*node, string, ...any)) []check.HTTP {
	var out []check.HTTP
	for _, u := range urls {
		path := ""
		for _, s := range u.children {
			if s.key() == "path" {
				path = s.arg(0)
			}
		}
		if path == "" {
			note(u, "not carried over (no path: keepalived ignores it too)")
			continue
		}
		c := check.HTTP{Path: path}
		for _, s := range u.children {
			switch s.key() {
			case "path":
			case "digest":
				c.Digest = strings.ToLower(s.arg(0))
			case "status_code":
				for _, a := range s.args() {
					lo, hi, isRange := strings.Cut(a, "-")
					if !isRange {
						hi = lo
					}
					l, ok1 := number(lo, 599)
					h, ok2 := number(hi, 599)
					if !ok1 || !ok2 || l < 100 || l > h {
						note(s, "invalid status %q, ignored (as keepalived does)", a)
						continue
					}
					for v := l; v <= h; v++ {
						if !slices.Contains(c.Status, int(v)) {
							c.Status = append(c.Status, int(v))
						}
					}
				}
			case "virtualhost":
				c.Host = s.arg(0)
			case "regex":
				if _, err := regexp.Compile(s.arg(0)); err != nil {
					note(s, "not carried over (not an RE2 regular expression: %v)", err)
					continue
				}
				c.BodyRegexp = s.arg(0)
			default:
				note(s, "not carried over (no counterpart in the director)")
			}
		}
		slices.Sort(c.Status)
		if len(c.Status) == 0 {
			for v := 200; v <= 299; v++ { // keepalived's default: any 2xx
				c.Status = append(c.Status, v)
			}
		}
		out = append(out, c)
	}
	return out
}

// timing sets the check's interval, timeout, jitter, rise, fall and retry
// delay from keepalived's inherited settings and defaults: a checker runs
// every delay_loop (60s), gives up on a connection after connect_timeout
// (5s), starts after a random warmup (up to delay_loop), marks a server
// failed after retry+1 failures in a row (retry is 1, 0 for MISC_CHECK, 3
// for DNS_CHECK), each retry delay_before_retry after the failure before
// it (1s, 3s for HTTP_GET and SSL_GET, delay_loop for DNS_CHECK), and
// healthy after one success.
func (im *importer) timing(c *director.Check, t timing, kind string, miscTimeout *time.Duration, b *built, block string) {
	c.Interval = 60 * time.Second
	if t.delayLoop != nil {
		c.Interval = *t.delayLoop
	}
	c.Timeout = 5 * time.Second
	if t.connectTimeout != nil {
		c.Timeout = *t.connectTimeout
	}
	if kind == "command" {
		c.Timeout = c.Interval // keepalived's misc_timeout default: delay_loop
		if miscTimeout != nil && *miscTimeout > 0 {
			c.Timeout = *miscTimeout
		}
	}
	if c.Timeout > check.MaxTimeout {
		b.notes = append(b.notes, Note{File: b.n.file, Line: b.n.line, Block: block,
			Reason: fmt.Sprintf("its timeout, %v, carried as %v: the longest a director check runs", c.Timeout, check.MaxTimeout)})
		c.Timeout = check.MaxTimeout
	}
	c.Jitter = c.Interval
	if t.warmup != nil {
		c.Jitter = *t.warmup
	}
	retry := 1
	switch kind {
	case "command":
		retry = 0
	case "dns":
		retry = 3
	}
	if t.retry != nil {
		retry = *t.retry
	}
	c.Rise, c.Fall = 1, retry+1
	if retry == 0 {
		return // no retries, no delay before them
	}
	delay := time.Second // keepalived's default_delay_before_retry
	switch kind {
	case "http", "https":
		delay = 3 * time.Second
	case "dns":
		delay = c.Interval
	}
	if t.delayBeforeRetry != nil {
		delay = *t.delayBeforeRetry
		if delay == 0 {
			// keepalived retries at once; the director's zero means the
			// interval.
			delay = time.Millisecond
			s := t.delayBeforeRetryNode
			b.notes = append(b.notes, Note{File: s.file, Line: s.line, Block: block, Option: s.label(),
				Reason: "0 carried as retryDelay 1ms (keepalived retries at once; the director's retryDelay 0 retries at the interval)"})
		}
	}
	if delay > director.MaxCheckInterval {
		s := t.delayBeforeRetryNode
		b.notes = append(b.notes, Note{File: s.file, Line: s.line, Block: block, Option: s.label(),
			Reason: fmt.Sprintf("%v carried as %v, the longest retryDelay", delay, director.MaxCheckInterval)})
		delay = director.MaxCheckInterval
	}
	if delay != c.Interval {
		c.RetryDelay = delay
	}
}

// ptr is a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
