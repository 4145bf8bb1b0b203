package directortest

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/lvs-go/lvs/director"
)

// Links is an in-memory namespace's network links and their addresses, as
// director.Links manages them. NewLinks has the loopback link of a fresh
// namespace; AddLink adds others (a test's veth or bridge). It is safe for
// concurrent use.
type Links struct {
	mu    sync.Mutex
	links map[string]*link
	calls map[string]int
	fail  func(op, name string) error
}

type link struct {
	kind  string
	up    bool
	addrs []netip.Prefix
}

var _ director.Links = (*Links)(nil)

// NewLinks returns Links with a namespace's "lo", down, without
// addresses, as a new namespace has it.
func NewLinks() *Links {
	return &Links{links: map[string]*link{"lo": {}}}
}

// AddLink gives the namespace a link of kind (empty for a device without
// one), up or down, with addresses (for a test's setup; it counts no call).
func (l *Links) AddLink(name, kind string, up bool, addrs ...netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.links == nil {
		l.links = map[string]*link{}
	}
	l.links[name] = &link{kind: kind, up: up, addrs: slices.Clone(addrs)}
}

// State returns a link as it is and its addresses; false if there is no
// such link.
func (l *Links) State(name string) (director.Link, []netip.Prefix, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.links[name]
	if !ok {
		return director.Link{}, nil, false
	}
	return director.Link{Name: name, Kind: k.kind, Up: k.up}, slices.Clone(k.addrs), true
}

// Names returns the links' names, sorted.
func (l *Links) Names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.links))
}

// Fail makes every later call for which fn returns an error fail with
// that error; op is the method's name. nil fn removes the fault.
func (l *Links) Fail(fn func(op, name string) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = fn
}

// Calls returns how many times each method was called.
func (l *Links) Calls() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.calls)
}

// enter counts a call and runs the faults and the context's check; l.mu
// is held.
func (l *Links) enter(ctx context.Context, op, name string) error {
	if l.calls == nil {
		l.calls = map[string]int{}
	}
	l.calls[op]++
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.fail != nil {
		return l.fail(op, name)
	}
	return nil
}

// find returns the named link; l.mu is held.
func (l *Links) find(name string) (*link, error) {
	k, ok := l.links[name]
	if !ok {
		return nil, fmt.Errorf("interface %s: %w", name, fs.ErrNotExist)
	}
	return k, nil
}

// Link returns the named link.
func (l *Links) Link(ctx context.Context, name string) (director.Link, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "Link", name); err != nil {
		return director.Link{}, err
	}
	k, err := l.find(name)
	if err != nil {
		return director.Link{}, err
	}
	return director.Link{Name: name, Kind: k.kind, Up: k.up}, nil
}

// AddDummy creates a dummy link, down; an existing name is EEXIST, as
// the kernel answers.
func (l *Links) AddDummy(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "AddDummy", name); err != nil {
		return err
	}
	if _, ok := l.links[name]; ok {
		return fmt.Errorf("interface %s: %w", name, syscall.EEXIST)
	}
	if l.links == nil {
		l.links = map[string]*link{}
	}
	l.links[name] = &link{kind: "dummy"}
	return nil
}

// DeleteLink deletes the named link; none is not an error.
func (l *Links) DeleteLink(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "DeleteLink", name); err != nil {
		return err
	}
	delete(l.links, name)
	return nil
}

// SetUp brings the named link up.
func (l *Links) SetUp(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "SetUp", name); err != nil {
		return err
	}
	k, err := l.find(name)
	if err != nil {
		return err
	}
	k.up = true
	return nil
}

// Addrs returns the link's addresses in the order they were added.
func (l *Links) Addrs(ctx context.Context, name string) ([]netip.Prefix, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "Addrs", name); err != nil {
		return nil, err
	}
	k, err := l.find(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(k.addrs), nil
}

// AddAddr adds an address; one the link has already is EEXIST, as the
// kernel answers.
func (l *Links) AddAddr(ctx context.Context, name string, p netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "AddAddr", name); err != nil {
		return err
	}
	k, err := l.find(name)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(k.addrs, func(x netip.Prefix) bool { return x.Addr() == p.Addr() }) {
		return fmt.Errorf("address %v on %s: %w", p, name, syscall.EEXIST)
	}
	k.addrs = append(k.addrs, p)
	return nil
}

// DelAddr removes an address; one the link does not have, or no link, is
// not an error.
func (l *Links) DelAddr(ctx context.Context, name string, p netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.enter(ctx, "DelAddr", name); err != nil {
		return err
	}
	if k, ok := l.links[name]; ok {
		k.addrs = slices.DeleteFunc(k.addrs, func(x netip.Prefix) bool { return x == p })
	}
	return nil
}

// SetLinkUp brings a link up or down (a test's cable pulled or plugged
// back; it counts no call); false if there is no such link.
func (l *Links) SetLinkUp(name string, up bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.links[name]
	if ok {
		k.up = up
	}
	return ok
}
