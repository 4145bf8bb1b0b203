package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
)

// Checks per second of the kinds that the director runs most (tcp,
// http, tls), against a server in a network namespace the benchmark
// creates: the server is another process (this test binary again, as
// TestBenchServer) so that the CPU the benchmark reports is the
// checker's alone. Each benchmark runs its checks from 32 goroutines, as
// the director's runner does, and reports checks/s (wall clock) and
// checks/cpu-s (checks per second of the checker's CPU, user and
// system: the rate one core sustains, whatever share of the machine the
// benchmark got). Run them on one core:
//
//	LVS_VMTEST=host go test ./director/check/ -run '^$' -bench . -cpu 1 -benchtime 5000x
//
// The "ns" benchmarks check through an Env that enters the namespace for
// each dial, as a director given Options.NetNS does. The "here" ones
// check with Local from the process's own namespace, as a director
// without Options.NetNS does; they run only in a namespace with nothing
// but lo:
//
//	go test -c -o /tmp/check.test ./director/check/
//	unshare -n sh -c 'ip link set lo up && LVS_VMTEST=host /tmp/check.test \
//	    -test.run "^$" -test.bench Checks -test.cpu 1 -test.benchtime 5000x'

// benchServerEnv names the kind TestBenchServer serves.
const benchServerEnv = "LVS_CHECK_BENCH_SERVER"

// TestBenchServer is the benchmarks' server when run by them (skipped
// otherwise): it serves the kind $LVS_CHECK_BENCH_SERVER names (tcp, http,
// or tls:CERTFILE:KEYFILE) on 127.0.0.1, prints its address, and ends
// when its standard input closes.
func TestBenchServer(t *testing.T) {
	kind, files, _ := strings.Cut(os.Getenv(benchServerEnv), ":")
	if kind == "" {
		t.Skip("run by the benchmarks")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	switch kind {
	case "tcp":
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	case "http":
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
		go srv.Serve(l)
	case "tls":
		certFile, keyFile, _ := strings.Cut(files, ":")
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					s := tls.Server(c, cfg)
					s.SetDeadline(time.Now().Add(5 * time.Second))
					if s.Handshake() == nil {
						io.Copy(io.Discard, s)
					}
				}()
			}
		}()
	default:
		t.Fatalf("no server for %q", kind)
	}
	os.Stdout.WriteString(l.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// benchServer starts the server of kind in ns and returns its address.
func benchServer(b *testing.B, ns netns.NsHandle, kind string, pki *testPKI) netip.AddrPort {
	if kind == "tls" {
		kind += ":" + pki.serverCert + ":" + pki.serverKey
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServer$")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+kind)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := nstest.Do(ns, cmd.Start); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("the %s server: %v", kind, err)
	}
	addr, err := netip.ParseAddrPort(strings.TrimSpace(line))
	if err != nil {
		b.Fatalf("the %s server: %q: %v", kind, line, err)
	}
	return addr
}

func BenchmarkChecks(b *testing.B) {
	pki := newTestPKI(b)
	for _, kind := range []struct {
		name string
		spec Spec
	}{
		{"tcp", TCP{}},
		{"http", HTTP{Path: "/", Status: []int{200}}},
		{"tls", TLS{CAFile: pki.caFile}},
	} {
		chk, err := kind.spec.Compile()
		if err != nil {
			b.Fatal(err)
		}
		for _, env := range []string{"ns", "here"} {
			b.Run(kind.name+"/"+env, func(b *testing.B) {
				var ns netns.NsHandle // this process's
				var e Env = Local{}
				if env == "ns" {
					ns = nstest.New(b)
					e = nsEnv{ns}
				} else if !nstest.OnlyLoopback(b) {
					b.Skip("run the process in a network namespace of its own (unshare -n) to check from it")
				}
				rs := benchServer(b, ns, kind.name, pki)
				b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
				start := nstest.CPUTime(b)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					for pb.Next() {
						cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
						err := chk.Check(cctx, e, rs)
						cancel()
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				cpu := nstest.CPUTime(b) - start
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "checks/cpu-s")
			})
		}
	}
}
