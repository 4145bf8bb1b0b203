package ipvstest

import (
	"fmt"
	"io/fs"

	"github.com/lvs-go/lvs/ipvs"
)

// SetServiceStats sets what traffic would have made the kernel count for
// the service of svc's key: svc.Stats (counters and rates) is what
// Services, Service and Table report for it from now on, until ZeroAll,
// ZeroService or another SetServiceStats. Its settings are unchanged (the
// other fields of svc are not used). The kernel counts a packet in its
// destination's stats and in its service's: a test that wants both set
// sets both.
//
// A missing service is an error matching fs.ErrNotExist, an invalid key
// one matching ipvs.ErrInvalid. It is not a request to the kernel: it
// works after Close, is not counted and meets no fault.
func (f *Fake) SetServiceStats(svc ipvs.Service) error {
	k, err := keyed(svc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[k.Key()]
	if s == nil {
		return fmt.Errorf("ipvstest: no service %v: %w", k, fs.ErrNotExist)
	}
	s.svc.Stats = svc.Stats
	return nil
}

// SetDestinationStats sets what traffic would have made the kernel report
// for the destination at d.Addr of svc: d's ActiveConns, InactiveConns,
// PersistentConns and Stats are what Destinations, Destination and Table
// report for it from now on. Updates keep them, ZeroAll and ZeroService
// reset the Stats (not the connection counts), and deleting the
// destination drops them. Its settings are unchanged (the other fields of
// d are not used).
//
// A missing service or destination is an error matching fs.ErrNotExist,
// an invalid key one matching ipvs.ErrInvalid. As SetServiceStats, it is
// not a request to the kernel.
func (f *Fake) SetDestinationStats(svc ipvs.Service, d ipvs.Destination) error {
	k, err := keyed(svc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[k.Key()]
	if s == nil {
		return fmt.Errorf("ipvstest: no service %v: %w", k, fs.ErrNotExist)
	}
	for addr, cur := range s.dests {
		if sameAddr(addr, d.Addr) {
			cur.d.ActiveConns, cur.d.InactiveConns, cur.d.PersistentConns, cur.d.Stats = d.ActiveConns, d.InactiveConns, d.PersistentConns, d.Stats
			return nil
		}
	}
	return fmt.Errorf("ipvstest: service %v has no destination %v: %w", k, d.Addr, fs.ErrNotExist)
}
