package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"golang.org/x/net/html"
)

// pageConfig is a service of two real servers on loopback listeners the
// test opens and closes, checked by TCP every 200 ms, one failure
// enough.
func pageConfig(rs1, rs2 string) string {
	return fmt.Sprintf(`services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    scheduler: wrr
    check: {type: tcp, interval: 200ms, timeout: 200ms, rise: 1, fall: 1}
    realServers:
      - {address: %s, forward: nat, weight: 3}
      - {address: %s, forward: nat, weight: 2}
`, rs1, rs2)
}

// TestStatusPage loads the daemon's status page (-status-page) in a real
// browser, Debian's chromium headless, from a director on the fake kernel:
// the DOM shows the service, its real servers with their declared and
// effective weights and why they differ, their health, and the last
// reload's outcome, everything escaped; a real server that fails its
// check shows as failed, with the check's error, after one refresh of the
// page by itself; at 390 px wide (a phone) the page has no horizontal
// scroll, and its screenshot is saved.
func TestStatusPage(t *testing.T) {
	bin := chromium(t)
	ln1, ln2 := listenLoopback(t), listenLoopback(t)
	rs1, rs2 := netip.MustParseAddrPort(ln1.Addr().String()), netip.MustParseAddrPort(ln2.Addr().String())
	const refresh = 2 * time.Second
	dm, conf := fakeDaemon(t, pageConfig(rs1.String(), rs2.String()), func(dm *daemon) {
		dm.metricsAt, dm.statusPage, dm.pageRefresh = freeAddr(t), true, refresh
	})
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80")}.Key()
	ctx := context.Background()
	const reason = `canary <script>alert("x")</script>`
	if err := dm.d.SetWeight(ctx, svc, rs2, 5, reason); err != nil {
		t.Fatal(err)
	}
	// A reload of a broken file: refused, the running configuration kept.
	if err := os.WriteFile(conf, []byte("services: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newControlClient(dm.control).call("POST", "/v1/reload", nil, &reloadAnswer{}); err == nil {
		t.Fatal("the reload of a broken file was not refused")
	}
	pageURL := "http://" + dm.metricsAt + "/"

	doc := dumpDOM(t, bin, pageURL)
	service := findAttr(doc, "data-service", "TCP 10.0.0.8:80")
	if service == nil {
		t.Fatalf("no service TCP 10.0.0.8:80 on the page:\n%s", render(doc))
	}
	for _, want := range []struct {
		rs                       netip.AddrPort
		health, weight, declared string
		why                      string
	}{
		{rs1, "healthy", "3", "3", "—"},
		{rs2, "healthy", "5", "2", "weight 5 set by hand: " + reason},
	} {
		row := findAttr(service, "data-realserver", want.rs.String())
		if row == nil {
			t.Errorf("no row for real server %v:\n%s", want.rs, render(service))
			continue
		}
		got := [3]string{attr(row, "data-health"), attr(row, "data-weight"), attr(row, "data-declared")}
		if got != [3]string{want.health, want.weight, want.declared} {
			t.Errorf("%v: health, weight, declared %q, want %q", want.rs, got, [3]string{want.health, want.weight, want.declared})
		}
		if why := text(findAttr(row, "data-label", "Why")); why != want.why {
			t.Errorf("%v: why %q, want %q", want.rs, why, want.why)
		}
		if h := text(findAttr(row, "data-label", "Health")); !strings.Contains(h, "since ") {
			t.Errorf("%v: health %q says not since when", want.rs, h)
		}
	}
	if n := count(doc, "script"); n != 1 {
		t.Errorf("%d script elements, want the page's own only: the reason was not escaped?", n)
	}
	reload := findAttr(doc, "data-outcome", "failed")
	if reload == nil || !strings.Contains(text(reload), "refused") {
		t.Errorf("the last reload is not shown refused:\n%s", render(findAttr(doc, "id", "reload")))
	}

	// rs1's listener closes between the page's first load and its own
	// refresh (the proxy holds the refresh until the director has seen
	// the failure, and the page's shared read is stale): the refreshed
	// page shows rs1 failed, with the check's error.
	var mu sync.Mutex
	var loads []time.Time // when each load of the page was answered
	closeRS1 := sync.OnceFunc(func() {
		ln1.Close()
		failed := func() bool {
			for _, h := range dm.d.Status().RealServers {
				if h.Addr == rs1 {
					return !h.Healthy
				}
			}
			return false
		}
		for end := time.Now().Add(10 * time.Second); !failed(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Error("the director did not see rs1 fail within 10s") // the page's check below fails too
				break
			}
		}
		mu.Lock()
		first := loads[0]
		mu.Unlock()
		time.Sleep(time.Until(first.Add(pageMinRead))) // the first load's read is stale
	})
	target, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(loads) + 1
		mu.Unlock()
		if n == 2 {
			closeRS1()
		}
		proxy.ServeHTTP(w, r)
		mu.Lock()
		loads = append(loads, time.Now())
		mu.Unlock()
	})
	mux.HandleFunc("GET /probe", probePage("/"))
	mux.HandleFunc("GET /wide", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><meta name="viewport" content="width=device-width"><div style="width:600px">wide</div>`)
	})
	mux.HandleFunc("GET /wide/probe", probePage("/wide"))
	front := serveLoopback(t, mux)

	budget := refresh + refresh/2 // one refresh, not two
	doc = dumpDOM(t, bin, front+"/", "--virtual-time-budget="+strconv.Itoa(int(budget.Milliseconds())))
	mu.Lock()
	n := len(loads)
	mu.Unlock()
	if n != 2 {
		t.Errorf("the page was loaded %d times in %v, want 2: it did not refresh itself once", n, budget)
	}
	row := findAttr(doc, "data-realserver", rs1.String())
	if h := attr(row, "data-health"); h != "failed" {
		t.Errorf("after one refresh rs1 shows %q, want failed:\n%s", h, render(row))
	} else if h := text(findAttr(row, "data-label", "Health")); !strings.Contains(h, "refused") || !strings.Contains(h, "since ") {
		t.Errorf("rs1's health %q does not say why (the check's connection refused) and since when", h)
	}
	if why := text(findAttr(row, "data-label", "Why")); why != "failed its health check" {
		t.Errorf("rs1's why %q, want failed its health check", why)
	}

	// At 390 px wide: no horizontal scroll (the probe measures the page in
	// a 390 px frame; it does see a page that is too wide).
	for _, tc := range []struct {
		path string
		fits bool
	}{{"/probe", true}, {"/wide/probe", false}} {
		doc := dumpDOM(t, bin, front+tc.path, "--window-size=390,844", "--hide-scrollbars", "--virtual-time-budget=1000")
		body := findTag(doc, "body")
		sw, err1 := strconv.Atoi(attr(body, "data-scroll-width"))
		cw, err2 := strconv.Atoi(attr(body, "data-client-width"))
		if err1 != nil || err2 != nil || cw != 390 {
			t.Errorf("%s: no measure of the page at 390 px (scroll width %q, client width %q)", tc.path, attr(body, "data-scroll-width"), attr(body, "data-client-width"))
			continue
		}
		if fits := sw <= cw; fits != tc.fits {
			t.Errorf("%s at 390 px: scroll width %d, client width %d: fits %v, want %v", tc.path, sw, cw, fits, tc.fits)
		}
	}
	// The screenshots: a phone's, and a desktop's.
	for _, size := range [][2]int{{390, 844}, {1280, 900}} {
		shot := filepath.Join(artifactDir(t), fmt.Sprintf("status-page-%d.png", size[0]))
		runChromium(t, bin, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", size[0], size[1]), "--hide-scrollbars", pageURL)
		if w, err := pngWidth(shot); err != nil || w != size[0] {
			t.Errorf("the screenshot %s: %v, %d px wide, want a %d px PNG", shot, err, w, size[0])
		}
		t.Logf("screenshot of the status page at %d px wide: %s", size[0], shot)
	}
}

func pngWidth(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	return cfg.Width, err
}

// TestStatusPageFlag: -status-page without -metrics is refused in one
// line, exit status 2.
func TestStatusPageFlag(t *testing.T) {
	out, err := runCLI(t, "-config", "configs/nat.yaml", "-status-page")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "-status-page is served on the -metrics address") {
		t.Errorf("-status-page without -metrics: %v\n%s", err, out)
	}
}

// probePage serves a page that loads path in a frame 390 px wide and
// writes the framed page's scroll and client widths into its own body.
func probePage(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="%s" style="border:0;width:390px;height:844px"></iframe>
<script>
document.getElementById("f").addEventListener("load", function () {
	var e = this.contentDocument.documentElement;
	document.body.dataset.scrollWidth = e.scrollWidth;
	document.body.dataset.clientWidth = e.clientWidth;
});
</script></body></html>`, path)
	}
}

