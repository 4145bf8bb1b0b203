package ipvs

import (
	"context"
	"fmt"
)

// Batch collects changes to services and destinations so that Client.Apply
// can send many of them in each system call. The kernel applies each change
// on its own and acknowledges each: Apply reports a result per change. This
// is what makes loading tens of thousands of services fast.
//
// The zero Batch is empty and ready to use. A Batch is not safe for
// concurrent use.
type Batch struct {
	changes []change
}

// Len is the number of changes queued.
func (b *Batch) Len() int { return len(b.changes) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() { b.changes = b.changes[:0] }

// CreateService queues ipvsadm -A.
func (b *Batch) CreateService(svc Service) {
	b.changes = append(b.changes, change{cmd: cmdNewService, svc: svc})
}

// UpdateService queues ipvsadm -E.
func (b *Batch) UpdateService(svc Service) {
	b.changes = append(b.changes, change{cmd: cmdSetService, svc: svc})
}

// DeleteService queues ipvsadm -D.
func (b *Batch) DeleteService(svc Service) {
	b.changes = append(b.changes, change{cmd: cmdDelService, svc: svc})
}

// CreateDestination queues ipvsadm -a.
func (b *Batch) CreateDestination(svc Service, d Destination) {
	b.changes = append(b.changes, change{cmd: cmdNewDest, svc: svc, dest: d})
}

// UpdateDestination queues ipvsadm -e.
func (b *Batch) UpdateDestination(svc Service, d Destination) {
	b.changes = append(b.changes, change{cmd: cmdSetDest, svc: svc, dest: d})
}

// DeleteDestination queues ipvsadm -d.
func (b *Batch) DeleteDestination(svc Service, d Destination) {
	b.changes = append(b.changes, change{cmd: cmdDelDest, svc: svc, dest: d})
}

// BatchError is returned by Apply when the batch is rejected before anything
// is sent because one of its changes is invalid or needs a newer kernel.
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
// predates, nothing is sent and the error is a *BatchError naming it (it
// matches ErrInvalid, or errors.ErrUnsupported). A non-nil error after
// sending began means the socket failed or ctx ended: results then holds
// what was acknowledged, and each change never acknowledged has an error
// matching ErrUnacknowledged (it may or may not have been applied).
func (c *Client) Apply(ctx context.Context, b *Batch) ([]error, error) {
	return c.apply(ctx, b.changes)
}
