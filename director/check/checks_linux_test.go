package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestTCPCheck(t *testing.T) {
	ns, d := probeNS(t)
	open := netip.MustParseAddrPort(listenTCP(t, ns).Addr().String())
	closed := closedPort(t, ns, "tcp")
	if err := runCheck(t, d, TCP{}, open); err != nil {
		t.Errorf("open port: %v", err)
	}
	if err := runCheck(t, d, TCP{}, closed); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed port: %v, want connection refused", err)
	}
}

func TestUDPCheck(t *testing.T) {
	ns, d := probeNS(t)
	srv := listenUDP(t, ns)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			if msg := string(buf[:n]); msg != "silent" {
				srv.WriteTo([]byte("pong: "+msg), from)
			}
		}
	}()
	rs := netip.MustParseAddrPort(srv.LocalAddr().String())
	for _, tc := range []struct {
		name string
		spec Spec
		err  string
	}{
		{"reply", UDP{Send: "ping"}, ""},
		{"empty datagram", UDP{}, ""},
		{"expected reply", UDP{Send: "ping", Expect: "pong: ping"}, ""},
		{"wrong reply", UDP{Send: "ping", Expect: "PONG"}, `reply "pong: ping" does not contain "PONG"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCheck(t, d, tc.spec, rs)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("probe: %v, want healthy", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("probe: %v, want an error with %q", err, tc.err)
			}
		})
	}
	t.Run("no reply", func(t *testing.T) {
		start := time.Now()
		err := runCheckWithin(t, d, UDP{Send: "silent"}, rs, 300*time.Millisecond)
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "no reply") {
			t.Errorf("probe: %v, want no reply", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 5*time.Second {
			t.Errorf("took %v, want about the 300ms timeout", took)
		}
	})
	t.Run("port unreachable", func(t *testing.T) {
		start := time.Now()
		err := runCheckWithin(t, d, UDP{Send: "ping"}, closedPort(t, ns, "udp"), 10*time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("probe: %v, want connection refused", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v: the ICMP error should end the check at once", took)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		chk, err := UDP{Send: "silent"}.Compile()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		if err := chk.Check(ctx, d, rs); err == nil || time.Since(start) > 10*time.Second {
			t.Errorf("cancelled probe: %v after %v", err, time.Since(start))
		}
	})
}

// TestCommandCheck: the command runs inside the director's namespace with
// the real server's address and port in its environment.
func TestCommandCheck(t *testing.T) {
	ns, d := probeNS(t)
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`test "$LVS_RS_ADDR" = 127.0.0.1 && test "$LVS_RS_PORT" = 9 && test "$(readlink /proc/self/ns/net)" = "net:[%d]"`, st.Ino)
	rs := netip.MustParseAddrPort("127.0.0.1:7")
	if err := runCheck(t, d, Command{Argv: []string{"/bin/sh", "-c", script}}, netip.MustParseAddrPort("127.0.0.1:9")); err != nil {
		t.Errorf("command in the namespace: %v", err)
	}
	if err := runCheck(t, d, Command{Argv: []string{"/bin/sh", "-c", "exit 3"}}, rs); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("failing command: %v", err)
	}
	if err := runCheck(t, d, Command{Argv: []string{"/nonexistent/check"}}, rs); err == nil {
		t.Error("missing command: healthy")
	}
}

// TestCommandCheckKillsTheGroup: a command that outlives its timeout is
// killed with everything it started, and the check ends soon after.
func TestCommandCheckKillsTheGroup(t *testing.T) {
	_, d := probeNS(t)
	// A sleep of a length no other process has: its command line finds it.
	marker := fmt.Sprintf("%d.%05d", 30+os.Getpid()%1000, time.Now().UnixNano()%100000)
	start := time.Now()
	err := runCheckWithin(t, d, Command{Argv: []string{"/bin/sh", "-c", "sleep " + marker + " & sleep " + marker + "; wait"}},
		netip.MustParseAddrPort("127.0.0.1:1"), 300*time.Millisecond)
	if err == nil {
		t.Fatal("a command killed at its timeout counted as healthy")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the check took %v with a 300ms timeout", took)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", "sleep "+marker).Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the timed-out check still run: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCommandCheckLeavesNothing: a command that exits at once, healthy,
// leaving children in the background, one of them in a session of its own
// (setsid), has them killed when the check ends, well before its timeout.
func TestCommandCheckLeavesNothing(t *testing.T) {
	_, d := probeNS(t)
	setsid := needTool(t, "setsid")
	marker := fmt.Sprintf("%d.%05d", 40+os.Getpid()%1000, time.Now().UnixNano()%100000)
	script := fmt.Sprintf("sleep %s </dev/null >/dev/null 2>&1 & %s -f sleep %s </dev/null >/dev/null 2>&1 & exit 0", marker, setsid, marker)
	start := time.Now()
	if err := runCheckWithin(t, d, Command{Argv: []string{"/bin/sh", "-c", script}}, netip.MustParseAddrPort("127.0.0.1:1"), 30*time.Second); err != nil {
		t.Fatalf("a command that exits 0: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the check took %v", took)
	}
	// The check has returned: what the command started must be gone now.
	deadline := time.Now().Add(time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", "sleep "+marker).Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, pid := range strings.Fields(string(out)) {
				if n, err := strconv.Atoi(pid); err == nil {
					syscall.Kill(n, syscall.SIGKILL)
				}
			}
			t.Fatalf("processes the check's command started still run after the check: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDNSCheck: a dns check of a real dnsmasq in the test's namespace.
func TestDNSCheck(t *testing.T) {
	dnsmasq := needTool(t, "dnsmasq")
	ns, d := probeNS(t)
	rs := closedPort(t, ns, "udp")
	startIn(t, ns, func() error { return runCheck(t, d, DNS{Query: "svc.test"}, rs) },
		dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--port="+strconv.Itoa(int(rs.Port())), "--listen-address=127.0.0.1", "--bind-interfaces",
		"--address=/svc.test/10.1.2.3", "--address=/gone.test/",
		"--local=/rec.test/", "--host-record=www.rec.test,10.1.2.4,2001:db8::5", "--cname=alias.rec.test,www.rec.test",
		"--txt-record=txt.rec.test,hello world", "--mx-host=rec.test,mail.rec.test,10")
	for _, tc := range []struct {
		name string
		spec Spec
		err  string
	}{
		{"A", DNS{Query: "svc.test"}, ""},
		{"A answer", DNS{Query: "svc.test", Answer: "10.1.2.3"}, ""},
		{"A wrong answer", DNS{Query: "svc.test", Answer: "10.1.2.4"}, `svc.test. A: no record holds "10.1.2.4" (the answer has ["10.1.2.3"])`},
		{"NXDOMAIN", DNS{Query: "gone.test"}, "gone.test. A: rcode NXDOMAIN, want NOERROR"},
		{"NXDOMAIN expected", DNS{Query: "gone.test", Rcode: "nxdomain"}, ""},
		{"NOERROR, NXDOMAIN expected", DNS{Query: "svc.test", Rcode: "NXDOMAIN"}, "rcode NOERROR, want NXDOMAIN"},
		{"REFUSED expected", DNS{Query: "elsewhere.example", Rcode: "REFUSED"}, ""},
		{"AAAA answer", DNS{Query: "www.rec.test", QueryType: "AAAA", Answer: "2001:db8:0::5"}, ""},
		{"AAAA wrong answer", DNS{Query: "www.rec.test", QueryType: "AAAA", Answer: "2001:db8::6"}, "no record holds"},
		{"A through a CNAME", DNS{Query: "alias.rec.test", Answer: "10.1.2.4"}, ""},
		{"CNAME answer", DNS{Query: "alias.rec.test", QueryType: "CNAME", Answer: "WWW.rec.test"}, ""},
		{"CNAME wrong answer", DNS{Query: "alias.rec.test", QueryType: "CNAME", Answer: "other.rec.test."}, `(the answer has ["www.rec.test."])`},
		{"TXT answer", DNS{Query: "txt.rec.test", QueryType: "TXT", Answer: "hello world"}, ""},
		{"TXT wrong answer", DNS{Query: "txt.rec.test", QueryType: "TXT", Answer: "hello"}, `no record holds "hello"`},
		{"MX answer", DNS{Query: "rec.test", QueryType: "MX", Answer: "mail.rec.test."}, ""},
		{"no record of the type", DNS{Query: "www.rec.test", QueryType: "MX", Answer: "mail.rec.test"}, "no record holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkWant(t, d, tc.spec, rs, tc.err)
		})
	}
	t.Run("port unreachable", func(t *testing.T) {
		err := checkWant(t, d, DNS{Query: "svc.test"}, closedPort(t, ns, "udp"), "connection refused")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%v is not ECONNREFUSED", err)
		}
	})
	t.Run("hanging", func(t *testing.T) {
		checkHangs(t, d, DNS{Query: "svc.test"}, netip.MustParseAddrPort(listenUDP(t, ns).LocalAddr().String()))
	})
}

// TestICMPCheck: pings inside the test's namespace: its loopback
// answers; a blackholed address fails at once, one on a link where
// nothing answers at the timeout.
func TestICMPCheck(t *testing.T) {
	ns, d := probeNS(t)
	runIn(t, ns, "ip", "route", "add", "blackhole", "10.9.9.9/32")
	// 10.9.8.0/24 is on a veth whose other end, in the same namespace,
	// has no address: nothing answers there.
	runIn(t, ns, "ip", "link", "add", "lvsq0", "type", "veth", "peer", "name", "lvsq1")
	runIn(t, ns, "ip", "link", "set", "lvsq1", "up")
	runIn(t, ns, "ip", "link", "set", "lvsq0", "up")
	runIn(t, ns, "ip", "addr", "add", "10.9.8.1/24", "dev", "lvsq0")
	icmp := ICMP{}
	checkWant(t, d, icmp, netip.MustParseAddrPort("127.0.0.1:0"), "")
	checkWant(t, d, icmp, netip.MustParseAddrPort("127.0.0.1:80"), "") // the port means nothing
	checkWant(t, d, icmp, netip.MustParseAddrPort("[::ffff:127.0.0.1]:0"), "")
	checkWant(t, d, icmp, netip.MustParseAddrPort("[::1]:0"), "")
	// Probes at once each take their own reply.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := runCheck(t, d, icmp, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%4)}), 0)); err != nil {
				t.Errorf("concurrent ping %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	t.Run("blackhole", func(t *testing.T) {
		start := time.Now()
		err := runCheckWithin(t, d, ICMP{}, netip.MustParseAddrPort("10.9.9.9:0"), 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "icmp 10.9.9.9") {
			t.Errorf("probe: %v, want an error with %q", err, "icmp 10.9.9.9")
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v: a blackholed address fails at once", took)
		}
	})
	t.Run("no reply", func(t *testing.T) {
		start := time.Now()
		err := runCheckWithin(t, d, ICMP{}, netip.MustParseAddrPort("10.9.8.2:0"), 300*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "icmp 10.9.8.2: no echo reply") {
			t.Errorf("probe: %v, want an error with %q", err, "icmp 10.9.8.2: no echo reply")
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v is not a timeout", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
			t.Errorf("took %v, want about the 300ms timeout", took)
		}
	})
}

// smtpServer is an SMTP server in the test: it sends banner, answers
// HELO with helo (never, if empty) and QUIT with 221, and records the
// commands it gets.
func smtpServer(t *testing.T, ns netns.NsHandle, banner, helo string) (netip.AddrPort, <-chan string) {
	l := listenTCP(t, ns)
	got := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, banner)
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					got <- line
					switch {
					case strings.HasPrefix(line, "HELO ") && helo != "":
						io.WriteString(c, helo)
					case line == "QUIT":
						io.WriteString(c, "221 bye\r\n")
						return
					}
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(l.Addr().String()), got
}

// TestSMTPCheck: an smtp check of servers in the test: a multi-line
// banner, HELO, a refusal, none listening and one that never answers.
func TestSMTPCheck(t *testing.T) {
	ns, d := probeNS(t)
	const banner = "220-mail.test ESMTP\r\n220-no UCE\r\n220 ready\r\n"
	ok, okGot := smtpServer(t, ns, banner, "250 mail.test\r\n")
	commands := func(got <-chan string, n int) []string {
		var cmds []string
		for range n {
			select {
			case c := <-got:
				cmds = append(cmds, c)
			case <-time.After(5 * time.Second):
				return cmds
			}
		}
		return cmds
	}
	checkWant(t, d, SMTP{}, ok, "")
	if cmds := commands(okGot, 1); !slices.Equal(cmds, []string{"QUIT"}) {
		t.Errorf("without helo the server got %q, want QUIT", cmds)
	}
	checkWant(t, d, SMTP{Helo: "checker.test"}, ok, "")
	if cmds := commands(okGot, 2); !slices.Equal(cmds, []string{"HELO checker.test", "QUIT"}) {
		t.Errorf("with helo the server got %q", cmds)
	}
	refusing, _ := smtpServer(t, ns, "554 mail.test no service\r\n", "")
	checkWant(t, d, SMTP{}, refusing, "banner: 554 \"mail.test no service\"")
	rude, _ := smtpServer(t, ns, banner, "501 who are you\r\n")
	checkWant(t, d, SMTP{}, rude, "")
	checkWant(t, d, SMTP{Helo: "checker.test"}, rude, "HELO: 501 \"who are you\"")
	checkWant(t, d, SMTP{}, closedPort(t, ns, "tcp"), "connection refused")
	t.Run("hanging", func(t *testing.T) {
		checkHangs(t, d, SMTP{}, netip.MustParseAddrPort(listenTCP(t, ns).Addr().String()))
	})
	t.Run("no answer to HELO", func(t *testing.T) {
		silent, _ := smtpServer(t, ns, banner, "")
		checkHangs(t, d, SMTP{Helo: "checker.test"}, silent)
	})
}

// TestSMTPCheckBounded: a banner that never ends, in one line or in
// continuation lines, fails the check at its bound (before, the check
// read it whole: GiBs of heap).
func TestSMTPCheckBounded(t *testing.T) {
	ns, d := probeNS(t)
	for _, tc := range []struct{ name, prefix, chunk string }{
		{"endless banner line", "220 ", "x"},
		{"endless continuation lines", "", "220-more\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := listenTCP(t, ns)
			endlessServer(t, l, tc.prefix, tc.chunk)
			boundedRead(t, d, SMTP{}, netip.MustParseAddrPort(l.Addr().String()))
		})
	}
	t.Run("endless answer to HELO", func(t *testing.T) {
		l := listenTCP(t, ns)
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "220 ready\r\n")
			if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
				return
			}
			buf := bytes.Repeat([]byte("250-more\r\n"), 1<<12)
			for sent := 0; sent < 256<<20; sent += len(buf) {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
		boundedRead(t, d, SMTP{Helo: "checker.test"}, netip.MustParseAddrPort(l.Addr().String()))
	})
}

// TestCommandCheckStderr: a failed command's error has the start of its
// standard error, however much it writes; a command that succeeds is
// healthy whatever it writes.
func TestCommandCheckStderr(t *testing.T) {
	_, d := probeNS(t)
	rs := netip.MustParseAddrPort("127.0.0.1:1")
	err := runCheck(t, d, Command{Argv: []string{"/bin/sh", "-c", "echo no backend >&2; exit 4"}}, rs)
	if err == nil || !strings.Contains(err.Error(), `exit status 4 (stderr: "no backend")`) {
		t.Errorf("probe: %v, want the exit status and the stderr", err)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Errorf("%v does not wrap the *exec.ExitError", err)
	}
	// 64 MiB of stderr: 512 bytes of it are kept.
	err = runCheck(t, d, Command{Argv: []string{"/bin/sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' x >&2; exit 1"}}, rs)
	if err == nil || !strings.Contains(err.Error(), `(stderr: "`+strings.Repeat("x", commandStderr)+`")`) {
		t.Errorf("probe: %.200v..., want the first %d bytes of stderr", err, commandStderr)
	}
	if err := runCheck(t, d, Command{Argv: []string{"/bin/sh", "-c", "echo chatty >&2; echo out"}}, rs); err != nil {
		t.Errorf("a command that exits 0: %v", err)
	}
}

// TestLocal: the caller's own namespace is the Local Env's (here the
// test's, entered on the calling thread).
func TestLocal(t *testing.T) {
	ns, _ := probeNS(t)
	l := listenTCP(t, ns)
	rs := netip.MustParseAddrPort(l.Addr().String())
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`test "$(readlink /proc/self/ns/net)" = "net:[%d]"`, st.Ino)
	for _, spec := range []Spec{TCP{}, Command{Argv: []string{"/bin/sh", "-c", script}}, ICMP{}} {
		chk, err := spec.Compile()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = nstest.Do(ns, func() error { return chk.Check(ctx, Local{}, rs) })
		cancel()
		if err != nil {
			t.Errorf("%s check from Local: %v", spec.Type(), err)
		}
	}
}
