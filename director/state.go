package director

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// state is what the Director owns; see the package documentation.
type state struct {
	Services []ipvs.Key           `json:"-"`
	VIPs     []VIP                `json:"vips,omitempty"`
	Dummies  []string             `json:"dummies,omitempty"`
	Sysctls  sysctl.Snapshot      `json:"sysctls,omitempty"`  // values before the Director changed them
	Draining map[string]time.Time `json:"draining,omitempty"` // drainKey -> deadline
	Marks    bool                 `json:"marks,omitempty"`
	SNAT     bool                 `json:"snat,omitempty"`
	Sync     bool                 `json:"sync,omitempty"` // sync daemons started
	// Disabled are the real servers taken out of service by hand.
	Disabled []Maintenance `json:"-"`
	// Overrides are the weights set by hand and the drains.
	Overrides []Override `json:"-"`
}

// stateKey is a service key as state files hold it: numbers, so that the
// file's form does not follow the ipvs types' text forms.
type stateKey struct {
	Protocol     uint16
	Addr         netip.AddrPort
	FirewallMark uint32
	Family       uint16
}

type statePlain state

func stateKeyOf(k ipvs.Key) stateKey {
	return stateKey{uint16(k.Protocol), k.Addr, k.FirewallMark, uint16(k.Family)}
}

func (k stateKey) key() ipvs.Key {
	return ipvs.Key{Protocol: ipvs.Protocol(k.Protocol), Addr: k.Addr, FirewallMark: k.FirewallMark, Family: ipvs.Family(k.Family)}
}

// stateMaintenance is a Maintenance as state files hold it.
type stateMaintenance struct {
	Service stateKey
	Addr    netip.AddrPort
	Reason  string `json:",omitempty"`
	Since   time.Time
}

type stateFile struct {
	Services  []stateKey         `json:"services,omitempty"`
	Disabled  []stateMaintenance `json:"disabled,omitempty"`
	Overrides []stateOverride    `json:"overrides,omitempty"`
	*statePlain
}

func (s state) MarshalJSON() ([]byte, error) {
	f := stateFile{statePlain: (*statePlain)(&s)}
	for _, k := range s.Services {
		f.Services = append(f.Services, stateKeyOf(k))
	}
	for _, m := range s.Disabled {
		f.Disabled = append(f.Disabled, stateMaintenance{stateKeyOf(m.Service), m.Addr, m.Reason, m.Since})
	}
	f.Overrides = stateOverrides(s.Overrides)
	return json.Marshal(f)
}

func (s *state) UnmarshalJSON(b []byte) error {
	f := stateFile{statePlain: (*statePlain)(s)}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	s.Services, s.Disabled = nil, nil
	s.Overrides = overridesOf(f.Overrides)
	for _, k := range f.Services {
		s.Services = append(s.Services, k.key())
	}
	for _, m := range f.Disabled {
		s.Disabled = append(s.Disabled, Maintenance{m.Service.key(), m.Addr, m.Reason, m.Since})
	}
	return nil
}

// saveState writes st to path atomically: a new owner-only file in the
// same directory, synced, renamed over the old one, and the directory
// synced.
func saveState(path string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("director: state: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("director: state: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600, O_EXCL
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if df, err := os.Open(dir); err == nil {
		df.Sync()
		df.Close()
	}
	return nil
}

// loadState reads a state file, which must be a regular file that only
// its owner can write (its sysctls are restored as root on teardown).
func loadState(path string) (state, error) {
	var st state
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("director: state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, fmt.Errorf("director: state: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 {
		return st, fmt.Errorf("director: state %s: mode %v: others can write it, refusing to use it", path, fi.Mode())
	}
	if err := json.NewDecoder(f).Decode(&st); err != nil {
		return st, fmt.Errorf("director: state %s: %w", path, err)
	}
	return st, nil
}

// save writes the state to Options.StateFile, if set, and shows it in the
// Status.
func (d *Director) save() error {
	d.status.owns(d.st)
	if d.opts.StateFile == "" {
		return nil
	}
	return saveState(d.opts.StateFile, d.st)
}
