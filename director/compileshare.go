package director

import (
	"encoding/json"
	"fmt"
	"strings"
)

// shareChecks makes the services' identical compiled checks one, and
// their identical lists of checks one list: a file that checks every
// service the same way (an imported keepalived.conf does) holds one
// compiled check, not one per service. Identical is as the file would say
// it (the check's settings and its name in its list), as probes shares a
// probe; a check whose settings cannot be written is not shared. Only
// compile calls it, before the model is shared.
func (m *model) shareChecks() {
	checks := map[string]*compiledCheck{}
	lists := map[string]checkList{}
	one := func(cc *compiledCheck) *compiledCheck {
		b, err := json.Marshal(cc.check)
		if err != nil {
			return cc
		}
		k := cc.name + "\x00" + string(b)
		if c, ok := checks[k]; ok {
			return c
		}
		checks[k] = cc
		return cc
	}
	list := func(l checkList) checkList {
		if len(l) == 0 {
			return l
		}
		var key strings.Builder
		for i := range l {
			l[i] = one(l[i])
			fmt.Fprintf(&key, "%p ", l[i])
		}
		if same, ok := lists[key.String()]; ok {
			return same
		}
		lists[key.String()] = l
		return l
	}
	for _, s := range m.services {
		s.check = list(s.check)
		for i := range s.own {
			s.own[i] = list(s.own[i])
		}
	}
}