// chromium is Debian's chromium; the test skips without it, except under
// CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		msg := "no chromium to load the status page in (scripts/install-deps.sh installs Debian's chromium package)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: failing instead of skipping)")
		}
		t.Skip(msg)
	}
	return bin
}

// runChromium runs chromium headless with args for at most a minute, in
// a process group of its own that is killed after, and returns what it
// wrote on its standard output. It can reach loopback only: every other
// host resolves to nothing and goes to a proxy that is not there.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir=" + filepath.Join(home, "profile"), "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
		"--disable-extensions", "--disable-breakpad", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what it left behind
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// dumpDOM loads u in chromium and parses the DOM it ends with.
func dumpDOM(t *testing.T, bin, u string, args ...string) *html.Node {
	t.Helper()
	out := runChromium(t, bin, append(append([]string{"--dump-dom"}, args...), u)...)
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%s: the DOM: %v", u, err)
	}
	return doc
}

// artifactDir is where the test keeps its screenshot: go test -artifacts's
// directory for the test, else one under the temporary directory that
// stays after the test.
func artifactDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		if a, ok := any(t).(interface{ ArtifactDir() string }); ok {
			return a.ArtifactDir()
		}
	}
	dir := filepath.Join(os.TempDir(), "lvs-director-status-page")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listenLoopback is a listener on 127.0.0.1 that accepts and closes each
// connection, until the test ends or it is closed.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// serveLoopback serves h on 127.0.0.1 until the test ends and returns its
// URL.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// findAttr is the first element under n (n included) whose attribute key
// is val, or nil.
func findAttr(n *html.Node, key, val string) *html.Node {
	return find(n, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, key) == val })
}

func findTag(n *html.Node, tag string) *html.Node {
	return find(n, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag })
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := find(c, match); m != nil {
			return m
		}
	}
	return nil
}

func count(n *html.Node, tag string) int {
	k := 0
	if n.Type == html.ElementNode && n.Data == tag {
		k++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		k += count(c, tag)
	}
	return k
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is n's text, its runs of spaces made one.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func render(n *html.Node) string {
	if n == nil {
		return "(nothing)"
	}
	var b bytes.Buffer
	html.Render(&b, n)
	return b.String()
}
