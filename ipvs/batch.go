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

// change is one queued request.
type change struct {
	cmd  uint8
	op   string
	svc  Service
	dest Destination
}

// Len is the number of changes queued.
func (b *Batch) Len() int { return len(b.changes) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() { b.changes = b.changes[:0] }

// CreateService queues ipvsadm -A.
func (b *Batch) CreateService(svc Service) {
	b.changes = append(b.changes, change{cmd: cmdNewService, op: "create service", svc: svc})
}

// UpdateService queues ipvsadm -E.
func (b *Batch) UpdateService(svc Service) {
	b.changes = append(b.changes, change{cmd: cmdSetService, op: "update service", svc: svc})
}

// DeleteService queues ipvsadm -D.
func (b *Batch) DeleteService(svc Service) {
	b.changes = append(b.changes, change{cmd: cmdDelService, op: "delete service", svc: svc})
}

// CreateDestination queues ipvsadm -a.
func (b *Batch) CreateDestination(svc Service, d Destination) {
	b.changes = append(b.changes, change{cmd: cmdNewDest, op: "create destination", svc: svc, dest: d})
}

// UpdateDestination queues ipvsadm -e.
func (b *Batch) UpdateDestination(svc Service, d Destination) {
	b.changes = append(b.changes, change{cmd: cmdSetDest, op: "update destination", svc: svc, dest: d})
}

// DeleteDestination queues ipvsadm -d.
func (b *Batch) DeleteDestination(svc Service, d Destination) {
	b.changes = append(b.changes, change{cmd: cmdDelDest, op: "delete destination", svc: svc, dest: d})
}

// validate checks the change as the single-change method would.
func (ch change) validate() error {
	switch ch.cmd {
	case cmdNewService, cmdSetService:
		return ch.svc.validate()
	case cmdDelService:
		return ch.svc.validateKey()
	case cmdDelDest:
		if err := ch.svc.validateKey(); err != nil {
			return err
		}
		if !ch.dest.Addr.Addr().IsValid() {
			return invalid("Destination.Addr", "no address")
		}
		return nil
	default:
		if err := ch.svc.validateKey(); err != nil {
			return err
		}
		return ch.dest.validate(ch.svc)
	}
}

// BatchError is returned by Apply when the batch is rejected before anything
// is sent because one of its changes is invalid.
type BatchError struct {
	Index int   // the change's position in the batch
	Err   error // its *ValidationError
}

func (e *BatchError) Error() string { return fmt.Sprintf("ipvs: batch change %d: %v", e.Index, e.Err) }

// Unwrap returns the validation error.
func (e *BatchError) Unwrap() error { return e.Err }

// Apply sends the batch's changes in order and returns one result per
// change, in the same order: nil where the kernel applied it, else an *Error
// (errors.Is works on it as on the single-change methods).
//
// Every change is validated first: if any is invalid, nothing is sent and
// the error is a *BatchError naming it (it matches ErrInvalid). A non-nil
// error after sending began means the socket failed or ctx ended: results
// then holds what was acknowledged, and later changes may or may not have
// been applied.
func (c *Client) Apply(ctx context.Context, b *Batch) ([]error, error) {
	for i, ch := range b.changes {
		if err := ch.validate(); err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	return c.c.apply(ctx, b.changes)
}
