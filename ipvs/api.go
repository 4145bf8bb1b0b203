package ipvs

import (
	"context"
	"fmt"
	"net/netip"
)

// API is what a Client does to a namespace's services, destinations,
// timeouts and sync daemons, as an interface: code built on the package
// takes an API so that its tests can run it against an in-memory IPVS
// (package ipvstest) instead of the kernel. Each method's contract is the
// Client method's of the same name; connections and Counters are left out,
// and so are AppendServices and AppendDestinations, which code that reads
// the table often may look for with a type assertion.
type API interface {
	Info(ctx context.Context) (Info, error)
	Services(ctx context.Context) ([]Service, error)
	Service(ctx context.Context, svc Service) (Service, error)
	CreateService(ctx context.Context, svc Service) error
	UpdateService(ctx context.Context, svc Service) error
	ModifyService(ctx context.Context, svc Service, fn func(*Service) error) error
	DeleteService(ctx context.Context, svc Service) error
	Destinations(ctx context.Context, svc Service) ([]Destination, error)
	Destination(ctx context.Context, svc Service, addr netip.AddrPort) (Destination, error)
	CreateDestination(ctx context.Context, svc Service, d Destination) error
	UpdateDestination(ctx context.Context, svc Service, d Destination) error
	ModifyDestination(ctx context.Context, svc Service, addr netip.AddrPort, fn func(*Destination) error) error
	DeleteDestination(ctx context.Context, svc Service, d Destination) error
	Apply(ctx context.Context, b *Batch) ([]error, error)
	Table(ctx context.Context) (Table, error)
	Flush(ctx context.Context) error
	ZeroAll(ctx context.Context) error
	ZeroService(ctx context.Context, svc Service) error
	Timeouts(ctx context.Context) (Timeouts, error)
	SetTimeouts(ctx context.Context, t Timeouts) error
	SyncDaemons(ctx context.Context) ([]SyncDaemon, error)
	StartSyncDaemon(ctx context.Context, d SyncDaemon) error
	StopSyncDaemon(ctx context.Context, state SyncState) error
	Close() error
}

var _ API = (*Client)(nil)

// Rules returns the batch's changes in order, each as the Rule that queues
// it (AddRules of the result queues the same requests again). Service and
// Destination are read back from the request Apply would send, so they are
// what the kernel receives: an empty Scheduler is wlc, a nonzero Timeout
// sets FlagPersistent, Family is filled in, a destination's tunnel
// settings are zero unless it is a Tunnel, and a delete carries only the
// key it names. (An IPv4-mapped address is not unmapped: the change is
// invalid.)
//
// If a change is invalid, the error is the *BatchError Apply returns for it
// (matching ErrInvalid) and there are no rules; kernel features are not
// checked. This is how a stand-in for the kernel, such as package
// ipvstest, reads a Batch.
func (b *Batch) Rules() ([]Rule, error) {
	if err := b.check(nil); err != nil {
		return nil, err
	}
	rules := make([]Rule, 0, len(b.entries))
	from := 0
	for i, e := range b.entries {
		r, err := decodeRule(e.cmd, b.requests.b[from+nlmsgHeaderLen+4:e.end])
		if err != nil {
			return nil, &BatchError{Index: i, Err: err}
		}
		rules = append(rules, r)
		from = int(e.end)
	}
	return rules, nil
}

// SyncDaemonRequest returns d as StartSyncDaemon sends it to the kernel,
// read back from the encoded request: zero fields stay zero (the kernel fills in its defaults). If d is
// invalid, the error is StartSyncDaemon's *ValidationError (matching
// ErrInvalid); kernel features are not checked. This is how a stand-in for
// the kernel, such as package ipvstest, reads a sync daemon, as it reads a
// batch with Batch.Rules.
func SyncDaemonRequest(d SyncDaemon) (SyncDaemon, error) {
	var b Batch
	if err := batchOfOne(&b, change{cmd: cmdNewDaemon, daemon: d}); err != nil {
		return SyncDaemon{}, err
	}
	attrs, err := nested(b.requests.b[nlmsgHeaderLen+4:b.entries[0].end], cmdAttrDaemon)
	if err != nil {
		return SyncDaemon{}, err
	}
	return parseDaemon(attrs)
}

// ValidateSyncState checks state as StopSyncDaemon does before sending it;
// an error matches ErrInvalid.
func ValidateSyncState(state SyncState) error {
	return changeKinds[cmdDelDaemon].validate(change{cmd: cmdDelDaemon, daemon: SyncDaemon{State: state}})
}

// ruleCommands are the commands a Batch queues, as rule commands.
var ruleCommands = map[uint8]Command{
	cmdNewService: CreateService, cmdSetService: UpdateService, cmdDelService: DeleteService,
	cmdNewDest: CreateDestination, cmdSetDest: UpdateDestination, cmdDelDest: DeleteDestination,
}

// decodeRule reads one queued request's attributes back.
func decodeRule(cmd uint8, attrs []byte) (Rule, error) {
	r := Rule{Command: ruleCommands[cmd]}
	if r.Command == 0 {
		return Rule{}, fmt.Errorf("ipvs: batch request %d is not a rule", cmd)
	}
	svc, err := nested(attrs, cmdAttrService)
	if err != nil {
		return Rule{}, err
	}
	if r.Service, err = parseService(svc); err != nil {
		return Rule{}, err
	}
	if r.Command == CreateDestination || r.Command == UpdateDestination || r.Command == DeleteDestination {
		dest, err := nested(attrs, cmdAttrDest)
		if err != nil {
			return Rule{}, err
		}
		if r.Destination, err = parseDest(dest, r.Service.AddressFamily()); err != nil {
			return Rule{}, err
		}
	}
	return r, nil
}

// batchOfOne makes b the batch of ch alone, validated; the error is the
// change's own.
func batchOfOne(b *Batch, ch change) error {
	b.Reset()
	b.add(ch)
	return changeError(b.check(nil))
}
