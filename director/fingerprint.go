package director

import (
	"context"

	"github.com/lvs-go/lvs/ipvs"
)

// Fingerprint is a digest of the services the Director owns as the kernel
// has them: each service's scheduler and flags, and its destinations in the
// kernel's order with their weights and forwarding methods. Directors that
// would send a flow to the same real server (mh, with the same real
// servers, weights and insertion order) have the same fingerprint: an
// operator or a test compares them to prove a cluster agrees.
func (d *Director) Fingerprint(ctx context.Context) (string, error) {
	d.mu.Lock()
	owned := d.ownedSet()
	d.mu.Unlock()
	t, err := d.ipvs.Table(ctx)
	if err != nil {
		return "", err
	}
	return fingerprint(t.Services, owned), nil
}

// ownedSet is the owned services as a set; d.mu is held.
func (d *Director) ownedSet() map[ipvs.Key]bool {
	owned := make(map[ipvs.Key]bool, len(d.st.Services))
	for _, k := range d.st.Services {
		owned[k] = true
	}
	return owned
}
