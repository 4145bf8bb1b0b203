package ipvs

import (
	"context"
	"fmt"
	"slices"
)

// Batch collects changes to services and destinations so that Client.Apply
// can send many of them in each system call. The kernel applies each change
// on its own and Apply reports a result per change; the kernel answers only
// the changes that fail and the last of each system call, whose
// acknowledgement says every earlier change without an answer was applied.
// This is what makes loading tens of thousands of services fast.
//
// Each change is checked and encoded as it is queued, into one buffer of
// requests that Apply sends as it is: queuing a change costs its encoded
// size (about a hundred bytes), not a copy of its Service and Destination.
//
// The zero Batch is empty and ready to use. A Batch is not safe for
// concurrent use.
type Batch struct {
	// requests holds the changes' netlink requests one after another, each
	// framed but without the family and sequence number, which Apply sets.
	requests attrWriter
	entries  []batchEntry
	// checks are the changes that are invalid or use a feature newer than
	// the oldest kernels, in queuing order.
	checks []batchCheck
}

// batchEntry is one queued change: its command, and where its request ends.
type batchEntry struct {
	cmd uint8
	end uint32
}

type batchCheck struct {
	index    int
	err      error // the change is invalid (nothing is encoded)
	features []*feature
}

// Len is the number of changes queued.
func (b *Batch) Len() int { return len(b.entries) }

// changeSize is about what a change takes encoded: a destination's with
// its service's key, the largest of the common ones.
const changeSize = 144

// Grow makes room for n more changes, so that queuing them does not grow
// the batch's buffers step by step (a batch of tens of thousands would copy
// them a dozen times).
func (b *Batch) Grow(n int) {
	if n <= 0 {
		return
	}
	b.requests.b = slices.Grow(b.requests.b, n*changeSize)
	b.entries = slices.Grow(b.entries, n)
}

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.requests.b, b.entries, b.checks = b.requests.b[:0], b.entries[:0], nil
}

// add validates ch and queues its request.
func (b *Batch) add(ch change) {
	kind := ch.kind()
	if kind.validate != nil {
		if err := kind.validate(ch); err != nil {
			b.checks = append(b.checks, batchCheck{index: len(b.entries), err: err})
			b.entries = append(b.entries, batchEntry{cmd: ch.cmd, end: uint32(len(b.requests.b))})
			return
		}
	}
	if kind.features != nil {
		if fs := kind.features(ch); len(fs) > 0 {
			b.checks = append(b.checks, batchCheck{index: len(b.entries), features: fs})
		}
	}
	appendRequest(&b.requests, ch.cmd, ackFlags, func(ae *attrWriter) { ch.encode(ae) })
	b.entries = append(b.entries, batchEntry{cmd: ch.cmd, end: uint32(len(b.requests.b))})
}

// check returns the first change that is invalid, as a *BatchError; then,
// with k, the first that uses a feature kernel k lacks. (Without k,
// features are not checked.)
func (b *Batch) check(k *kernelFacts) error {
	for _, c := range b.checks {
		if c.err != nil {
			return &BatchError{Index: c.index, Err: c.err}
		}
	}
	if k == nil {
		return nil
	}
	for _, c := range b.checks {
		for _, f := range c.features {
			if err := k.supports(f); err != nil {
				return &BatchError{Index: c.index, Err: err}
			}
		}
	}
	return nil
}

// usesFeatures reports whether a change uses a feature newer than the
// oldest kernels: only then is the kernel asked what it has.
func (b *Batch) usesFeatures() bool {
	for _, c := range b.checks {
		if c.features != nil {
			return true
		}
	}
	return false
}

// op names change i in errors, e.g. "create service".
func (b *Batch) op(i int) string { return changeKinds[b.entries[i].cmd].op }

// CreateService queues ipvsadm -A.
func (b *Batch) CreateService(svc Service) { b.add(change{cmd: cmdNewService, svc: svc}) }

// UpdateService queues ipvsadm -E.
func (b *Batch) UpdateService(svc Service) { b.add(change{cmd: cmdSetService, svc: svc}) }

// DeleteService queues ipvsadm -D.
func (b *Batch) DeleteService(svc Service) { b.add(change{cmd: cmdDelService, svc: svc}) }

// CreateDestination queues ipvsadm -a.
func (b *Batch) CreateDestination(svc Service, d Destination) {
	b.add(change{cmd: cmdNewDest, svc: svc, dest: d})
}

// UpdateDestination queues ipvsadm -e.
func (b *Batch) UpdateDestination(svc Service, d Destination) {
	b.add(change{cmd: cmdSetDest, svc: svc, dest: d})
}

// DeleteDestination queues ipvsadm -d.
func (b *Batch) DeleteDestination(svc Service, d Destination) {
	b.add(change{cmd: cmdDelDest, svc: svc, dest: d})
}

// BatchError is returned by Apply when the batch is rejected before anything
// is sent because one of its changes is invalid or uses a feature the
// kernel lacks.
type BatchError struct {
	Index int   // the change's position in the batch
	Err   error // its *ValidationError, or an error wrapping errors.ErrUnsupported
}

func (e *BatchError) Error() string { return fmt.Sprintf("ipvs: batch change %d: %v", e.Index, e.Err) }

// Unwrap returns the change's error.
func (e *BatchError) Unwrap() error { return e.Err }

// Apply sends the batch's changes in order and returns one result per
// change, in the same order: nil where the kernel applied it, else an *Error
// (errors.Is works on it as on the single-change methods).
//
// Every change is validated first, exactly as the single-change methods
// validate theirs: if any is invalid, or uses a feature the running kernel
// lacks (see "Kernel features" in the package doc; the first batch that
// uses one asks the kernel, once per Client), nothing is sent and the
// error is a *BatchError naming it (it matches ErrInvalid, or
// errors.ErrUnsupported). If asking the kernel fails (ctx ended, the socket
// failed), nothing is sent and the error is an *Error with Op "read kernel
// policy". A service whose scheduler the kernel has no module for is the
// kernel's to refuse: its result matches errors.ErrUnsupported and
// fs.ErrNotExist (the kernel's ENOENT). A non-nil error after
// sending began means the socket failed or ctx ended: results then holds
// what the kernel reported (its errors, and the changes of each system call
// whose last change was acknowledged), and each other change has an error
// matching ErrUnacknowledged (it may or may not have been applied).
func (c *Client) Apply(ctx context.Context, b *Batch) ([]error, error) {
	return c.apply(ctx, b)
}
