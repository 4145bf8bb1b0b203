package sysctl

import (
	"context"
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
// does not have gives an error matching fs.ErrNotExist; a bad key gives a
// *ValidationError (matching ErrInvalid and fs.ErrInvalid). If ctx is done
// it returns ctx.Err() and reads nothing.
func (s *Sysctl) Get(ctx context.Context, k Key) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return s.get(k)
}

func (s *Sysctl) get(k Key) (string, error) {
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

// GetInt reads a key holding one integer; errors as for Get, and a read
// *Error if the value is not one integer.
func (s *Sysctl) GetInt(ctx context.Context, k Key) (int, error) {
	v, err := s.Get(ctx, k)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, &Error{Op: "read", Key: k, Err: fmt.Errorf("not an integer: %q", v)}
	}
	return n, nil
}

// Set writes a key. A bad key or a value containing NUL gives a
// *ValidationError before anything is written; a value the kernel refuses
// gives its error, with the key and value in the message. If ctx is done it
// returns ctx.Err() and writes nothing.
func (s *Sysctl) Set(ctx context.Context, k Key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.set(k, value)
}

func (s *Sysctl) set(k Key, value string) error {
	path, err := validate(Setting{Key: k, Value: value})
	if err != nil {
		return err
	}
	if err := s.write(path, value); err != nil {
		return &Error{Op: "write", Key: k, Value: value, Err: err}
	}
	return nil
}

// validate checks a setting without touching the kernel and returns the
// key's path.
func validate(st Setting) (string, error) {
	path, err := st.Key.Path()
	if err != nil {
		return "", err
	}
	if strings.ContainsRune(st.Value, 0) {
		return "", &ValidationError{Key: st.Key, Value: true, Reason: "contains NUL"}
	}
	return path, nil
}

// SetInt writes an integer; errors as for Set.
func (s *Sysctl) SetInt(ctx context.Context, k Key, v int) error {
	return s.Set(ctx, k, strconv.Itoa(v))
}

// Snapshot reads the current values of keys. It stops at the first key it
// cannot read and returns that error, or ctx.Err() if ctx ends before a
// key.
func (s *Sysctl) Snapshot(ctx context.Context, keys ...Key) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap := make(Snapshot, 0, len(keys))
	for _, k := range keys {
		v, err := s.Get(ctx, k) // checks ctx before each key
		if err != nil {
			return nil, err
		}
		snap = append(snap, Setting{Key: k, Value: v})
	}
	return snap, nil
}

// Restore writes the snapshot's values back, last first. A bad key or
// value anywhere in snap is a *ValidationError before anything is written.
// It tries every key and returns the errors joined. If ctx is done before it starts it
// returns ctx.Err() and writes nothing; if ctx ends between keys it stops
// there, leaving the earlier keys of snap as they are, and ctx.Err() is
// among the errors returned.
func (s *Sysctl) Restore(ctx context.Context, snap Snapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, st := range snap {
		if _, err := validate(st); err != nil {
			return err // before anything is written
		}
	}
	var errs []error
	for i := len(snap) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := s.set(snap[i].Key, snap[i].Value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Apply writes settings in order as one change. Keys already at their value
// are not written. It first checks every setting (a bad key or value gives a
// *ValidationError) and reads every key (an unknown key fails), before
// anything is written; if a write fails, or ctx ends between writes, the
// keys written so far are put back (whatever ctx) and the error, or
// ctx.Err(), is returned. On success it returns the previous values of the
// keys it changed: Restore(ctx, undo) reverts exactly this Apply.
func (s *Sysctl) Apply(ctx context.Context, settings ...Setting) (undo Snapshot, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, st := range settings {
		if _, err := validate(st); err != nil {
			return nil, err
		}
	}
	keys := make([]Key, len(settings))
	for i, st := range settings {
		keys[i] = st.Key
	}
	before, err := s.Snapshot(ctx, keys...)
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
		err := ctx.Err()
		if err == nil {
			err = s.set(st.Key, st.Value)
		}
		if err != nil {
			// The rollback runs to the end even though ctx is done.
			if rerr := s.Restore(context.WithoutCancel(ctx), undo); rerr != nil {
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
