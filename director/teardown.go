package director

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
)

// Teardown removes everything the Director owns: its services, VIPs and
// dummy devices, its mark and source-NAT rules, and puts back the sysctls
// it changed. The VIPs of VRRP instances are not its: Run removes them
// when it stops the instances.
func (d *Director) Teardown(ctx context.Context) error {
	// The routers stop sending before anything is removed.
	if err := d.withdrawAll(ctx); err != nil {
		return err
	}
	p, err := d.planModel(ctx, &model{}, verdicts{}, readTable)
	if err != nil {
		return err
	}
	err = d.Apply(ctx, p)
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if d.st.Marks || d.st.SNAT {
		if b, err := d.backend(); err == nil {
			if err := b.Remove(ctx); err != nil {
				errs = append(errs, err)
			} else {
				d.st.Marks, d.st.SNAT = false, false
			}
		} else {
			errs = append(errs, err)
		}
	}
	snap, refused := d.st.restorable(d.model)
	if len(refused) > 0 {
		errs = append(errs, fmt.Errorf("director: state: sysctls %v are not ones the director sets (outside net., and the configuration does not set them): not restored: %w", refused, fs.ErrPermission))
	}
	if err := d.sc.Restore(ctx, snap); err != nil {
		errs = append(errs, err)
	} else {
		d.st.Sysctls = nil
	}
	if err := d.save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
