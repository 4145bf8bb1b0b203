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
	// The services are decoded into the table itself, then each one's
	// destinations read into large arrays, each service given its part
	// with no room to grow into the next one's. An array is sized for the
	// services left at the mean so far (4 each before the first), so that
	// a table takes a few arrays and none is copied as it grows.
	t := Table{Info: in}
	if err := c.c.eachService(ctx, func() { t.Services = t.Services[:0] }, func(s Service) {
		t.Services = append(t.Services, TableService{Service: s})
	}); err != nil {
		return Table{}, err
	}
	if t.Services == nil {
		t.Services = []TableService{}
	}
	var all []Destination
	read := 0
	for i := range t.Services {
		if cap(all)-len(all) < tableMinRoom {
			mean := 4
			if i > 0 {
				mean = (read + i - 1) / i
			}
			all = make([]Destination, 0, max(tableMinRoom, (len(t.Services)-i)*mean))
		}
		all = all[len(all):] // a service that outgrows the array copies only its own part
		if all, err = c.c.appendDestinations(ctx, t.Services[i].Service, all); err != nil {
			return Table{}, err
		}
		read += len(all)
		t.Services[i].Destinations = all[:len(all):len(all)]
	}
	return t, nil
}

// tableMinRoom is the room for destinations below which Table starts a
// new array: a service with more grows it by append (its part copied).
const tableMinRoom = 64
