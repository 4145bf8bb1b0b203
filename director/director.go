package director

import (
	"fmt"
	"strings"
	"time"

	"github.com/lvs-go/lvs/iptables"
)

// Options configure a Director; a nil *Options means the zero Options.
type Options struct {
	// NetNS is an open file descriptor of the network namespace to manage;
	// zero means the caller's. The Director keeps its own duplicate.
	NetNS int
	// Firewall selects the backend of the firewall-mark and source-NAT
	// rules (nftables by default).
	Firewall iptables.Kind
	// Drain, when nonzero, drains removed real servers instead of deleting
	// them: weight 0 at once, deleted by Collect when idle or after Drain.
	Drain time.Duration
	// StateFile, if set, is where the Director keeps what it owns between
	// runs (JSON, written atomically, mode 0600; a state file others can
	// write is refused). Without it a restarted Director owns only what its
	// configuration lists.
	StateFile string
	// MaxChecks bounds the health checks running at once (32 if zero).
	MaxChecks int
	// Resync is how often Run reads the whole kernel table and repairs
	// what differs from the configuration (30 seconds if zero; negative:
	// never). Between resyncs Run plans health changes against what it
	// applied, reading nothing.
	Resync time.Duration
	// CallTimeout bounds each step of Run (a plan and its apply, a
	// collection): 10 seconds if zero.
	CallTimeout time.Duration
	// Announcer, if set, announces the configuration's Cluster.Announce
	// prefixes for Run: each once an apply has succeeded, withdrawn while a
	// service it holds is below its quorum, and all withdrawn by Teardown.
	// The caller owns it (and Closes it after Run).
	Announcer Announcer
	// SkipFeatureChecks is ipvs.Config's, for a distribution kernel with
	// IPVS features backported past its release number.
	SkipFeatureChecks bool
}

func (o Options) resync() time.Duration {
	if o.Resync == 0 {
		return 30 * time.Second
	}
	return o.Resync
}

func (o Options) callTimeout() time.Duration {
	if o.CallTimeout <= 0 {
		return 10 * time.Second
	}
	return o.CallTimeout
}

// ApplyError reports the operations that failed; the others were applied.
type ApplyError struct {
	Failed []OpError
}

// OpError is one failed operation. An error that belongs to no operation
// (saving the state) has the zero Op.
type OpError struct {
	Op  Op
	Err error
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "director: %d operation(s) failed:", len(e.Failed))
	for _, f := range e.Failed {
		if f.Op.Kind == 0 {
			fmt.Fprintf(&b, "\n  %v", f.Err)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %v", f.Op, f.Err)
	}
	return b.String()
}

// Unwrap returns the operations' errors.
func (e *ApplyError) Unwrap() []error {
	var out []error
	for _, f := range e.Failed {
		out = append(out, f.Err)
	}
	return out
}
