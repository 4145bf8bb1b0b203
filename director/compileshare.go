package director

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/lvs-go/lvs/director/check"
)

// shareChecks makes the services' identical compiled checks one, and
// their identical lists of checks one list: a file that checks every
// service the same way (an imported keepalived.conf does) holds one
// compiled check, not one per service. Identical is as the file would say
// it (the check's settings and its name in its list), as probes shares a
// probe; a check whose settings cannot be written is not shared. Only
// compile calls it, before the model is shared.
func (m *model) shareChecks() {
	// A check's key: its settings (Spec aside, so the struct compares),
	// its name, and its kind's fields as JSON, marshalled once per Spec
	// value (the YAML decoder gives identical blocks one Spec).
	type key struct {
		c        Check
		name     string
		typ      string
		settings string
	}
	checks := map[key]*compiledCheck{}
	lists := map[string]checkList{}
	specs := map[check.Spec]string{}
	specJSON := func(sp check.Spec) (string, error) {
		cacheable := reflect.TypeOf(sp).Comparable()
		if cacheable {
			if j, ok := specs[sp]; ok {
				return j, nil
			}
		}
		b, err := json.Marshal(sp)
		if err == nil && cacheable {
			specs[sp] = string(b)
		}
		return string(b), err
	}
	one := func(cc *compiledCheck) *compiledCheck {
		if cc.check.Spec == nil {
			return cc
		}
		j, err := specJSON(cc.check.Spec)
		if err != nil {
			return cc
		}
		k := key{c: cc.check, name: cc.name, typ: cc.check.Spec.Type(), settings: j}
		k.c.Spec = nil
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
