package director

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
)

// Options configure a Director; a nil *Options means the zero Options.
//
// The Director reaches the kernel through four sides: IPVS, Sysctls,
// Firewall and Links. Each left nil is the real one in the namespace
// NetNS (on Linux; elsewhere New fails for a side left nil), so that a
// program embedding a Director tests it on in-memory stand-ins (package
// director/directortest, with ipvs/ipvstest for IPVS) without root or a
// kernel with ip_vs. A side given here is the caller's: Close leaves it
// open.
type Options struct {
	// NetNS is an open file descriptor of the network namespace to manage;
	// zero means the caller's. The Director keeps its own duplicate. The
	// default sides, the health checks and the notify commands act in it.
	NetNS int
	// IPVS is the IPVS the Director manages; nil is an *ipvs.Client in
	// NetNS.
	IPVS ipvs.API
	// Sysctls reads and writes the sysctls; nil is a *sysctl.Sysctl in
	// NetNS.
	Sysctls Sysctls
	// Firewall holds the firewall-mark and source-NAT rules; nil is the
	// FirewallKind backend in NetNS, opened on first use.
	Firewall iptables.Backend
	// FirewallKind selects the default Firewall's backend (nftables by
	// default).
	FirewallKind iptables.Kind
	// Links manages the VIPs' addresses and the dummy devices; nil is
	// rtnetlink in NetNS.
	Links Links
	// Drain, when nonzero, drains removed real servers instead of deleting
	// them: weight 0 at once, deleted by Collect when idle or after Drain.
	Drain time.Duration
	// StateFile, if set, is where the Director keeps what it owns between
	// runs (JSON, written atomically, mode 0600; a state file others can
	// write is refused). Without it a restarted Director owns only what its
	// configuration lists.
	StateFile string
	// MaxChecks bounds the health checks running at once (32 if zero):
	// one scheduler hands the due checks to this many workers.
	MaxChecks int
	// Resync is how often Run reads the whole kernel table and repairs
	// what differs from the configuration. Zero adapts it to the table:
	// the next resync starts 30 seconds after the last one started, or
	// 100 times as long as the last one's read took if that is longer, so
	// that resyncs take at most about 1% of the time (a table read and
	// compared in 2 seconds is read every 200 seconds). Negative: never. A
	// positive value is the period, whatever a resync takes. Between
	// resyncs Run plans health changes against what it applied, reading
	// nothing.
	Resync time.Duration
	// CallTimeout bounds each step of Run (a plan, an apply, a
	// collection): 10 seconds if zero. An apply step gets a millisecond
	// more for each of its operations, a read of the whole table two for
	// each service the configuration declares.
	CallTimeout time.Duration
	// Announcer, if set, announces the configuration's Cluster.Announce
	// prefixes for Run: each once an apply has succeeded, withdrawn while a
	// service it holds is below its quorum, and all withdrawn by Teardown.
	// The caller owns it (and Closes it after Run).
	Announcer Announcer
	// VRRP opens the sockets of the configuration's VRRP instances (see
	// VRRP); nil is the real ones in NetNS (raw IP sockets, CAP_NET_RAW),
	// opened by Run.
	VRRP VRRPSides
	// SkipFeatureChecks is ipvs.Config's, for a distribution kernel with
	// IPVS features backported past its release number (default IPVS
	// only).
	SkipFeatureChecks bool
	// KernelRelease is the kernel release the Director sets its kernel
	// defaults for (see the package documentation); empty: the running
	// kernel's.
	KernelRelease string
}

func (o Options) callTimeout() time.Duration {
	if o.CallTimeout <= 0 {
		return 10 * time.Second
	}
	return o.CallTimeout
}

// ApplyError reports the operations that failed; the others were applied.
type ApplyError struct {
	Failed []FailedOp
}

