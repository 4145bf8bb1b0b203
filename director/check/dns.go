package check

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// DNS is the "dns" check: Query is asked for a record of QueryType over
// UDP; healthy when the answer's rcode is Rcode and, if Answer is set,
// one of its records of QueryType holds Answer. It reads one datagram of
// at most 512 bytes at a time (DNS over UDP without EDNS; a longer one
// is cut, and fails), and skips answers to other queries until the
// check's timeout.
type DNS struct {
	// Query is the name asked for.
	Query string `json:"query,omitempty"`
	// QueryType is the record type asked for, in any case: A if empty.
	QueryType string `json:"queryType,omitempty"`
	// Rcode is the rcode the answer must have, in any case: NOERROR if
	// empty.
	Rcode string `json:"rcode,omitempty"`
	// Answer, if set, must be held by a record of the answer: an address
	// for A and AAAA, a name for CNAME, NS, PTR and MX (with or without
	// its final dot, in any case), the text for TXT.
	Answer string `json:"answer,omitempty"`
}

// Type is "dns".
func (DNS) Type() string { return "dns" }

// Compile checks the query, its type, the rcode and the answer, and
// fills in QueryType (A) and Rcode (NOERROR).
func (d DNS) Compile() (Checker, error) {
	qtype, rcode := strings.ToUpper(d.QueryType), strings.ToUpper(d.Rcode)
	if qtype == "" {
		qtype = "A"
	}
	if rcode == "" {
		rcode = "NOERROR"
	}
	p := dnsChecker{name: dns.Fqdn(d.Query), answer: d.Answer}
	var ok bool
	if _, ok = dns.IsDomainName(d.Query); d.Query == "" || !ok {
		return nil, fmt.Errorf("query %q is not a domain name", d.Query)
	}
	if p.qtype, ok = dns.StringToType[qtype]; !ok || p.qtype == dns.TypeNone {
		return nil, fmt.Errorf("queryType %q is not a DNS record type", d.QueryType)
	}
	if p.rcode, ok = dns.StringToRcode[rcode]; !ok {
		return nil, fmt.Errorf("rcode %q is not a DNS rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED...)", d.Rcode)
	}
	if d.Answer == "" {
		return p, nil
	}
	switch p.qtype {
	case dns.TypeA, dns.TypeAAAA:
		a, err := netip.ParseAddr(d.Answer)
		if err != nil || a.Is4() != (p.qtype == dns.TypeA) || a.Zone() != "" {
			return nil, fmt.Errorf("answer %q is not an address of an %s record", d.Answer, qtype)
		}
		p.addr = a
	case dns.TypeCNAME, dns.TypeNS, dns.TypePTR, dns.TypeMX:
		if _, ok := dns.IsDomainName(d.Answer); !ok {
			return nil, fmt.Errorf("answer %q is not a domain name", d.Answer)
		}
	case dns.TypeTXT:
	default:
		return nil, fmt.Errorf("answer: only the records of types A, AAAA, CNAME, NS, PTR, MX and TXT are compared, not %s", qtype)
	}
	return p, nil
}

type dnsChecker struct {
	name   string // fully qualified
	qtype  uint16
	rcode  int
	answer string     // "" for none
	addr   netip.Addr // answer, for A and AAAA
}

func (p dnsChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	c, err := env.Dial(ctx, "udp", target.String())
	if err != nil {
		return err
	}
	// dns.Conn reads a datagram into a buffer of UDPSize bytes (512,
	// dns.MinMsgSize, when unset).
	co := &dns.Conn{Conn: c, UDPSize: dns.MinMsgSize}
	defer co.Close()
	defer follow(ctx, c)()
	q := new(dns.Msg)
	q.SetQuestion(p.name, p.qtype)
	if err := co.WriteMsg(q); err != nil {
		return err
	}
	var r *dns.Msg
	for {
		r, err = co.ReadMsg()
		if r != nil && r.Id != q.Id {
			continue // not an answer to this query
		}
		if err != nil {
			return fmt.Errorf("dns %v: %w", target, err)
		}
		break
	}
	if r.Rcode != p.rcode {
		return fmt.Errorf("dns %v: %s %s: rcode %s, want %s", target, p.name, dns.TypeToString[p.qtype], dns.RcodeToString[r.Rcode], dns.RcodeToString[p.rcode])
	}
	if p.answer == "" {
		return nil
	}
	var got []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != p.qtype {
			continue
		}
		data := recordData(rr)
		if p.holds(data) {
			return nil
		}
		got = append(got, data)
	}
	return fmt.Errorf("dns %v: %s %s: no record holds %q (the answer has %q)", target, p.name, dns.TypeToString[p.qtype], p.answer, got)
}

// recordData is what DNS.Answer is compared with in rr.
func recordData(rr dns.RR) string {
	switch rr := rr.(type) {
	case *dns.A:
		return rr.A.String()
	case *dns.AAAA:
		return rr.AAAA.String()
	case *dns.CNAME:
		return rr.Target
	case *dns.NS:
		return rr.Ns
	case *dns.PTR:
		return rr.Ptr
	case *dns.MX:
		return rr.Mx
	case *dns.TXT:
		return strings.Join(rr.Txt, "")
	}
	return ""
}

// holds says whether a record's data is the check's answer: the same
// address, the same name (with or without the final dot, in any case),
// the same text.
func (p dnsChecker) holds(data string) bool {
	switch p.qtype {
	case dns.TypeA, dns.TypeAAAA:
		a, err := netip.ParseAddr(data)
		return err == nil && a.Unmap() == p.addr.Unmap()
	case dns.TypeTXT:
		return data == p.answer
	}
	return strings.EqualFold(dns.Fqdn(data), dns.Fqdn(p.answer))
}
