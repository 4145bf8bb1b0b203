package ipvs

// Settings returns s's configuration: s without Stats, which the kernel
// fills in when it lists services and which moves with traffic. Two
// services with equal Settings are configured alike, so code that brings
// the kernel to a wanted state compares Settings, not whole values (which
// differ as soon as a packet is counted):
//
//	if have.Settings() != want.Settings() { b.UpdateService(want) }
//
// What is compared is what is stored: a service read from the kernel has
// its defaults filled in (Batch.Rules shows them: an empty Scheduler reads
// back as wlc), so want should be written as the kernel reports it.
func (s Service) Settings() Service {
	s.Stats = Stats{}
	return s
}

// Settings returns d's configuration: d without the fields the kernel fills
// in when it lists destinations and which move with traffic (ActiveConns,
// InactiveConns, PersistentConns and Stats). Two destinations with equal
// Settings are configured alike: compare Settings to decide whether a
// destination needs UpdateDestination, as Service.Settings does for
// services.
func (d Destination) Settings() Destination {
	d.ActiveConns, d.InactiveConns, d.PersistentConns, d.Stats = 0, 0, 0, Stats{}
	return d
}
