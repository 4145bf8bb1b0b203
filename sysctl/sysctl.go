package sysctl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Config says which network namespace a Sysctl works in. A nil *Config (or
// NetNS 0) means the caller's.
type Config struct {
	// NetNS is an open file descriptor of a network namespace; the Sysctl
	// keeps its own duplicate.
	NetNS int
}

// Sysctl reads and writes keys in one network namespace. It is safe for
// concurrent use, but Apply and Restore are not atomic against other writers.
type Sysctl struct {
	netns int
}

// New returns a Sysctl for cfg's namespace. Close releases it.
func New(cfg *Config) (*Sysctl, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	fd, err := dupNS(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	return &Sysctl{netns: fd}, nil
}

// Close releases the namespace reference. Using s after Close fails, except
// for the caller's namespace (NetNS 0); a second Close does nothing.
func (s *Sysctl) Close() error {
	fd := s.netns
	if fd <= 0 {
		return nil
	}
	s.netns = -1
	return closeNS(fd)
}

// Get reads a key's value, without the trailing newline. A key the kernel
// does not have gives an error matching fs.ErrNotExist.
func (s *Sysctl) Get(k Key) (string, error) {
	path, err := k.Path()
	if err != nil {
		return "", err
	}
	v, err := s.read(path)
	if err != nil {
		return "", &Error{Op: "read", Key: k, Err: err}
	}
	return strings.TrimRight(v, "\n"), nil
}

// GetInt reads a key holding one integer.
func (s *Sysctl) GetInt(k Key) (int, error) {
	v, err := s.Get(k)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, &Error{Op: "read", Key: k, Err: fmt.Errorf("not an integer: %q", v)}
	}
	return n, nil
}

// Set writes a key. A value the kernel refuses gives its error, with the
// key and value in the message.
func (s *Sysctl) Set(k Key, value string) error {
	path, err := k.Path()
	if err != nil {
		return err
	}
	if strings.ContainsRune(value, 0) {
		return &ValidationError{Key: k, Value: true, Reason: "contains NUL"}
	}
	if err := s.write(path, value); err != nil {
		return &Error{Op: "write", Key: k, Value: value, Err: err}
	}
	return nil
}

// SetInt writes an integer.
func (s *Sysctl) SetInt(k Key, v int) error { return s.Set(k, strconv.Itoa(v)) }

// Snapshot reads the current values of keys.
func (s *Sysctl) Snapshot(keys ...Key) (Snapshot, error) {
	snap := make(Snapshot, 0, len(keys))
	for _, k := range keys {
		v, err := s.Get(k)
		if err != nil {
			return nil, err
		}
		snap = append(snap, Setting{Key: k, Value: v})
	}
	return snap, nil
}

// Restore writes the snapshot's values back, last first. It tries every
// key and returns the errors joined.
func (s *Sysctl) Restore(snap Snapshot) error {
	var errs []error
	for i := len(snap) - 1; i >= 0; i-- {
		if err := s.Set(snap[i].Key, snap[i].Value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Apply writes settings in order as one change. Keys already at their value
// are not written. It first reads every key (an unknown key fails before
// anything is written); if a write fails, the keys written so far are put
// back and the error is returned. On success it returns the previous values
// of the keys it changed: Restore(undo) reverts exactly this Apply.
func (s *Sysctl) Apply(settings ...Setting) (undo Snapshot, err error) {
	for _, st := range settings {
		if _, err := st.Key.Path(); err != nil {
			return nil, err
		}
	}
	keys := make([]Key, len(settings))
	for i, st := range settings {
		keys[i] = st.Key
	}
	before, err := s.Snapshot(keys...)
	if err != nil {
		return nil, err
	}
	cur := make(map[Key]string, len(before)) // values as this Apply has left them so far
	for _, b := range before {
		cur[b.Key] = b.Value
	}
	for _, st := range settings {
		old := cur[st.Key]
		if same(old, st.Value) {
			continue
		}
		if err := s.Set(st.Key, st.Value); err != nil {
			if rerr := s.Restore(undo); rerr != nil {
				return nil, fmt.Errorf("%w (and putting back the keys already written failed: %v)", err, rerr)
			}
			return nil, err
		}
		undo = append(undo, Setting{Key: st.Key, Value: old})
		cur[st.Key] = st.Value
	}
	return undo, nil
}

// same compares values as the kernel prints them: fields separated by any
// white space.
func same(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}
