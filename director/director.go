package director

import (
	"encoding/json"
	"time"

	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// Options configure a Director.
type Options struct {
	// NetNS is an open file descriptor of the network namespace to manage;
	// zero means the caller's. The Director keeps its own duplicate.
	NetNS int
	// Marks selects the firewall backend for mark rules (nftables by
	// default).
	Marks iptables.Kind
	// Drain, when nonzero, drains removed real servers instead of deleting
	// them: weight 0 at once, deleted by Collect when idle or after Drain.
	Drain time.Duration
	// StateFile, if set, is where the Director keeps what it owns between
	// runs (JSON). Without it a restarted Director owns only what its
	// configuration lists.
	StateFile string
	// MaxChecks bounds the health checks running at once (32 if zero).
	MaxChecks int
}

// state is what the Director owns; see the package documentation.
type state struct {
	Services []ipvs.Key           `json:"services,omitempty"`
	VIPs     []VIP                `json:"vips,omitempty"`
	Dummies  []string             `json:"dummies,omitempty"`
	Sysctls  sysctl.Snapshot      `json:"sysctls,omitempty"`  // values before the Director changed them
	Draining map[string]time.Time `json:"draining,omitempty"` // drainKey -> deadline
	Marks    bool                 `json:"marks,omitempty"`
	SNAT     bool                 `json:"snat,omitempty"`
}

func (s *state) marshal() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }
