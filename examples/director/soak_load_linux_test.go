package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/ipvs"
)

// The soak's client requests go out from soakClientAddr, each from a port
// of its own (soakPorts in turn: a port is used again 40,000 requests
// later, over 20 minutes at the soak's rate, long after IPVS has forgotten
// its last connection), so that a failed request is found in the
// director's connection table by its client address: the table names the
// real server IPVS sent it to.
var soakClientAddr = netip.MustParseAddr("192.168.10.100")

const soakFirstPort, soakPorts = 20000, 40000

// flapLog records when the flapping real server's listener was down: a
// request that failed on it is excused only if it overlapped one of those
// windows.
type flapLog struct {
	mu   sync.Mutex
	down [][2]time.Time // [stopped, started again]; the second zero while down
}

func (f *flapLog) stopped(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = append(f.down, [2]time.Time{at})
}

func (f *flapLog) started(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.down); n > 0 && f.down[n-1][1].IsZero() {
		f.down[n-1][1] = at
	}
}

// downDuring reports whether the listener was down at some time between
// from and to.
func (f *flapLog) downDuring(from, to time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.down {
		if !w[0].After(to) && (w[1].IsZero() || !w[1].Before(from)) {
			return true
		}
	}
	return false
}

// soakTraffic is the client's side of the soak: workers requesting the VIP
// one new connection at a time, and what came of it.
type soakTraffic struct {
	client *lab.Host
	conns  *ipvs.Client // the director's namespace: its connection table
	vip    netip.AddrPort
	flap   netip.AddrPort // the flapping real server
	flaps  *flapLog
	http   *http.Client

	mu       sync.Mutex
	next     int            // the next client port, from soakFirstPort
	answers  map[string]int // by the answering real server's page
	excused  int            // failed on the flapping real server while it was down
	failures map[string]int // every other failure, by cause: none is allowed
	examples []string       // the first few of them, said in full
	bind     int            // client ports found in use (the request was retried from the next)
	cut      int            // requests cut short by the end of the soak
}

type portKey struct{}

func newSoakTraffic(client *lab.Host, conns *ipvs.Client, vip, flap netip.AddrPort, flaps *flapLog) *soakTraffic {
	tr := &soakTraffic{client: client, conns: conns, vip: vip, flap: flap, flaps: flaps,
		answers: map[string]int{}, failures: map[string]int{}}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		port, _ := ctx.Value(portKey{}).(int)
		d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: soakClientAddr.AsSlice(), Port: port}}
		var c net.Conn
		err := client.Do(func() error {
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	tr.http = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: dial}}
	return tr
}

// run makes requests until ctx ends, pausing pause after each.
func (tr *soakTraffic) run(ctx context.Context, pause time.Duration) {
	for ctx.Err() == nil {
		tr.one(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// one makes one request and accounts for it: an answer (by its page), a
// failure excused (on the flapping real server, while it was down), or a
// failure to count against the director (anything else, also one whose
// connection the director's table does not have).
func (tr *soakTraffic) one(ctx context.Context) {
	for range 3 {
		tr.mu.Lock()
		port := soakFirstPort + tr.next%soakPorts
		tr.next++
		tr.mu.Unlock()
		start := time.Now()
		body, err := tr.get(ctx, port)
		end := time.Now()
		switch {
		case err == nil:
			tr.mu.Lock()
			tr.answers[body]++
			tr.mu.Unlock()
			return
		case ctx.Err() != nil:
			tr.mu.Lock()
			tr.cut++
			tr.mu.Unlock()
			return
		case errors.Is(err, syscall.EADDRINUSE):
			tr.mu.Lock()
			tr.bind++
			tr.mu.Unlock()
			continue
		}
		dest, state, found := tr.lookup(ctx, netip.AddrPortFrom(soakClientAddr, uint16(port)))
		tr.mu.Lock()
		defer tr.mu.Unlock()
		var cause string
		switch {
		case !found:
			cause = "no connection in the director's table"
		case dest == tr.flap && tr.flaps.downDuring(start, end):
			tr.excused++
			return
		case dest == tr.flap:
			cause = "the flapping real server while it listened"
		default:
			cause = "real server " + dest.String()
		}
		tr.failures[cause]++
		if len(tr.examples) < 8 {
			tr.examples = append(tr.examples, fmt.Sprintf("%s from port %d (%s, connection %s) at %s after %v: %v",
				cause, port, tr.vip, state, start.Format("15:04:05.000"), end.Sub(start).Round(time.Millisecond), err))
		}
		return
	}
}

// get requests the VIP from the client's port.
func (tr *soakTraffic) get(ctx context.Context, port int) (string, error) {
	req, err := http.NewRequestWithContext(context.WithValue(ctx, portKey{}, port), http.MethodGet, "http://"+tr.vip.String()+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := tr.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("answered %s", resp.Status)
	}
	return string(b), nil
}

// lookup finds the director's connection entry of a client's request to
// the VIP (a refused connection stays in the table, CLOSE, for 10 s).
func (tr *soakTraffic) lookup(ctx context.Context, client netip.AddrPort) (dest netip.AddrPort, state string, found bool) {
	for c, err := range tr.conns.AllConnections(ctx) {
		if err != nil {
			return dest, "unread: " + err.Error(), false
		}
		if c.Client == client && c.Virtual == tr.vip {
			dest, state, found = c.Destination, c.State, true
		}
	}
	return dest, state, found
}

// totals returns the requests answered and the failures counted against
// the director.
func (tr *soakTraffic) totals() (answered, failed int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, n := range tr.answers {
		answered += n
	}
	for _, n := range tr.failures {
		failed += n
	}
	return answered, failed
}

// daemonOutput keeps the daemon's output (its first headMax bytes and its
// last tailLines lines) and watches every line for a data race report, a
// panic or a fatal runtime error.
type daemonOutput struct {
	mu      sync.Mutex
	partial []byte
	head    bytes.Buffer
	tail    []string
	lines   int
	bad     []string // the first lines that report a race, panic or fatal error
}

const headMax, tailLines = 16 << 10, 60

// badLine matches the first line of a race report, a panic and a fatal
// runtime error.
var badLine = regexp.MustCompile(`^(WARNING: DATA RACE|panic: |fatal error: )`)

func (o *daemonOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if room := headMax - o.head.Len(); room > 0 {
		o.head.Write(p[:min(room, len(p))])
	}
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		line := string(o.partial[:i])
		o.partial = o.partial[i+1:]
		o.lines++
		if badLine.MatchString(line) && len(o.bad) < 10 {
			o.bad = append(o.bad, line)
		}
		if o.tail = append(o.tail, line); len(o.tail) > tailLines {
			o.tail = o.tail[1:]
		}
	}
	return len(p), nil
}

func (o *daemonOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("%d lines; the first %d bytes:\n%s\n... the last %d lines:\n%s", o.lines, o.head.Len(), o.head.String(), len(o.tail), strings.Join(o.tail, "\n"))
}

func (o *daemonOutput) badLines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.bad)
}

// procSample is the daemon's process as the soak measures it: goroutines,
// open files, and its heap.
type procSample struct {
	goroutines int
	fds        []string // "N -> target" of /proc/PID/fd
	// heapGoal is go_memstats_next_gc_bytes: the heap size at which the
	// next GC starts, set by the last GC from the heap it found live (twice
	// it, GOGC being 100): a figure of the heap after a GC, which garbage
	// made since does not move. heapInuse (go_memstats_heap_inuse_bytes) is
	// the heap in use at the scrape, garbage included: shown, not judged.
	heapGoal, heapInuse float64
	gcs                 float64 // go_gc_duration_seconds_count: GCs so far
	openFDs             float64 // process_open_fds, as the daemon counts them
}

// readFDs lists the process's open files.
func readFDs(pid int) ([]string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		out = append(out, e.Name()+" -> "+target)
	}
	return out, nil
}

// metricValues reads the unlabelled samples named in names from a
// Prometheus text exposition; a name missing is an error.
func metricValues(body string, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out[name] = v
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("no metric %s", n)
		}
	}
	return out, nil
}

// newFDs lists the files of after that before does not have.
func newFDs(before, after []string) []string {
	var out []string
	for _, fd := range after {
		if !slices.Contains(before, fd) {
			out = append(out, fd)
		}
	}
	return out
}
