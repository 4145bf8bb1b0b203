// Package labtest holds testing.TB helpers around package lab: a Lab that
// is closed when the test ends, and a check that it left nothing behind
// (namespaces, sockets, threads in foreign namespaces, host links).
package labtest

import (
	"testing"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/nstest"
)

// New returns an empty Lab that is closed when tb ends. It skips tb when
// the process may not create namespaces (see nstest.Privileged).
func New(tb testing.TB) *lab.Lab {
	tb.Helper()
	nstest.Privileged(tb)
	l, err := lab.New()
	if err != nil {
		tb.Skipf("labtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("labtest: close: %v", err)
		}
	})
	return l
}

// Build returns a Lab with s applied, closed when tb ends; it fails tb if s
// cannot be built.
func Build(tb testing.TB, s lab.Spec) *lab.Lab {
	tb.Helper()
	l := New(tb)
	if err := l.Apply(s); err != nil {
		tb.Fatalf("labtest: %v", err)
	}
	return l
}

// Host returns l's host called name, failing tb if there is none.
func Host(tb testing.TB, l *lab.Lab, name string) *lab.Host {
	tb.Helper()
	h := l.Host(name)
	if h == nil {
		tb.Fatalf("labtest: no host %q", name)
	}
	return h
}
