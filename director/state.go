package director

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

// maxStateSize bounds a state file: a director with a million services
// writes well under this.
const maxStateSize = 256 << 20

// stateFields are the keys a state file may hold (stateFile's and
// statePlain's JSON names); a file with keys but none of these is not a
// state file.
var stateFields = []string{"services", "disabled", "vips", "dummies", "sysctls", "draining", "marks", "snat", "sync"}

// loadState reads a state file, which must be a regular file that its
// owner, the process's user, alone can write (its sysctls are restored as
// root on teardown): another owner, a group- or world-writable file, a
// directory, a FIFO or a device are refused (fs.ErrPermission, fs.ErrInvalid)
// without being read. Its content must be one JSON object holding at least
// one field of a state file, or none ({}), and nothing after it; its
// sysctl keys must be valid. A missing file is an empty state.
func loadState(path string) (state, error) {
	var st state
	// O_NONBLOCK: opening a FIFO does not wait for a writer (it is
	// refused below, before any read).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
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
	if err := trustedFile(fi); err != nil {
		return st, fmt.Errorf("director: state %s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return st, fmt.Errorf("director: state %s: %w", path, err)
	}
	if len(b) > maxStateSize {
		return st, fmt.Errorf("director: state %s: larger than %d MiB: %w", path, maxStateSize>>20, fs.ErrInvalid)
	}
	if err := decodeState(b, &st); err != nil {
		return state{}, fmt.Errorf("director: state %s: %w", path, err)
	}
	return st, nil
}

// trustedFile is nil if fi is a regular file owned by the process's user
// that no one else can write.
func trustedFile(fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return fmt.Errorf("is a directory, not a state file: %w", fs.ErrInvalid)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("mode %v: not a regular file: %w", fi.Mode(), fs.ErrInvalid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("mode %v: others can write it, refusing to use it: %w", fi.Mode(), fs.ErrPermission)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("owned by uid %d, not by this process's user (uid %d), refusing to use it: %w", sys.Uid, os.Geteuid(), fs.ErrPermission)
	}
	return nil
}

// decodeState reads a state file's content into st (see loadState).
func decodeState(b []byte, st *state) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err // trailing data, a truncated file, not an object
	}
	if fields == nil {
		return fmt.Errorf("null, not a state: %w", fs.ErrInvalid)
	}
	known := len(fields) == 0
	for k := range fields {
		for _, f := range stateFields {
			known = known || strings.EqualFold(k, f) // encoding/json matches names so
		}
	}
	if !known {
		return fmt.Errorf("none of a state file's fields (%s): %w", strings.Join(stateFields, ", "), fs.ErrInvalid)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return err
	}
	for _, s := range st.Sysctls {
		if _, err := s.Key.Path(); err != nil {
			return err
		}
	}
	return nil
}

// restorable splits the state's sysctls into those Teardown puts back and
// those it refuses: a state file may only name keys the director could
// have set, those under net. (which any configuration may set) and the
// ones m sets (keys outside net. need hostSysctls); a key outside these
// came from elsewhere, and writing it as root would do what the file's
// author says.
func (st state) restorable(m *model) (ok sysctl.Snapshot, refused []sysctl.Key) {
	for _, s := range st.Sysctls {
		if strings.HasPrefix(string(s.Key), "net.") ||
			m != nil && slices.ContainsFunc(m.sysctls, func(x sysctl.Setting) bool { return x.Key == s.Key }) {
			ok = append(ok, s)
		} else {
			refused = append(refused, s.Key)
		}
	}
	return ok, refused
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
