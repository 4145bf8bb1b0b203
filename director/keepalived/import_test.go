package keepalived

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/ipvs"
)

// imp imports src, which must give a valid Config.
func imp(t *testing.T, src string, opts *Options) (*director.Config, []Note) {
	t.Helper()
	cfg, notes, err := Import(strings.NewReader(src), opts)
	if err != nil {
		t.Fatalf("Import: %v\nnotes:\n%s", err, notesText(notes))
	}
	if err := validNoVRRP(cfg); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return cfg, notes
}

func notesText(notes []Note) string {
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}

// hasNote reports whether a note's text contains every part.
func hasNote(notes []Note, parts ...string) bool {
	return slices.ContainsFunc(notes, func(n Note) bool {
		for _, p := range parts {
			if !strings.Contains(n.String(), p) {
				return false
			}
		}
		return true
	})
}

func wantNote(t *testing.T, notes []Note, parts ...string) {
	t.Helper()
	if !hasNote(notes, parts...) {
		t.Errorf("no note with %q in:\n%s", parts, notesText(notes))
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestVirtualServer(t *testing.T) {
	cfg, notes := imp(t, `
! a comment
virtual_server 10.0.0.1 80{   # glued brace
    lb_algo sh
    sh-port
    flag-1
    lb_kind DR
    protocol TCP
    persistence_granularity 255.255.255.0
    weight 3
    quorum 2
    sorry_server 10.0.0.99 8080
    sorry_server_lvs_method NAT
    real_server 10.0.0.2 80
    {
        weight 5
        uthreshold 100
        lthreshold 10
        inhibit_on_failure
        notify_up /bin/up.sh
        TCP_CHECK { connect_timeout 2 }
    }
    real_server 10.0.0.3 8080 { TCP_CHECK { connect_timeout 2 } }
}
`, nil)
	want := director.VirtualService{
		Name:     "virtual_server 10.0.0.1 80",
		Protocol: ipvs.TCP, Address: ap("10.0.0.1:80"),
		Scheduler:   ipvs.SourceHashing,
		Flags:       ipvs.FlagSHPort | ipvs.FlagSHFallback,
		Persistence: &director.Persistence{Timeout: 360 * time.Second, Netmask: 24},
		RealServers: []director.RealServer{
			// inhibit_on_failure is per real server, so are the checks.
			{Address: ap("10.0.0.2:80"), Forward: ipvs.DirectRoute, Weight: 5, UpperThreshold: 100, LowerThreshold: 10,
				Checks: []director.Check{{Spec: &check.TCP{}, Interval: 60 * time.Second, Timeout: 2 * time.Second, Jitter: 60 * time.Second,
					Rise: 1, Fall: 2, RetryDelay: time.Second, OnFailure: director.Quiesce}}},
			// DR takes the service's port; the weight is the virtual server's.
			{Address: ap("10.0.0.3:80"), Forward: ipvs.DirectRoute, Weight: 3,
				Checks: []director.Check{{Spec: &check.TCP{}, Interval: 60 * time.Second, Timeout: 2 * time.Second, Jitter: 60 * time.Second,
					Rise: 1, Fall: 2, RetryDelay: time.Second, OnFailure: director.Remove}}},
		},
		SorryServer: &director.RealServer{Address: ap("10.0.0.99:8080"), Forward: ipvs.Masquerade, Weight: 1},
	}
	if len(cfg.Services) != 1 || !reflect.DeepEqual(cfg.Services[0], want) {
		t.Errorf("got  %+v\nwant %+v", cfg.Services, want)
	}
	wantNote(t, notes, "keepalived.conf:11: virtual_server 10.0.0.1 80: quorum: not carried over")
	wantNote(t, notes, "real_server 10.0.0.2 80: notify_up: not carried over")
	wantNote(t, notes, "real_server 10.0.0.3 8080: port 8080 replaced by the service's 80")
	if hasNote(notes, "inhibit_on_failure") {
		t.Errorf("a note on inhibit_on_failure, carried per real server:\n%s", notesText(notes))
	}
}

func TestDefaults(t *testing.T) {
	cfg, notes := imp(t, `
virtual_server 192.0.2.1 53 {
    ops
    persistence_timeout
    real_server 192.0.2.10 53 {
    }
}`, nil)
	s := cfg.Services[0]
	switch {
	case s.Protocol != ipvs.UDP:
		t.Errorf("protocol %v, want UDP (keepalived's default)", s.Protocol)
	case s.Flags != ipvs.FlagOnePacket:
		t.Errorf("flags %v, want one-packet", s.Flags)
	case s.Scheduler != "":
		t.Errorf("scheduler %q, want the default (wlc, keepalived's too)", s.Scheduler)
	case s.Persistence == nil || s.Persistence.Timeout != 360*time.Second:
		t.Errorf("persistence %+v, want 360s", s.Persistence)
	case !reflect.DeepEqual(s.RealServers[0], director.RealServer{Address: ap("192.0.2.10:53"), Forward: ipvs.Masquerade, Weight: 1}):
		t.Errorf("real server %+v, want NAT weight 1", s.RealServers[0])
	case s.Check != nil:
		t.Errorf("check %+v, want none", s.Check)
	}
	wantNote(t, notes, "protocol: none set: UDP")

	// ops needs UDP; sh-port needs sh before it.
	cfg, notes = imp(t, `virtual_server 192.0.2.1 80 { protocol TCP
ops
sh-port
lb_algo sh
real_server 192.0.2.10 80 {} }`, nil)
	if f := cfg.Services[0].Flags; f != 0 {
		t.Errorf("flags %v, want none", f)
	}
	wantNote(t, notes, "ops: ignored: one-packet scheduling needs UDP")
	wantNote(t, notes, "sh-port: only applies after lb_algo sh")
}

func TestTunnel(t *testing.T) {
	cfg, _ := imp(t, `virtual_server 192.0.2.1 80 { protocol TCP
lb_kind TUN type gue port 6080 csum
real_server 192.0.2.10 80 {}
real_server 192.0.2.11 80 { lvs_method NAT } }`, nil)
	rs := cfg.Services[0].RealServers
	if rs[0].Forward != ipvs.Tunnel || rs[0].Tunnel == nil || *rs[0].Tunnel != (director.Tunnel{Type: ipvs.TunnelGUE, Port: 6080, Checksum: ipvs.TunnelChecksum}) {
		t.Errorf("tunnel real server %+v %+v", rs[0], rs[0].Tunnel)
	}
	if rs[1].Forward != ipvs.Masquerade || rs[1].Tunnel != nil {
		t.Errorf("NAT real server %+v", rs[1])
	}
}

func TestGroup(t *testing.T) {
	cfg, notes := imp(t, `
virtual_server_group web {
    10.0.0.1-3 80
    10.0.1.0/31 443
    10.0.2.1-10.0.2.2 80
    fwmark 7
    300.0.0.1 80
}
virtual_server group web {
    protocol TCP
    lb_kind DR
    real_server 10.1.0.1 {
        HTTP_GET { url { path /health } }
    }
}`, nil)
	var names []string
	for _, s := range cfg.Services {
		names = append(names, s.Name)
	}
	want := []string{"10.0.0.1 80", "10.0.0.2 80", "10.0.0.3 80", "10.0.1.0 443", "10.0.1.1 443", "10.0.2.1 80", "10.0.2.2 80", "fwmark 7"}
	for i := range want {
		want[i] = "virtual_server group web: " + want[i]
	}
	if !slices.Equal(names, want) {
		t.Fatalf("services %q\nwant %q", names, want)
	}
	// The real server takes each member's port (DR), none for the mark.
	if a := cfg.Services[3].RealServers[0].Address; a != ap("10.1.0.1:443") {
		t.Errorf("real server of the 443 member: %v", a)
	}
	if s := cfg.Services[7]; s.FirewallMark != 7 || s.Protocol != 0 || s.RealServers[0].Address != ap("10.1.0.1:0") {
		t.Errorf("fwmark member %+v", s)
	}
	// Every member has the check; the mark's real server has no port, so
	// its check cannot run there and is not carried.
	if cfg.Services[0].Check == nil || cfg.Services[0].Check.Spec.(*check.HTTP).Path != "/health" {
		t.Errorf("check %+v", cfg.Services[0].Check)
	}
	wantNote(t, notes, "expanded into 8 services")
	wantNote(t, notes, "300.0.0.1 80: not carried over")
	wantNote(t, notes, "fwmark 7: health check (http) not carried over")
}

func TestFwmark(t *testing.T) {
	cfg, notes := imp(t, `virtual_server fwmark 9 {
lb_kind DR
real_server 2001:db8::10 80 { TCP_CHECK { connect_port 80 } }
}`, nil)
	s := cfg.Services[0]
	if s.FirewallMark != 9 || s.Family != ipvs.IPv6 || s.RealServers[0].Address != ap("[2001:db8::10]:0") || s.Check.Port != 80 {
		t.Errorf("service %+v check %+v", s, s.Check)
	}
	wantNote(t, notes, "port 80 dropped")
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("keepalived.conf", "global_defs {\n  lvs_timeouts tcp 900 udp 60\n}\ninclude conf.d/*.conf\ninclude missing/*.conf\n")
	write("conf.d/a.conf", "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  include ../rs.inc\n }\n}\n")
	write("conf.d/b.conf", "virtual_server 10.0.0.1 443 {\n protocol TCP\n real_server 10.0.0.2 443 {}\n}\n")
	write("rs.inc", "weight 7\nalpha\n")
	cfg, notes, err := ImportFile(filepath.Join(dir, "keepalived.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 2 || cfg.Services[0].RealServers[0].Weight != 7 {
		t.Errorf("services %+v", cfg.Services)
	}
	if cfg.Timeouts == nil || *cfg.Timeouts != (director.Timeouts{TCP: 900 * time.Second, UDP: time.Minute}) {
		t.Errorf("timeouts %+v", cfg.Timeouts)
	}
	wantNote(t, notes, "rs.inc:2: virtual_server 10.0.0.1 80: real_server 10.0.0.2 80: alpha: not carried over")
	wantNote(t, notes, "keepalived.conf:5: include ", "missing/*.conf: matches no file")
	wantNote(t, notes, "global_defs: not carried over (except lvs_timeouts")

	write("loop.conf", "include loop.conf\n")
	if _, _, err := ImportFile(filepath.Join(dir, "loop.conf"), nil); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("include loop: %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"global_defs {\n router_id \"x\n}\n", "keepalived.conf:2: unterminated quote"},
		{"~SEQ(i,1,3) x\n", "keepalived.conf:1: ~SEQ"},
	} {
		_, _, err := Import(strings.NewReader(tc.src), nil)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestBracesAsKeepalived: an unclosed block, an extra } and a { without
// a keyword are read as keepalived reads them (it reports them and goes
// on), with notes.
func TestBracesAsKeepalived(t *testing.T) {
	cfg, notes := imp(t, "}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n}\n", nil)
	if len(cfg.Services) != 1 || len(cfg.Services[0].RealServers) != 1 {
		t.Errorf("services %+v", cfg.Services)
	}
	wantNote(t, notes, "keepalived.conf:1: }: without a block to close: ignored")
	wantNote(t, notes, "keepalived.conf:2: virtual_server: block virtual_server 10.0.0.1 80 is not closed: closed at the end of the input")
	// The } matching a { without a keyword closes the virtual server: the
	// second real server is read at the top level, and not made.
	cfg, notes = imp(t, "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n {\n }\n real_server 10.0.0.3 80 {\n }\n}\n", nil)
	if rs := cfg.Services[0].RealServers; len(rs) != 1 {
		t.Errorf("real servers %+v, want 10.0.0.2 alone", rs)
	}
	wantNote(t, notes, "keepalived.conf:5: {: without a keyword: ignored")
}

func TestNothingCarried(t *testing.T) {
	_, notes, err := Import(strings.NewReader(`
vrrp_instance VI_1 {
    virtual_ipaddress {
        192.0.2.16/24 dev eth0
        192.0.2.17
    }
}
virtual_server 10.0.0.1 0 { real_server 10.0.0.2 0 {} }
virtual_server 10.0.0.2 80 { }
`), nil)
	if !errors.Is(err, ErrNoServices) {
		t.Fatalf("error %v, want ErrNoServices", err)
	}
	wantNote(t, notes, "vrrp_instance VI_1: not carried over (no virtual_router_id")
	wantNote(t, notes, "virtual_server 10.0.0.1 0: not carried over (")
	wantNote(t, notes, "virtual_server 10.0.0.2 80: not carried over (no real servers")
}

func TestSkipInvalid(t *testing.T) {
	cfg, notes := imp(t, `
virtual_server 10.0.0.1 80 { protocol TCP
real_server 10.0.0.2 80 {} }
virtual_server 10.0.0.1 80 { protocol TCP
real_server 10.0.0.3 80 {} }
virtual_server 10.0.0.x 80 { real_server 10.0.0.3 80 {} }
virtual_server 10.0.0.9 80 { lb_algo nope
real_server 10.0.0.3 80 {} }
`, nil)
	if len(cfg.Services) != 2 {
		t.Errorf("%d services, want 2", len(cfg.Services))
	}
	wantNote(t, notes, ":4: virtual_server 10.0.0.1 80: not carried over (the same service as virtual_server 10.0.0.1 80)")
	wantNote(t, notes, "virtual_server 10.0.0.x 80: not carried over (not an address and port)")
	wantNote(t, notes, "lb_algo: unknown scheduler \"nope\", ignored")
}

// svcCheck imports a virtual server of one or more real servers, whose
// blocks are given, and returns its check.
func svcCheck(t *testing.T, rs ...string) (*director.Check, []Note) {
	t.Helper()
	src := "virtual_server 10.0.0.1 80 {\n protocol TCP\n delay_loop 10\n"
	for i, r := range rs {
		src += " real_server 10.0.0." + string(rune('2'+i)) + " 80 {\n" + r + "\n }\n"
	}
	cfg, notes := imp(t, src+"}\n", nil)
	return cfg.Services[0].Check, notes
}

func TestChecks(t *testing.T) {
	// keepalived's defaults: retry 1, delay_before_retry 1s.
	base := director.Check{Interval: 10 * time.Second, Timeout: 5 * time.Second, Jitter: 10 * time.Second, Rise: 1, Fall: 2, RetryDelay: time.Second, OnFailure: director.Remove}
	with := func(f func(*director.Check)) *director.Check { c := base; f(&c); return &c }
	for _, tc := range []struct {
		name, rs string
		want     *director.Check
		notes    [][]string
	}{
		{"tcp", `TCP_CHECK { connect_port 80
connect_timeout 1.5
retry 4
warmup 0
bindto 10.0.0.99 }`, with(func(c *director.Check) {
			c.Spec, c.Timeout, c.Fall, c.Jitter = &check.TCP{}, 1500*time.Millisecond, 5, 0
		}), [][]string{{"bindto: not carried over"}}},
		{"http", `virtualhost rs.example
HTTP_GET {
  url { path /a?b=1
    status_code 200-202 301
    digest ABCDEF0123456789abcdef0123456789 }
  connect_port 8080
  nb_get_retry 2
  delay_before_retry 3 }`, with(func(c *director.Check) {
			c.Spec = &check.HTTP{Path: "/a?b=1", Status: []int{200, 201, 202, 301}, Digest: "abcdef0123456789abcdef0123456789", Host: "rs.example"}
			c.Port, c.Fall, c.RetryDelay = 8080, 3, 3*time.Second
		}), nil},
		{"http default delay_before_retry", `HTTP_GET { url { path / } }`, with(func(c *director.Check) {
			c.Spec, c.RetryDelay = &check.HTTP{Path: "/", Status: statuses2xx()}, 3*time.Second // keepalived's HTTP default
		}), nil},
		{"tcp delay_before_retry", `TCP_CHECK { retry 2
delay_before_retry 0.25 }`, with(func(c *director.Check) {
			c.Spec, c.Fall, c.RetryDelay = &check.TCP{}, 3, 250*time.Millisecond
		}), nil},
		{"tcp delay_before_retry 0", `TCP_CHECK { delay_before_retry 0 }`, with(func(c *director.Check) {
			c.Spec, c.RetryDelay = &check.TCP{}, time.Millisecond
		}), [][]string{{"delay_before_retry: 0 carried as retryDelay 1ms"}}},
		{"tcp delay_before_retry of the real server", `delay_before_retry 2
TCP_CHECK { }`, with(func(c *director.Check) {
			c.Spec, c.RetryDelay = &check.TCP{}, 2*time.Second
		}), nil},
		{"tcp delay_before_retry too long", `TCP_CHECK { delay_before_retry 100000 }`, with(func(c *director.Check) {
			c.Spec, c.RetryDelay = &check.TCP{}, director.MaxCheckInterval
		}), [][]string{{"delay_before_retry: 27h46m40s carried as 24h0m0s, the longest retryDelay"}}},
		{"tcp delay_before_retry of the interval", `TCP_CHECK { delay_before_retry 10 }`, with(func(c *director.Check) {
			c.Spec, c.RetryDelay = &check.TCP{}, 0 // the same as retrying at the interval
		}), nil},
		{"https", `SSL_GET { url { path /
virtualhost url.example }
sni_name sni.example }`, with(func(c *director.Check) {
			s := &check.HTTPS{HTTP: check.HTTP{Path: "/", Host: "url.example"}, TLS: check.TLS{ServerName: "sni.example", Insecure: true}}
			for v := 200; v < 300; v++ {
				s.Status = append(s.Status, v)
			}
			c.Spec, c.RetryDelay = s, 3*time.Second
		}), [][]string{{"SSL_GET: certificates are not verified"}}},
		{"misc", `MISC_CHECK { misc_path "/usr/bin/check -x 'a b'"
misc_timeout 3
misc_dynamic }`, with(func(c *director.Check) {
			c.Spec, c.Timeout, c.Fall, c.RetryDelay = &check.Command{Argv: []string{"/usr/bin/check", "-x", "a b"}}, 3*time.Second, 1, 0
		}), [][]string{{"misc_dynamic: not carried over"}}},
		{"misc timeout too long", `MISC_CHECK { misc_path /bin/true
misc_timeout 7200 }`, with(func(c *director.Check) {
			c.Spec, c.Timeout, c.Fall, c.RetryDelay = &check.Command{Argv: []string{"/bin/true"}}, check.MaxTimeout, 1, 0
		}), [][]string{{"MISC_CHECK: its timeout, 2h0m0s, carried as 5m0s: the longest a director check runs"}}},
		{"dns", `DNS_CHECK { type aaaa
name example.org }`, with(func(c *director.Check) {
			// keepalived's DNS_CHECK retries at delay_loop: no retryDelay.
			c.Spec, c.Fall, c.RetryDelay = &check.DNS{QueryType: "AAAA", Query: "example.org"}, 4, 0
		}), nil},
		{"dns defaults", `DNS_CHECK { }`, with(func(c *director.Check) {
			c.Spec, c.Fall, c.RetryDelay = &check.DNS{QueryType: "SOA", Query: "."}, 4, 0
		}), nil},
		{"smtp hosts", `SMTP_CHECK {
helo_name mx.example
host { connect_ip 10.0.0.2
connect_port 587 }
host { connect_ip 10.9.9.9 } }`, with(func(c *director.Check) {
			c.Spec, c.Port = &check.SMTP{Helo: "mx.example"}, 587
		}), [][]string{{"host: not carried over (its connect_ip is not the real server's address"}}},
		{"smtp default helo", `SMTP_CHECK { connect_ip 10.0.0.7 }`, with(func(c *director.Check) {
			c.Spec = &check.SMTP{Helo: "smtpchecker.keepalived.org"}
		}), [][]string{{"connect_ip: not carried over"}}},
		{"udp", `UDP_CHECK { payload 68656c6c6f
require_reply 6f6b }`, with(func(c *director.Check) {
			c.Spec = &check.UDP{Send: "hello", Expect: "ok"}
		}), nil},
		{"udp without reply", `UDP_CHECK { }`, with(func(c *director.Check) { c.Spec = &check.UDP{} }),
			[][]string{{"needs a reply"}}},
		{"icmp", `PING_CHECK { retry 0 }`, with(func(c *director.Check) { c.Spec, c.Fall, c.RetryDelay = &check.ICMP{}, 1, 0 }), nil},
		{"file without its track_file", `FILE_CHECK { track_file f }`, nil, [][]string{{"FILE_CHECK: not carried over (track_file f not found"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, notes := svcCheck(t, tc.rs)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("check\n got %+v\nwant %+v\nnotes:\n%s", got, tc.want, notesText(notes))
			}
			for _, n := range tc.notes {
				wantNote(t, notes, n...)
			}
		})
	}
}

func TestChecksDiffer(t *testing.T) {
	same, notes := svcCheck(t, "TCP_CHECK { connect_port 81 }", "TCP_CHECK { connect_port 81 }")
	if same == nil || same.Port != 81 || hasNote(notes, "differ") {
		t.Errorf("same checkers: %+v\n%s", same, notesText(notes))
	}
	// Checkers that differ, several on one real server, and none on a
	// third: each real server's own checks, as keepalived runs them.
	cfg, notes := imp(t, `virtual_server 10.0.0.1 80 {
 protocol TCP
 delay_loop 10
 real_server 10.0.0.2 80 {
  TCP_CHECK { connect_port 81 }
  PING_CHECK {}
 }
 real_server 10.0.0.3 80 { TCP_CHECK { connect_port 82 } }
 real_server 10.0.0.4 80 { }
}
`, nil)
	s := cfg.Services[0]
	types := func(cs []director.Check) (out []string) {
		for _, c := range cs {
			out = append(out, fmt.Sprintf("%s:%d", c.Spec.Type(), c.Port))
		}
		return out
	}
	if s.Check != nil || s.Checks != nil {
		t.Errorf("service checks %+v %+v, want none", s.Check, s.Checks)
	}
	for i, want := range [][]string{{"tcp:81", "icmp:0"}, {"tcp:82"}, nil} {
		if got := types(s.RealServers[i].Checks); !slices.Equal(got, want) {
			t.Errorf("real server %d's checks %v, want %v", i, got, want)
		}
	}
	if hasNote(notes, "differ") || hasNote(notes, "checker") {
		t.Errorf("a note on checkers, all carried:\n%s", notesText(notes))
	}
	// Several checkers alike on every real server: the service's checks.
	cfg, _ = imp(t, `virtual_server 10.0.0.1 80 {
 protocol TCP
 real_server 10.0.0.2 80 { TCP_CHECK { }
  PING_CHECK { } }
 real_server 10.0.0.3 80 { TCP_CHECK { }
  PING_CHECK { } }
}
`, nil)
	s = cfg.Services[0]
	if got := types(s.Checks); s.Check != nil || !slices.Equal(got, []string{"tcp:0", "icmp:0"}) || s.RealServers[0].Checks != nil || s.RealServers[1].Checks != nil {
		t.Errorf("checks %v (check %+v), want the service's tcp and icmp", got, s.Check)
	}
}

// TestURLs: every url of an HTTP_GET is a check of its own, as keepalived
// GETs every one.
func TestURLs(t *testing.T) {
	cfg, notes := imp(t, `virtual_server 10.0.0.1 80 {
 protocol TCP
 real_server 10.0.0.2 80 {
  HTTP_GET {
   url { path /a
    status_code 200 }
   url { digest 0123 }
   url { path /b }
   virtualhost rs.example
   connect_port 8080
  }
 }
}
`, nil)
	s := cfg.Services[0]
	if len(s.Checks) != 2 {
		t.Fatalf("checks %+v, want one per url with a path\n%s", s.Checks, notesText(notes))
	}
	for i, want := range []check.HTTP{{Path: "/a", Status: []int{200}, Host: "rs.example"}, {Path: "/b", Host: "rs.example"}} {
		got, ok := s.Checks[i].Spec.(*check.HTTP)
		if !ok || got.Path != want.Path || got.Host != want.Host || s.Checks[i].Port != 8080 || want.Status != nil && !slices.Equal(got.Status, want.Status) {
			t.Errorf("check %d: %+v (%+v), want %+v at port 8080", i, s.Checks[i], got, want)
		}
	}
	wantNote(t, notes, "HTTP_GET: its 2 urls are 2 checks")
	wantNote(t, notes, "url: not carried over (no path")
}

// TestSMTPHosts: every host of an SMTP_CHECK after the first is a
// checker of its own in keepalived, and a check of its own here.
func TestSMTPHosts(t *testing.T) {
	cfg, notes := imp(t, `virtual_server 10.0.0.1 25 {
 protocol TCP
 real_server 10.0.0.2 25 {
  connect_timeout 4
  SMTP_CHECK {
   host { connect_port 2525 }
   host { connect_ip 10.0.0.2
    connect_timeout 9 }
   host { connect_port 587 }
  }
 }
}
`, nil)
	s := cfg.Services[0]
	if len(s.Checks) != 3 {
		t.Fatalf("checks %+v, want one per host\n%s", s.Checks, notesText(notes))
	}
	for i, want := range []struct {
		port    uint16
		timeout time.Duration
	}{{2525, 4 * time.Second}, {0, 9 * time.Second}, {587, 4 * time.Second}} {
		if c := s.Checks[i]; c.Spec.Type() != "smtp" || c.Port != want.port || c.Timeout != want.timeout {
			t.Errorf("check %d: %+v, want smtp at port %d, timeout %v", i, c, want.port, want.timeout)
		}
	}
}

// TestFileCheck: FILE_CHECK and its track_file as the file kind, with
// keepalived's weight readings.
func TestFileCheck(t *testing.T) {
	cfg, notes := imp(t, `track_file drain {
 file /run/lvs/drain
 weight 0
 init_file 0 overwrite
}
track_file rs2 {
 file /run/lvs/rs2
}
track_file unused {
 file /run/lvs/unused
}
virtual_server 10.0.0.1 80 {
 protocol TCP
 real_server 10.0.0.2 80 {
  TCP_CHECK { }
  FILE_CHECK { track_file drain }
 }
 real_server 10.0.0.3 80 {
  FILE_CHECK { track_file rs2 }
  FILE_CHECK {
   track_file drain
   weight 0 reverse
  }
 }
}
`, nil)
	s := cfg.Services[0]
	file := func(c director.Check) check.File {
		f, _ := c.Spec.(*check.File)
		if f == nil || c.Interval != time.Second || c.Rise != 1 || c.Fall != 1 {
			t.Errorf("check %+v, want a file check every second, rise and fall 1", c)
			return check.File{}
		}
		return *f
	}
	rs1, rs2 := s.RealServers[0].Checks, s.RealServers[1].Checks
	if len(rs1) != 2 || rs1[0].Spec.Type() != "tcp" || file(rs1[1]) != (check.File{Path: "/run/lvs/drain", Healthy: "zero"}) {
		t.Errorf("rs1's checks %+v", rs1)
	}
	if len(rs2) != 2 || file(rs2[0]) != (check.File{Path: "/run/lvs/rs2", Weight: 1}) || file(rs2[1]) != (check.File{Path: "/run/lvs/drain"}) {
		t.Errorf("rs2's checks %+v", rs2)
	}
	wantNote(t, notes, "init_file: not carried over (the director's file check never writes the file")
	wantNote(t, notes, "track_file unused: not carried over (no FILE_CHECK carried over uses it")
	wantNote(t, notes, "FILE_CHECK", "weight 1: keepalived adds the file's number times 1")
	wantNote(t, notes, "read every second")
	wantNote(t, notes, "reverse with weight 0: keepalived acts on the file's changes only")
	if hasNote(notes, "track_file drain: not carried") || hasNote(notes, "track_file rs2: not carried") {
		t.Errorf("a used track_file noted as not carried:\n%s", notesText(notes))
	}
}

// selfSigned writes a certificate and its key, PEM, into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestSSLCA(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	cfg, notes := imp(t, `SSL { ca `+cert+`
certificate `+cert+`
key `+key+` }
virtual_server 10.0.0.1 443 { protocol TCP
real_server 10.0.0.2 443 { SSL_GET { url { path / } } } }`, nil)
	c := cfg.Services[0].Check
	if c == nil {
		t.Fatalf("no check:\n%s", notesText(notes))
	}
	// keepalived loads the ca but never verifies: neither does the check.
	if s, ok := c.Spec.(*check.HTTPS); !ok || s.CAFile != "" || !s.Insecure || s.CertFile != cert || s.KeyFile != key {
		t.Errorf("check %+v", c)
	}
	wantNote(t, notes, "not verified (insecure: true)", "to verify, set the check's caFile: "+cert+" and remove insecure")
}

// TestSSLCertWithoutKey: an SSL block with a certificate and no key keeps
// the SSL_GET checks (without a client certificate), with a note.
func TestSSLCertWithoutKey(t *testing.T) {
	cert, _ := selfSigned(t, t.TempDir())
	cfg, notes := imp(t, `SSL {
 certificate `+cert+`
}
virtual_server 10.0.0.1 443 {
 protocol TCP
 real_server 10.0.0.2 443 {
  SSL_GET {
   url {
    path /
   }
  }
 }
}`, nil)
	c := cfg.Services[0].Check
	if c == nil {
		t.Fatalf("the check was dropped:\n%s", notesText(notes))
	}
	if s, ok := c.Spec.(*check.HTTPS); !ok || s.CertFile != "" || s.KeyFile != "" || !s.Insecure || s.Path != "/" {
		t.Errorf("check %+v", c.Spec)
	}
	wantNote(t, notes, "SSL_GET", "client certificate is not carried over", "the check is kept")
}

func TestConfigIDAndDefinitions(t *testing.T) {
	src := `$VIP=10.0.0.1
@a $PORT=80
@^a $PORT=81
virtual_server ${VIP} $PORT { protocol TCP
real_server 10.0.0.2 $PORT {} }`
	cfg, _ := imp(t, src, &Options{ConfigID: "a"})
	if a := cfg.Services[0].Address; a != ap("10.0.0.1:80") {
		t.Errorf("with -i a: %v", a)
	}
	cfg, notes := imp(t, src, nil)
	if a := cfg.Services[0].Address; a != ap("10.0.0.1:81") {
		t.Errorf("without: %v", a)
	}
	wantNote(t, notes, "keepalived.conf:2: @a: line skipped")
}

func TestNoteString(t *testing.T) {
	n := Note{File: "keepalived.conf", Line: 42, Block: "virtual_server 10.0.0.1 80", Option: "alpha", Reason: "not carried over (x)"}
	if got, want := n.String(), "keepalived.conf:42: virtual_server 10.0.0.1 80: alpha: not carried over (x)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// statuses2xx is keepalived's default status_code: any 2xx.
func statuses2xx() []int {
	var s []int
	for v := 200; v < 300; v++ {
		s = append(s, v)
	}
	return s
}
