package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"syscall"
	"time"
)

// change is one request that alters the kernel's IPVS and is acknowledged:
// every single-change method is a batch of one, so that validation, the
// kernel feature check, encoding and the reading of the kernel's errors
// happen in one place for all of them.
type change struct {
	cmd  uint8
	svc  Service
	dest Destination
	// all is ZeroAll (no service attribute).
	all      bool
	timeouts Timeouts
	daemon   SyncDaemon
}

// changeKind is what the package knows of one kind of change. A new kind is
// one entry here.
type changeKind struct {
	op       string
	validate func(change) error
	features func(change) []*feature
	encode   func(*attrWriter, change)
	// refused, if set, explains the kernel's errno for the change, given
	// the attributes of its request.
	refused func(attrs []byte, errno error) error
}

var changeKinds = map[uint8]*changeKind{
	cmdNewService: {op: "create service", validate: validateService, encode: encodeService, refused: schedulerRefused},
	cmdSetService: {op: "update service", validate: validateService, encode: encodeService, refused: schedulerRefused},
	cmdDelService: {op: "delete service", validate: validateServiceKey, encode: encodeServiceKey},
	cmdNewDest:    {op: "create destination", validate: validateDest, features: destFeatures, encode: encodeDest},
	cmdSetDest:    {op: "update destination", validate: validateDest, features: destFeatures, encode: encodeDest},
	cmdDelDest:    {op: "delete destination", validate: validateDestKey, encode: encodeDestKey},
	cmdFlush:      {op: "flush"},
	cmdZero: {op: "zero",
		validate: func(ch change) error {
			if ch.all {
				return nil
			}
			return ch.svc.validateKey()
		},
		encode: func(ae *attrWriter, ch change) {
			if !ch.all {
				encodeServiceKey(ae, ch)
			}
		}},
	cmdSetConfig: {op: "set timeouts", validate: func(ch change) error { return ch.timeouts.validate() }, encode: encodeTimeouts},
	cmdNewDaemon: {op: "start sync daemon", validate: func(ch change) error { return ch.daemon.validate() },
		features: func(ch change) []*feature { return ch.daemon.features() },
		encode: func(ae *attrWriter, ch change) {
			ae.Nested(cmdAttrDaemon, func(nae *attrWriter) error { ch.daemon.encode(nae); return nil })
		}},
	cmdDelDaemon: {op: "stop sync daemon",
		validate: func(ch change) error {
			if s := ch.daemon.State; s != SyncMaster && s != SyncBackup {
				return invalid("SyncState", "%v is not master or backup", s)
			}
			return nil
		},
		encode: func(ae *attrWriter, ch change) {
			ae.Nested(cmdAttrDaemon, func(nae *attrWriter) error {
				nae.Uint32(daemonAttrState, uint32(ch.daemon.State))
				return nil
			})
		}},
}

func validateService(ch change) error    { return ch.svc.validate() }
func validateServiceKey(ch change) error { return ch.svc.validateKey() }
func destFeatures(ch change) []*feature  { return ch.dest.features() }

func validateDest(ch change) error {
	if err := ch.svc.validateKey(); err != nil {
		return err
	}
	return ch.dest.validate(ch.svc)
}

func validateDestKey(ch change) error {
	if err := ch.svc.validateKey(); err != nil {
		return err
	}
	if !ch.dest.Addr.Addr().IsValid() {
		return invalid("Destination.Addr", "no address")
	}
	return refuseMapped("Destination.Addr", ch.dest.Addr.Addr())
}

func encodeService(ae *attrWriter, ch change) {
	ae.Nested(cmdAttrService, func(nae *attrWriter) error { ch.svc.encode(nae); return nil })
}

func encodeServiceKey(ae *attrWriter, ch change) {
	ae.Nested(cmdAttrService, func(nae *attrWriter) error { ch.svc.encodeKey(nae); return nil })
}

func encodeDest(ae *attrWriter, ch change) {
	encodeServiceKey(ae, ch)
	ae.Nested(cmdAttrDest, func(nae *attrWriter) error { ch.dest.encode(nae, true); return nil })
}

func encodeDestKey(ae *attrWriter, ch change) {
	encodeServiceKey(ae, ch)
	ae.Nested(cmdAttrDest, func(nae *attrWriter) error { ch.dest.encode(nae, false); return nil })
}

func encodeTimeouts(ae *attrWriter, ch change) {
	for _, a := range []struct {
		typ uint16
		v   time.Duration
	}{{cmdAttrTimeoutTCP, ch.timeouts.TCP}, {cmdAttrTimeoutFin, ch.timeouts.TCPFin}, {cmdAttrTimeoutUDP, ch.timeouts.UDP}} {
		if a.v > 0 {
			ae.Uint32(a.typ, uint32(a.v/time.Second))
		}
	}
}

// maxTimeout is the longest connection timeout every kernel takes: it
// refuses more than INT_MAX/HZ seconds, and HZ is at most 1000.
const maxTimeout = (1<<31 - 1) / 1000 * time.Second