// FailedOp is one failed operation. An error that belongs to no operation
// (saving the state) has the zero Op.
type FailedOp struct {
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

// Director makes one network namespace's director role match a Config.
// Its methods are safe for concurrent use; they run one at a time.
type Director struct {
	mu    sync.Mutex
	opts  Options
	netns int
	// The kernel sides (see Options); firewall is opened on first use
	// when it is the default. closers are the sides New opened, which
	// Close closes.
	ipvs     ipvs.API
	sc       Sysctls
	firewall iptables.Backend
	links    Links
	closers  []io.Closer
	st       state
	// known is what the Director knows the kernel's IPVS holds: the last
	// full read, with the services read one by one and what Apply changed
	// since. nil when unknown (before the first read, or after a change
	// whose outcome is not known).
	known map[ipvs.Key]*ipvs.TableService
	// knownShared are the services of known whose destinations are a
	// model's own slice (share), copied before a change (own).
	knownShared map[*ipvs.TableService]bool
	// fullReads counts reads of the whole table (for tests).
	fullReads int
	// tableBuf, svcBuf and destBuf are readTable's, reused from one read
	// to the next.
	tableBuf []ipvs.TableService
	svcBuf   []ipvs.Service
	destBuf  []ipvs.Destination
	// status is what Status returns, under a lock of its own.
	status statusBook
	// model is the configuration last given to Run or Plan, which Disable
	// and Enable check against; nil before.
	model *model
	// run reaches the running Run; nil when none runs.
	run *runLoop
	// announced is what Options.Announcer announces for the Director;
	// withdrawn keeps it empty (Withdraw).
	announced []netip.Prefix
	withdrawn bool
	// connReuse is the conn_reuse_mode this kernel needs, if any (see
	// connReuseDefault).
	connReuse    string
	setConnReuse bool
}

// New opens a Director on the options' namespace and sides (nil options
// are the defaults: the caller's namespace, the real kernel sides, no
// state file, no drain), loading the state file if there is one.
func New(opts *Options) (*Director, error) {
	if opts == nil {
		opts = &Options{}
	}
	fd, err := netnsx.Dup(opts.NetNS)
	if err != nil {
		return nil, err
	}
	d := &Director{opts: *opts, netns: fd}
	release := opts.KernelRelease
	if release == "" {
		release, _ = kernel.Release() // none: no release-dependent default
	}
	d.connReuse, d.setConnReuse = connReuseDefault(release)
	if err := d.openSides(); err != nil {
		d.Close()
		return nil, err
	}
	if opts.StateFile != "" {
		st, err := loadState(opts.StateFile)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.st = st
	}
	d.status.owns(d.st)
	return d, nil
}

// openSides takes the sides the options give and opens the defaults of
// the others (the firewall's on first use, see backend).
func (d *Director) openSides() error {
	d.ipvs, d.sc, d.firewall, d.links = d.opts.IPVS, d.opts.Sysctls, d.opts.Firewall, d.opts.Links
	if d.ipvs == nil {
		c, err := defaultIPVS(d.netns, &d.opts)
		if err != nil {
			return err
		}
		d.ipvs = c
		d.closers = append(d.closers, c)
	}
	if d.sc == nil {
		s, err := defaultSysctls(d.netns)
		if err != nil {
			return err
		}
		d.sc = s
		if c, ok := s.(io.Closer); ok {
			d.closers = append(d.closers, c)
		}
	}
	if d.links == nil {
		l, err := defaultLinks(d.netns)
		if err != nil {
			return err
		}
		d.links = l
		if c, ok := l.(io.Closer); ok {
			d.closers = append(d.closers, c)
		}
	}
	return nil
}

// Close releases what New opened (the default sides' sockets, the
// namespace handle); it changes nothing in the kernel, and leaves the
// sides given in Options open. Call it after Run has returned.
func (d *Director) Close() error {
	for _, c := range slices.Backward(d.closers) {
		c.Close()
	}
	d.closers = nil
	if d.netns > 0 {
		netnsx.Close(d.netns)
		d.netns = 0
	}
	return nil
}

// IPVS is the IPVS the Director manages, for reading the table.
func (d *Director) IPVS() ipvs.API { return d.ipvs }

// Status returns what the Director has done and the health of the real
// servers Run checks. It is safe to call at any time, also while Run or
// Apply runs, and never waits for them or for the kernel.
func (d *Director) Status() Status { return d.status.snapshot() }

// backend is the firewall of the mark and source-NAT rules, the default
// one opened on first use.
func (d *Director) backend() (iptables.Backend, error) {
	if d.firewall == nil {
		b, err := defaultFirewall(d.netns, d.opts.FirewallKind)
		if err != nil {
			return nil, err
		}
		d.firewall = b
	}
	return d.firewall, nil
}
