package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPprofServed: with -pprof the metrics mux serves Go's profiles; a heap
// profile and a one-second CPU profile come back as gzipped protobufs.
func TestPprofServed(t *testing.T) {
	mux := http.NewServeMux()
	servePprof(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/goroutine"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v", path, resp.Status, err)
		}
		if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
			t.Errorf("%s: not a gzipped profile (%d bytes): %v", path, len(body), err)
		}
	}
}

// TestCPUProfileFile: -cpuprofile writes a profile, owner-only, when
// stopped; a path that cannot be created is an error at once.
func TestCPUProfileFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1e6; i++ {
		_ = strings.Repeat("x", i%7)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("profile file: %v %v", st, err)
	}
	if _, err := startCPUProfile(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("a profile in a missing directory was accepted")
	}
}

// TestPprofFlag: -pprof without -metrics is refused in one line, exit
// status 2.
func TestPprofFlag(t *testing.T) {
	out, err := runCLI(t, "-config", "configs/nat.yaml", "-pprof")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "-pprof is served on the -metrics address") {
		t.Errorf("-pprof without -metrics: %v\n%s", err, out)
	}
}
