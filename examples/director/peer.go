package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"slices"
	"strconv"
)

// peer is who is at the other end of a control connection, as the kernel
// says (SO_PEERCRED), not as it claims.
type peer struct {
	pid, uid uint32
	groups   []uint32 // the primary group, then the supplementary ones
}

// untrustedServerError is a control socket answered by a process that is
// neither root nor the user running the command: anyone who could create
// the socket's path (a directory others can write) could be answering.
type untrustedServerError struct {
	uid, pid uint32
}

func (e *untrustedServerError) Error() string {
	return fmt.Sprintf("the control socket is served by uid %d (pid %d), not root: refusing to talk to it", e.uid, e.pid)
}

// checkServer refuses a control socket served by anyone but root or the
// user running the command.
func checkServer(c net.Conn) error {
	p, err := peerOf(c)
	if err != nil {
		return err
	}
	if p.uid != 0 && p.uid != uint32(os.Geteuid()) {
		return &untrustedServerError{p.uid, p.pid}
	}
	return nil
}

// controlAccess says who may use the control socket: root and the
// daemon's own user always; the members of change may also change the
// director (disable, enable, reload, weights...); the members of read may
// read its status.
type controlAccess struct {
	change, read []uint32 // group ids
}

// lookupGroups resolves group names (or numbers) to ids.
func lookupGroups(names ...string) ([]uint32, error) {
	var out []uint32
	for _, n := range names {
		if n == "" {
			continue
		}
		g, err := user.LookupGroup(n)
		if err != nil {
			if g, err = user.LookupGroupId(n); err != nil {
				return nil, fmt.Errorf("control socket: group %q: %w", n, err)
			}
		}
		id, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("control socket: group %q: id %q: %w", n, g.Gid, err)
		}
		out = append(out, uint32(id))
	}
	return out, nil
}

// open says whether the socket must be open to others (its mode 0666,
// each connection checked) rather than 0600.
func (a controlAccess) open() bool { return len(a.change)+len(a.read) > 0 }

// allows says whether p may read (change false) or change the director.
func (a controlAccess) allows(p peer, change bool) bool {
	if p.uid == 0 || p.uid == uint32(os.Geteuid()) {
		return true
	}
	in := func(gs []uint32) bool {
		return slices.ContainsFunc(p.groups, func(g uint32) bool { return slices.Contains(gs, g) })
	}
	return in(a.change) || !change && in(a.read)
}

type peerKey struct{}

// connContext keeps the connection's peer in its requests' contexts; a
// peer that cannot be known is kept as an error, and refused.
func connContext(ctx context.Context, c net.Conn) context.Context {
	p, err := peerOf(c)
	if err != nil {
		return context.WithValue(ctx, peerKey{}, err)
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// guard answers 403 to a request whose peer a does not allow; a GET reads,
// anything else changes.
func (a controlAccess) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		change := r.Method != http.MethodGet
		switch p := r.Context().Value(peerKey{}).(type) {
		case peer:
			if a.allows(p, change) {
				h.ServeHTTP(w, r)
				return
			}
			what := "read the status"
			if change {
				what = "change the director"
			}
			answerStatus(w, http.StatusForbidden, fmt.Errorf("permission denied: uid %d may not %s (see -control-group, -status-group)", p.uid, what))
		case error:
			answerStatus(w, http.StatusForbidden, p)
		default:
			answerStatus(w, http.StatusForbidden, fmt.Errorf("permission denied: unknown peer"))
		}
	})
}
