package directortest

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"strings"
	"sync"

	"github.com/lvs-go/lvs/sysctl"
)

// Sysctls is an in-memory namespace's /proc/sys: the keys it has, with
// their values. The zero value has no keys; NewSysctls has those of a
// fresh namespace with ip_vs loaded that a Director reads. It is safe for
// concurrent use.
type Sysctls struct {
	mu     sync.Mutex
	values map[sysctl.Key]string
	calls  map[string]int
	fail   func(op string, k sysctl.Key) error
}

// DefaultSysctls are the keys NewSysctls has, with a fresh namespace's
// values (Linux 6.1 with ip_vs loaded).
var DefaultSysctls = map[sysctl.Key]string{
	sysctl.IPv4Forward:                      "0",
	"net.ipv6.conf.all.forwarding":          "0",
	"net.ipv4.vs.conntrack":                 "0",
	"net.ipv4.vs.expire_nodest_conn":        "0",
	"net.ipv4.vs.expire_quiescent_template": "0",
	"net.ipv4.vs.conn_reuse_mode":           "1",
	"net.ipv4.vs.sloppy_tcp":                "0",
	"net.ipv4.vs.sloppy_sctp":               "0",
	"net.ipv4.vs.sync_refresh_period":       "0",
	"net.ipv4.vs.sync_threshold":            "3\t50",
	"net.ipv4.conf.all.arp_ignore":          "0",
	"net.ipv4.conf.all.arp_announce":        "0",
	"net.ipv4.conf.all.rp_filter":           "0",
}

// NewSysctls returns Sysctls with DefaultSysctls.
func NewSysctls() *Sysctls {
	return &Sysctls{values: maps.Clone(DefaultSysctls)}
}

// Set gives the namespace a key with a value (for a test's setup; it
// counts no call and fails never).
func (s *Sysctls) Set(k sysctl.Key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[sysctl.Key]string{}
	}
	s.values[k] = value
}

// Value returns a key's value as the kernel would print it, and whether
// the namespace has the key.
func (s *Sysctls) Value(k sysctl.Key) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[k]
	return v, ok
}

// Fail makes every later read ("get") or write ("set") of a key for which
// fn returns an error fail with that error; nil fn removes the fault.
func (s *Sysctls) Fail(fn func(op string, k sysctl.Key) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fn
}

// Calls returns how many times each method was called ("Get", "Apply",
// "Restore").
func (s *Sysctls) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

func (s *Sysctls) count(method string) {
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
}

// get reads k; s.mu is held.
func (s *Sysctls) get(k sysctl.Key) (string, error) {
	if _, err := k.Path(); err != nil {
		return "", err
	}
	if s.fail != nil {
		if err := s.fail("get", k); err != nil {
			return "", err
		}
	}
	v, ok := s.values[k]
	if !ok {
		return "", &sysctl.Error{Op: "read", Key: k, Err: fs.ErrNotExist}
	}
	return v, nil
}

// set writes k; s.mu is held. Like the kernel it refuses a key it does
// not have.
func (s *Sysctls) set(k sysctl.Key, value string) error {
	if s.fail != nil {
		if err := s.fail("set", k); err != nil {
			return err
		}
	}
	if _, ok := s.values[k]; !ok {
		return &sysctl.Error{Op: "write", Key: k, Value: value, Err: fs.ErrNotExist}
	}
	s.values[k] = strings.Join(strings.Fields(value), "\t")
	return nil
}

func validate(st sysctl.Setting) error {
	if _, err := st.Key.Path(); err != nil {
		return err
	}
	if strings.ContainsRune(st.Value, 0) {
		return &sysctl.ValidationError{Key: st.Key, Value: true, Reason: "contains NUL"}
	}
	return nil
}

// Get returns k's value, as *sysctl.Sysctl does.
func (s *Sysctls) Get(ctx context.Context, k sysctl.Key) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("Get")
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return s.get(k)
}

// Apply writes settings in order as one change, as *sysctl.Sysctl does:
// everything is checked and read first; a failed write puts back the
// keys written so far; the undo holds the previous values of the keys it
// changed.
func (s *Sysctls) Apply(ctx context.Context, settings ...sysctl.Setting) (sysctl.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("Apply")
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, st := range settings {
		if err := validate(st); err != nil {
			return nil, err
		}
	}
	cur := map[sysctl.Key]string{}
	for _, st := range settings {
		v, err := s.get(st.Key)
		if err != nil {
			return nil, err
		}
		cur[st.Key] = v
	}
	var undo sysctl.Snapshot
	for _, st := range settings {
		old := cur[st.Key]
		if strings.Join(strings.Fields(old), " ") == strings.Join(strings.Fields(st.Value), " ") {
			continue
		}
		if err := s.set(st.Key, st.Value); err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				s.values[undo[i].Key] = undo[i].Value
			}
			return nil, err
		}
		undo = append(undo, sysctl.Setting{Key: st.Key, Value: old})
		cur[st.Key] = st.Value
	}
	return undo, nil
}

// Restore writes snap back, last first, as *sysctl.Sysctl does.
func (s *Sysctls) Restore(ctx context.Context, snap sysctl.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count("Restore")
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, st := range snap {
		if err := validate(st); err != nil {
			return err
		}
	}
	var errs []error
	for i := len(snap) - 1; i >= 0; i-- {
		if err := s.set(snap[i].Key, snap[i].Value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
