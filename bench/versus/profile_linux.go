package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/internal/netnsx"
)

// pprofAddr is where lvs-director serves its profiles in the guest (in
// the lb namespace) when -profile is given.
const pprofAddr = "127.0.0.1:9129"

// The guest hands each profile to the host in its console output: a line
// "@@versus-file NAME", the file in base64 lines, "@@versus-end".
const (
	fileStart = "@@versus-file "
	fileEnd   = "@@versus-end"
)

// emitFile writes data to the console for the host's fileSink.
func emitFile(name string, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString(fileStart + name + "\n")
	for len(enc) > 0 {
		n := min(len(enc), 76)
		b.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	b.WriteString(fileEnd + "\n")
	os.Stdout.WriteString(b.String())
}

// fileSink passes the console to out but for the files the guest emits,
// which it writes into dir.
type fileSink struct {
	out  io.Writer
	dir  string
	mu   sync.Mutex
	part []byte          // an incomplete line
	name string          // the file being received, if any
	data strings.Builder // its base64
}

func (s *fileSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.part = append(s.part, p...)
	for {
		i := bytes.IndexByte(s.part, '\n')
		if i < 0 {
			break
		}
		s.line(string(s.part[:i]))
		s.part = s.part[i+1:]
	}
	return len(p), nil
}

func (s *fileSink) line(l string) {
	switch {
	case strings.HasPrefix(l, fileStart):
		s.name = filepath.Base(strings.TrimSpace(strings.TrimPrefix(l, fileStart)))
		s.data.Reset()
	case s.name != "" && l == fileEnd:
		data, err := base64.StdEncoding.DecodeString(s.data.String())
		path := filepath.Join(s.dir, s.name)
		if err == nil {
			err = os.WriteFile(path, data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(s.out, "versus: profile %s: %v\n", s.name, err)
		} else {
			fmt.Fprintf(s.out, "versus: wrote %s (%d bytes)\n", path, len(data))
		}
		s.name = ""
	case s.name != "":
		s.data.WriteString(strings.TrimSpace(l))
	default:
		fmt.Fprintln(s.out, l)
	}
}

// profiling reports whether this run takes lvs-director's profiles.
func (b *bench) profiling() bool { return b.o.profile != "" && b.kind == "lvs-director" }

// fetchProfile reads one of the director's profiles (a path under
// /debug/pprof/), from the lb namespace, bounded in time and size.
func (b *bench) fetchProfile(path string, limit time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var data []byte
	// The transport dials from a goroutine of its own: each dial enters
	// the lb namespace.
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = netnsx.Do(int(b.lb.NS()), func() error {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+"/debug/pprof/"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", path, resp.Status)
	}
	return data, err
}

// smaps sums /proc/PID/smaps_rollup over the daemon's process tree: what
// its RSS is made of (anonymous memory, the files it maps).
func (b *bench) smaps() string {
	sum := map[string]int64{}
	var keys []string
	for _, pid := range b.tree() {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(io.LimitReader(f, 1<<16))
		for sc.Scan() {
			var k string
			var kb int64
			if n, _ := fmt.Sscanf(sc.Text(), "%s %d kB", &k, &kb); n == 2 {
				if _, ok := sum[k]; !ok {
					keys = append(keys, k)
				}
				sum[k] += kb
			}
		}
		f.Close()
	}
	var out []string
	// The mappings over 1 MB resident, each with its size and what it is.
	for _, pid := range b.tree() {
		data, err := readAtMost(fmt.Sprintf("/proc/%d/smaps", pid), 16<<20)
		if err != nil {
			continue
		}
		var head string
		for _, l := range strings.Split(string(data), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) >= 5 && strings.Contains(f[0], "-"):
				head = l
			case len(f) == 3 && f[0] == "Rss:":
				if kb, _ := strconv.ParseInt(f[1], 10, 64); kb >= 1024 {
					out = append(out, fmt.Sprintf("[%d kB: %s]", kb, head))
				}
			}
		}
	}
	for _, k := range keys {
		switch k {
		case "Rss:", "Pss_Anon:", "Pss_File:", "Anonymous:", "AnonHugePages:", "Private_Clean:", "Private_Dirty:", "Shared_Clean:":
			out = append(out, fmt.Sprintf("%s %d kB", k, sum[k]))
		}
	}
	return strings.Join(out, ", ")
}

// profileStart runs lvs-director once more with -cpuprofile, from start to
// a complete table, and emits the profile as start-N.pprof.
func profileStart(o *options, n int) error {
	b := &bench{o: o, n: n, kind: "lvs-director"}
	defer b.close()
	if err := b.setup(); err != nil {
		return err
	}
	path := filepath.Join(b.dir, "start.pprof")
	if err := b.startWith("-cpuprofile", path); err != nil {
		return err
	}
	started := time.Now()
	complete, err := b.waitComplete(10 * time.Minute)
	if err != nil {
		return fmt.Errorf("complete table: %w", err)
	}
	syscall.Kill(b.cmd.Process.Pid, syscall.SIGTERM)
	b.cmd.Wait()
	if o.verbose {
		fmt.Printf("--- the profiled start (started %s, table complete %s, %v):\n%s\n", started.Format("15:04:05.000"),
			complete.Format("15:04:05.000"), complete.Sub(started).Round(time.Millisecond), firstLines(b.out.String(), 30))
	}
	b.cmd = nil
	data, err := readAtMost(path, 64<<20)
	if err != nil {
		return err
	}
	emitFile(fmt.Sprintf("start-%d.pprof", n), data)
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
