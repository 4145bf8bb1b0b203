package ipvs

import "context"

// Table is a snapshot of a namespace's IPVS: what ipvsadm -L shows
// (package ipvs/ipvsadm prints it as ipvsadm does).
type Table struct {
	Info     Info
	Services []TableService
}

// TableService is a service with its destinations.
type TableService struct {
	Service
	Destinations []Destination
}

// Table reads every service with its destinations, in the kernel's order.
func (c *Client) Table(ctx context.Context) (Table, error) {
	in, err := c.Info(ctx)
	if err != nil {
		return Table{}, err
	}
	svcs, err := c.Services(ctx)
	if err != nil {
		return Table{}, err
	}
	t := Table{Info: in, Services: make([]TableService, 0, len(svcs))}
	// Every service's destinations are read into one array, each service
	// given its part with no room to grow into the next one's.
	all := make([]Destination, 0, len(svcs))
	for _, s := range svcs {
		from := len(all)
		if all, err = c.c.appendDestinations(ctx, s, all); err != nil {
			return Table{}, err
		}
		t.Services = append(t.Services, TableService{Service: s, Destinations: all[from:len(all):len(all)]})
	}
	return t, nil
}
