package ipvs

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/netlink"
)

// Batches are cut into chunks small enough that one sendmsg fits the
// socket's send buffer and the replies, which the kernel queues while it
// processes the whole sendmsg, fit the receive buffer even when every
// request fails (each error reply costs about 1 KiB of it; the default
// buffer is 208 KiB, doubled by the kernel when set). Only a chunk's last
// request asks for an acknowledgement: the others are answered only when
// they fail, which spares the kernel an acknowledgement to allocate and
// queue, and the client a read, per change.
const (
	batchMaxMessages = 128
	batchMaxBytes    = 96 << 10
)

// ErrUnacknowledged is matched by the result of a change that was sent but
// never acknowledged, because the socket failed or the context ended: it
// may or may not have been applied.
var ErrUnacknowledged = errors.New("ipvs: change sent, not acknowledged")

// send checks the batch and sends it in chunks, returning one result per
// change.
func (c *client) send(ctx context.Context, batch *Batch) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLocked(ctx, batch); err != nil {
		return nil, err
	}
	return c.sendLocked(ctx, batch, make([]error, batch.Len()))
}

// do applies one change through the batch path, with the client's own
// batch of one.
func (c *client) do(ctx context.Context, ch change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.one.Reset()
	c.one.add(ch)
	if err := c.checkLocked(ctx, &c.one); err != nil {
		return changeError(err)
	}
	results, err := c.sendLocked(ctx, &c.one, c.oneResult[:])
	if err != nil {
		return err
	}
	return results[0]
}

// checkLocked validates the batch and, if a change uses a feature newer
// than the oldest kernels, checks the kernel has it (with mu held): the
// first time, the kernel is asked (probeLocked).
func (c *client) checkLocked(ctx context.Context, batch *Batch) error {
	if err := batch.check(nil); err != nil || !batch.usesFeatures() {
		return err
	}
	if c.facts == nil {
		facts, err := c.probeLocked(ctx)
		if err != nil {
			return err
		}
		c.facts = facts
	}
	return batch.check(c.facts)
}

// probeLocked asks the generic-netlink controller for the IPVS family's
// policy (CTRL_CMD_GETPOLICY, a dump, on the client's own socket) and
// learns from it which attributes of the feature table the kernel parses.
// A kernel without the command (before 5.7: EOPNOTSUPP; EINVAL, ENODATA)
// leaves every feature to the release rule, as does a policy that
// describes a nest's attribute without its nested policy; other errors
// (ctx ended, the socket failed) are returned and the next change asks
// again.
func (c *client) probeLocked(ctx context.Context) (*kernelFacts, error) {
	var p policyDump
	// Every policy of the family, not one command's (CTRL_ATTR_OP is
	// 5.10+, and refused by the 5.7 to 5.9 kernels that have the dump).
	err := c.queryLocked(ctx, "read kernel policy", subject{}, genlIDCtrl, ctrlCmdGetPolicy, netlink.Dump,
		func(ae *attrWriter) { ae.Uint16(ctrlAttrFamilyID, c.family) },
		func() { p = policyDump{} },
		p.add)
	var errno syscall.Errno
	switch {
	case err == nil:
		return p.facts(c.kernel), nil
	case errors.As(err, &errno) && (errno == syscall.EOPNOTSUPP || errno == syscall.EINVAL || errno == syscall.ENODATA):
		return &kernelFacts{release: c.kernel, noPolicy: fmt.Sprintf("the kernel answers no IPVS policy: %v", errno)}, nil
	}
	return nil, err
}

// sendLocked sends batch (with mu held) and fills results, one per change.
func (c *client) sendLocked(ctx context.Context, batch *Batch, results []error) ([]error, error) {
	n := batch.Len()
	clear(results)
	op := "apply batch"
	if n == 1 {
		op = batch.op(0)
	}
	stop, err := c.watch(ctx)
	if err != nil {
		return nil, &Error{Op: op, Err: err} // nothing was sent
	}
	defer stop()
	var ackedBuf [batchMaxMessages]bool
	from := 0 // where the chunk's requests start
	for start := 0; start < n; {
		first := c.seq + 1
		end := start
		last := from // where the chunk's last request starts
		for off := from; end < n && end-start < batchMaxMessages && off-from < batchMaxBytes; end++ {
			c.seq++
			stamp(batch.requests.b[off:], c.family, c.seq)
			setAck(batch.requests.b[off:], false)
			last, off = off, int(batch.entries[end].end)
		}
		// Only the chunk's last request is acknowledged; the kernel
		// answers the others only if they fail (exchange).
		setAck(batch.requests.b[last:], true)
		to := int(batch.entries[end-1].end)
		acked := ackedBuf[:end-start]
		clear(acked)
		err := c.exchange(batch.requests.b[from:to], first, end-start, false, true, func(int, netlink.HeaderFlags, []byte) {}, func(i int, err error) {
			acked[i] = true
			if err != nil {
				results[start+i] = batch.kernelError(start+i, err)
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			for i := start; i < n; i++ {
				if i >= end || !acked[i-start] {
					results[i] = batch.changeErr(i, ErrUnacknowledged)
				}
			}
			return results, &Error{Op: op, Err: err}
		}
		start, from = end, to
	}
	return results, nil
}
