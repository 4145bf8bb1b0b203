package ipvs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"syscall"
)

// ErrInvalid is matched (errors.Is) by every validation error, a
// *ValidationError: the request was rejected before anything was sent to
// the kernel. The kernel's own EINVAL (an *Error: a destination address it
// has no route to, or a broadcast one) matches it too; errors.As with a
// *ValidationError tells the two apart.
var ErrInvalid = errors.New("ipvs: invalid argument")

// ErrNotAvailable means the kernel has no IPVS family: the ip_vs module is not
// loaded (modprobe ip_vs) or the kernel lacks it. errors.Is(err,
// fs.ErrNotExist) also holds for it.
var ErrNotAvailable error = notAvailable{}

type notAvailable struct{}

func (notAvailable) Error() string {
	return "ipvs: the kernel has no IPVS generic-netlink family (load the ip_vs module: modprobe ip_vs)"
}
func (notAvailable) Is(target error) bool { return target == fs.ErrNotExist }

// ValidationError describes input rejected before it reached the kernel.
type ValidationError struct {
	Field  string // e.g. "Service.Addr"
	Reason string
}

func (e *ValidationError) Error() string { return "ipvs: invalid " + e.Field + ": " + e.Reason }

// Is matches ErrInvalid and fs.ErrInvalid.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || target == fs.ErrInvalid
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Error is an error from the kernel (or the netlink socket) for one
// operation. Where the kernel refused an operation that names a service, a
// destination or a sync daemon (or never acknowledged such a change), the
// error names them, in its fields and its message:
//
//	ipvs: create destination 10.0.0.2:80 in tcp 10.0.0.1:80: no such service
//
// Errors of a whole call (the context ended, the socket failed, the client
// was closed) name only the operation.
type Error struct {
	Op string // e.g. "create service"
	// Service is the key of the service the operation named; the zero Key
	// if none.
	Service Key
	// Destination is the address of the destination the operation named;
	// the zero AddrPort if none.
	Destination netip.AddrPort
	// Daemon is the role of the sync daemon the operation named; zero if
	// none.
	Daemon SyncState
	Err    error // the underlying error; a syscall.Errno for kernel errors
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ipvs: ")
	b.WriteString(e.Op)
	if e.Daemon != 0 {
		b.WriteString(" " + e.Daemon.String())
	}
	if e.Destination.IsValid() {
		b.WriteString(" " + e.Destination.String())
		if e.Service != (Key{}) {
			b.WriteString(" in")
		}
	}
	if e.Service != (Key{}) {
		if t, err := e.Service.MarshalText(); err == nil {
			b.WriteString(" " + string(t))
		} else {
			b.WriteString(" " + e.Service.String())
		}
	}
	b.WriteString(": ")
	b.WriteString(e.reason())
	return b.String()
}

// reason is the kernel's errno said of what the operation named (IPVS's
// ESRCH reads "no such process" otherwise), or the underlying error's own
// message.
func (e *Error) reason() string {
	errno, ok := e.Err.(syscall.Errno)
	if !ok {
		return e.Err.Error()
	}
	switch {
	case errno == syscall.ESRCH && e.Daemon != 0:
		return "no such sync daemon"
	case errno == syscall.ESRCH && e.Service != (Key{}):
		return "no such service"
	case errno == syscall.ENOENT && e.Destination.IsValid():
		return "no such destination"
	case errno == syscall.ENODEV && e.Daemon != 0:
		return "no such interface"
	case errno == syscall.EEXIST && e.Daemon != 0:
		return "sync daemon already running"
	case errno == syscall.EEXIST && e.Destination.IsValid():
		return "destination already exists"
	case errno == syscall.EEXIST && e.Service != (Key{}):
		return "service already exists"
	}
	return errno.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Is maps IPVS's errnos: ESRCH (no such service, or no sync daemon of
// that role), ENOENT (no such destination) and ENODEV (no such interface
// for a sync daemon) match fs.ErrNotExist, EEXIST matches fs.ErrExist,
// EINVAL (the kernel refused the input) matches ErrInvalid and
// fs.ErrInvalid. The errno itself matches too (errors.Is(err,
// syscall.ESRCH)).
func (e *Error) Is(target error) bool {
	var errno syscall.Errno
	if !errors.As(e.Err, &errno) {
		return false
	}
	switch target {
	case fs.ErrNotExist:
		return errno == syscall.ESRCH || errno == syscall.ENOENT || errno == syscall.ENODEV
	case fs.ErrExist:
		return errno == syscall.EEXIST
	case fs.ErrPermission:
		return errno == syscall.EPERM || errno == syscall.EACCES
	case ErrInvalid, fs.ErrInvalid:
		return errno == syscall.EINVAL
	}
	return false
}

// subject is what an operation names, for its errors.
type subject struct {
	svc    Key
	dest   netip.AddrPort
	daemon SyncState
}

// err is the *Error of op about s.
func (s subject) err(op string, err error) *Error {
	return &Error{Op: op, Service: s.svc, Destination: s.dest, Daemon: s.daemon, Err: err}
}

// UnsupportedFeatureError is a change refused before anything was sent
// because it uses a kernel feature the running kernel lacks (see "Kernel
// features" in the package documentation): its own IPVS policy lacks the
// feature's attribute, or, where the kernel describes no policy, its
// release predates the feature. It matches errors.ErrUnsupported. Apply
// returns it in a *BatchError.
type UnsupportedFeatureError struct {
	Feature string // e.g. "GUE tunnel destinations"
	// MinRelease is the mainline Linux release that introduced the
	// feature, e.g. "5.2".
	MinRelease string
	// Release is the running kernel's release as the client read it
	// ("4.19"), where the release decided; empty where the kernel's policy
	// did.
	Release string
	// Attribute is the attribute the kernel's IPVS policy lacks (e.g.
	// "IPVS_DEST_ATTR_TUN_TYPE"), where the policy decided; empty where the
	// release did.
	Attribute string
	// Reason says more: where the policy decided, the command and nest it
	// lacks the attribute in; where the release did, why the policy did
	// not.
	Reason string
}

func (e *UnsupportedFeatureError) Error() string {
	var b strings.Builder
	if e.Attribute != "" {
		fmt.Fprintf(&b, "ipvs: %s need %s, which this kernel's IPVS policy lacks", e.Feature, e.Attribute)
	} else {
		fmt.Fprintf(&b, "ipvs: %s need Linux %s, this kernel is %s", e.Feature, e.MinRelease, e.Release)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	b.WriteString(": " + errors.ErrUnsupported.Error())
	return b.String()
}

// Is matches errors.ErrUnsupported.
func (e *UnsupportedFeatureError) Is(target error) bool { return target == errors.ErrUnsupported }

// moduleError is the kernel's ENOENT for a service whose scheduler (or
// persistence engine) it has no module for: it tried to load
// ip_vs_<scheduler> (ip_vs_pe_<engine>) and found none. It matches
// errors.ErrUnsupported and the errno (so fs.ErrNotExist too, through
// *Error).
type moduleError struct {
	scheduler Scheduler
	pe        string
	errno     error
}

func (e *moduleError) Error() string {
	if e.pe != "" {
		return fmt.Sprintf("scheduler %q or persistence engine %q is not available in this kernel (no module ip_vs_%s or ip_vs_pe_%s): %v",
			e.scheduler, e.pe, e.scheduler, e.pe, e.errno)
	}
	return fmt.Sprintf("scheduler %q is not available in this kernel (no module ip_vs_%s): %v", e.scheduler, e.scheduler, e.errno)
}

func (e *moduleError) Unwrap() []error { return []error{e.errno, errors.ErrUnsupported} }