func (t Timeouts) validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TCP", t.TCP}, {"TCPFin", t.TCPFin}, {"UDP", t.UDP}} {
		if d.v < 0 || d.v%time.Second != 0 || d.v > maxTimeout {
			return invalid("Timeouts."+d.name, "%v is not a whole number of seconds up to %v", d.v, maxTimeout)
		}
	}
	return nil
}

// kind returns the change's kind; every cmd a change is built with has one.
func (ch change) kind() *changeKind { return changeKinds[ch.cmd] }

// op names the change in errors, e.g. "create service".
func (ch change) op() string { return ch.kind().op }

// encode appends the change's attributes to ae.
func (ch change) encode(ae *attrWriter) {
	if e := ch.kind().encode; e != nil {
		e(ae, ch)
	}
}

// apply is the one path of every change: the batch is checked (against
// the kernel's features too), then sent (in as few system calls as the
// socket allows) and one result per change is returned. A change that fails
// its check stops the batch before anything is sent, with a *BatchError.
func (c *Client) apply(ctx context.Context, b *Batch) ([]error, error) { return c.c.send(ctx, b) }

// do applies one change and returns its result: the batch path, with a
// batch of one that the client keeps.
func (c *Client) do(ctx context.Context, ch change) error { return c.c.do(ctx, ch) }

// changeError is the error of a batch of one: a *BatchError's own error.
func changeError(err error) error {
	if be, ok := err.(*BatchError); ok {
		return be.Err
	}
	return err
}

// attrs returns the attributes of change i's request.
func (b *Batch) attrs(i int) []byte {
	from := 0
	if i > 0 {
		from = int(b.entries[i-1].end)
	}
	return b.requests.b[from+nlmsgHeaderLen+genlHeaderLen : b.entries[i].end]
}

// kernelError is the error of change i, which the kernel refused with
// errno.
func (b *Batch) kernelError(i int, errno error) error {
	err := errno
	if refused := changeKinds[b.entries[i].cmd].refused; refused != nil {
		err = refused(b.attrs(i), errno)
	}
	return b.changeErr(i, err)
}

// changeErr is the *Error of change i, naming what the change names: read
// back from its request, so that queuing a change keeps nothing but its
// bytes (errors are rare; a batch is tens of thousands of changes).
func (b *Batch) changeErr(i int, err error) *Error {
	var subj subject
	attrs := b.attrs(i)
	if sb, e := nested(attrs, cmdAttrService); e == nil {
		if svc, e := parseService(sb); e == nil {
			subj.svc = svc.Key()
		}
	}
	if db, e := nested(attrs, cmdAttrDest); e == nil {
		if d, e := parseDest(db, subj.svc.Family); e == nil {
			subj.dest = d.Addr
		}
	}
	if db, e := nested(attrs, cmdAttrDaemon); e == nil {
		if d, e := parseDaemon(db); e == nil {
			subj.daemon = d.State
		}
	}
	return subj.err(b.op(i), err)
}

// schedulerRefused explains the kernel's ENOENT for a new or updated
// service: it has no module for the scheduler (it tried to load
// ip_vs_<name>), or for the persistence engine.
func schedulerRefused(attrs []byte, errno error) error {
	if !errors.Is(errno, syscall.ENOENT) {
		return errno
	}
	b, err := nested(attrs, cmdAttrService)
	if err != nil {
		return errno
	}
	svc, err := parseService(b)
	if err != nil {
		return errno
	}
	return &moduleError{scheduler: svc.Scheduler, pe: svc.PersistenceEngine, errno: errno}
}

// Netlink framing of requests (linux/netlink.h, linux/genetlink.h).
const (
	nlmsgHeaderLen = 16
	nlmRequest     = 0x1
	nlmAck         = 0x4
	ackFlags       = nlmRequest | nlmAck
)

// appendRequest appends one request to w: a netlink header whose type
// (the IPVS family) and sequence number stamp sets, the generic-netlink
// header with cmd, and the attributes encode writes. (w is the caller's,
// not a new writer, which escaping into encode would allocate.)
func appendRequest(w *attrWriter, cmd uint8, flags uint16, encode func(*attrWriter)) {
	start := len(w.b)
	w.b = append(w.b, make([]byte, nlmsgHeaderLen)...)
	binary.NativeEndian.PutUint16(w.b[start+6:], flags|nlmRequest)
	w.b = append(w.b, cmd, familyVersion, 0, 0) // struct genlmsghdr: cmd, version, reserved
	if encode != nil {
		encode(w)
	}
	binary.NativeEndian.PutUint32(w.b[start:], uint32(len(w.b)-start))
}

// stamp sets the type and sequence number of the request that starts b.
func stamp(b []byte, family uint16, seq uint32) {
	binary.NativeEndian.PutUint16(b[4:], family)
	binary.NativeEndian.PutUint32(b[8:], seq)
}

// setAck sets or clears NLM_F_ACK on the request that starts b: without
// it, the kernel answers the request only if it fails.
func setAck(b []byte, ack bool) {
	flags := binary.NativeEndian.Uint16(b[6:]) &^ nlmAck
	if ack {
		flags |= nlmAck
	}
	binary.NativeEndian.PutUint16(b[6:], flags)
}
