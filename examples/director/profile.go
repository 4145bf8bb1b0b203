package main

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	runpprof "runtime/pprof"
)

// servePprof serves Go's runtime profiles under /debug/pprof/ on mux
// (-pprof): the index, the CPU profile over ?seconds=N, the heap and the
// goroutines, as net/http/pprof serves them.
func servePprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// startCPUProfile starts a CPU profile written to path (-cpuprofile; a
// new file, mode 0600) and returns what stops it; nothing if path is
// empty.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := runpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() error {
		runpprof.StopCPUProfile()
		return f.Close()
	}, nil
}
