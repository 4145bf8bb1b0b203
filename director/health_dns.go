package director

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// dnsProber is the "dns" check: healthy when the server answers the
// query over UDP with the rcode and, if answer is set, a record of the
// query's type that holds it.
type dnsProber struct {
	name   string // fully qualified
	qtype  uint16
	rcode  int
	answer string     // "" for none
	addr   netip.Addr // answer, for A and AAAA
}

// newDNSProber fills in QueryType ("A") and Rcode ("NOERROR"), both
// spelt in capitals.
func newDNSProber(c *Check) (prober, error) {
	if c.QueryType == "" {
		c.QueryType = "A"
	}
	if c.Rcode == "" {
		c.Rcode = "NOERROR"
	}
	c.QueryType, c.Rcode = strings.ToUpper(c.QueryType), strings.ToUpper(c.Rcode)
	p := dnsProber{name: dns.Fqdn(c.Query), answer: c.Answer}
	var ok bool
	if _, ok = dns.IsDomainName(c.Query); c.Query == "" || !ok {
		return nil, fmt.Errorf("query %q is not a domain name", c.Query)
	}
	if p.qtype, ok = dns.StringToType[c.QueryType]; !ok || p.qtype == dns.TypeNone {
		return nil, fmt.Errorf("queryType %q is not a DNS record type", c.QueryType)
	}
	if p.rcode, ok = dns.StringToRcode[c.Rcode]; !ok {
		return nil, fmt.Errorf("rcode %q is not a DNS rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED...)", c.Rcode)
	}
	if c.Answer == "" {
		return p, nil
	}
	switch p.qtype {
	case dns.TypeA, dns.TypeAAAA:
		a, err := netip.ParseAddr(c.Answer)
		if err != nil || a.Is4() != (p.qtype == dns.TypeA) || a.Zone() != "" {
			return nil, fmt.Errorf("answer %q is not an address of an %s record", c.Answer, c.QueryType)
		}
		p.addr = a
	case dns.TypeCNAME, dns.TypeNS, dns.TypePTR, dns.TypeMX:
		if _, ok := dns.IsDomainName(c.Answer); !ok {
			return nil, fmt.Errorf("answer %q is not a domain name", c.Answer)
		}
	case dns.TypeTXT:
	default:
		return nil, fmt.Errorf("answer: only the records of types A, AAAA, CNAME, NS, PTR, MX and TXT are compared, not %s", c.QueryType)
	}
	return p, nil
}

func (p dnsProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	c, err := env.dial(ctx, "udp", addr.String())
	if err != nil {
		return err
	}
	co := &dns.Conn{Conn: c}
	defer co.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
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
			return fmt.Errorf("dns %v: %w", addr, err)
		}
		break
	}
	if r.Rcode != p.rcode {
		return fmt.Errorf("dns %v: %s %s: rcode %s, want %s", addr, p.name, dns.TypeToString[p.qtype], dns.RcodeToString[r.Rcode], dns.RcodeToString[p.rcode])
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
	return fmt.Errorf("dns %v: %s %s: no record holds %q (the answer has %q)", addr, p.name, dns.TypeToString[p.qtype], p.answer, got)
}

// recordData is what Check.Answer is compared with in rr.
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
func (p dnsProber) holds(data string) bool {
	switch p.qtype {
	case dns.TypeA, dns.TypeAAAA:
		a, err := netip.ParseAddr(data)
		return err == nil && a.Unmap() == p.addr.Unmap()
	case dns.TypeTXT:
		return data == p.answer
	}
	return strings.EqualFold(dns.Fqdn(data), dns.Fqdn(p.answer))
}
