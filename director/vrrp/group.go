package vrrp

import "sync"

// Group is a sync group (keepalived's vrrp_sync_group): when one member
// becomes master, backup or faulty, the others follow.
type Group struct {
	Name    string
	mu      sync.Mutex
	members []*Instance
}

// NewGroup ties the instances together; call it before they Run. An
// instance belongs to one group at most.
func NewGroup(name string, members ...*Instance) (*Group, error) {
	g := &Group{Name: name, members: members}
	for _, m := range members {
		if m.group != nil {
			return nil, invalidf("sync group %s: instance %s is already in group %s", name, m.cfg.Name, m.group.Name)
		}
	}
	for _, m := range members {
		m.group = g
	}
	return g, nil
}

// changed moves the other members to the state one of them entered.
func (g *Group) changed(from *Instance, s State) {
	if s != Master && s != Backup && s != Fault {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		if m != from {
			m.force(s)
		}
	}
}
