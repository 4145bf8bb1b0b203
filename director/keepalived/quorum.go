package keepalived

import (
	"slices"

	"github.com/lvs-go/lvs/director"
)

// scripts are a block's notification commands as read, with where.
type script struct {
	n    *node
	argv []string
}

// command reads a script option: its words, or one quoted command line.
func command(s *node) *script {
	args := s.args()
	if len(args) == 1 {
		args = shellWords(args[0])
	}
	if len(args) == 0 {
		return nil
	}
	return &script{n: s, argv: args}
}

// quorum carries vs's quorum, hysteresis and quorum scripts onto svc, and
// its real servers' notify_up and notify_down, noting what cannot be.
//
// keepalived counts the weights of the live real servers: the quorum is
// lost when they sum to less than quorum-hysteresis, and regained at
// quorum+hysteresis. The director counts real servers: down below Quorum,
// up at Quorum+Hysteresis. With every real server at one weight w the two
// agree with Quorum = ceil((quorum-hysteresis)/w) and Quorum+Hysteresis =
// ceil((quorum+hysteresis)/w); with weights that differ there is no such
// count, and the quorum is not carried.
func (im *importer) quorum(vs *virtualServer, svc *director.VirtualService) {
	im.notifyScripts(vs, svc)
	if vs.quorumN == nil && vs.hystN == nil {
		if vs.quorumUp != nil || vs.quorumDown != nil {
			im.optionNote(firstNode(vs.quorumUp, vs.quorumDown), vs.name, "not carried over (keepalived's default quorum 1 is the director's sorry-server rule, which runs no command; set quorum to carry it)")
		}
		return
	}
	where := vs.quorumN
	if where == nil {
		where = vs.hystN
	}
	q, h := vs.quorumValue, vs.hystValue
	if vs.quorumN == nil {
		q = 1 // keepalived's default
	}
	// keepalived's own corrections (check_data.c, validate_check_config).
	sum := 0
	for _, rs := range svc.RealServers {
		sum += rs.Weight
	}
	if q > sum {
		im.optionNote(where, vs.name, "quorum %d is more than the real servers' total weight %d: keepalived logs \"reducing quorum to %d\" and keeps the service up with quorum %d, and so does this", q, sum, sum, sum)
		q = sum
	}
	if q == 0 {
		im.optionNote(where, vs.name, "not carried over (a quorum of 0 is never lost)")
		return
	}
	if h >= q {
		im.optionNote(where, vs.name, "hysteresis %d is not below quorum %d: keepalived sets it to %d, and so does this", h, q, q-1)
		h = q - 1
	}
	w := 0
	for _, rs := range svc.RealServers {
		if w == 0 {
			w = rs.Weight
		}
		if rs.Weight != w {
			w = -1
		}
	}
	switch {
	case w <= 0:
		im.optionNote(where, vs.name, "not carried over (keepalived counts the weights of live real servers, the director counts real servers, and these real servers weigh differently)")
		return
	}
	down := (q - h + w - 1) / w
	up := (q + h + w - 1) / w
	if up > len(svc.RealServers) {
		im.optionNote(where, vs.name, "not carried over (quorum %d with hysteresis %d needs %d real servers to be regained, the service has %d: keepalived starts with the quorum up, and once it is lost never regains it)", q, h, up, len(svc.RealServers))
		return
	}
	svc.Quorum, svc.Hysteresis = down, up-down
	if w != 1 || h != 0 {
		im.optionNote(where, vs.name, "carried as quorum %d, hysteresis %d (counted in real servers of weight %d: down below %d, up at %d)", down, up-down, w, down, up)
	}
	// The live real servers once the quorum is lost (keepalived's
	// update_quorum_state): the director quiesces them all.
	removes := slices.ContainsFunc(vs.rs, func(rs *realServer) bool {
		t := rs.timing.over(vs.timing)
		return t.inhibit == nil || !*t.inhibit
	})
	switch {
	case vs.sorry == nil:
		im.optionNote(where, vs.name, "with the quorum lost and no sorry_server, keepalived leaves the live real servers in service (it only runs quorum_down); the director quiesces them (weight 0)")
	case removes:
		im.optionNote(where, vs.name, "with the quorum lost, keepalived adds the sorry server and removes the live real servers that have no inhibit_on_failure; the director quiesces them (weight 0)")
	}
	if vs.quorumUp != nil || vs.quorumDown != nil {
		if svc.Notify == nil {
			svc.Notify = &director.Notify{}
		}
		if vs.quorumUp != nil {
			svc.Notify.QuorumUp = vs.quorumUp.argv
		}
		if vs.quorumDown != nil {
			svc.Notify.QuorumDown = vs.quorumDown.argv
		}
	}
}

// notifyScripts carries the real servers' notify_up and notify_down as the
// service's when every real server has the same one (the director has one
// per service; it tells the command which real server in LVS_RS_ADDR).
func (im *importer) notifyScripts(vs *virtualServer, svc *director.VirtualService) {
	for _, kind := range []struct {
		get func(*realServer) *script
		set func(*director.Notify, []string)
	}{
		{func(rs *realServer) *script { return rs.notifyUp }, func(n *director.Notify, a []string) { n.RealServerUp = a }},
		{func(rs *realServer) *script { return rs.notifyDown }, func(n *director.Notify, a []string) { n.RealServerDown = a }},
	} {
		var first *script
		same := true
		for _, rs := range vs.rs {
			s := kind.get(rs)
			switch {
			case s == nil && first == nil:
			case first == nil:
				first = s
			case s == nil || !slices.Equal(s.argv, first.argv):
				same = false
			}
			if s == nil && first != nil {
				same = false
			}
		}
		if first == nil {
			continue
		}
		if !same {
			for _, rs := range vs.rs {
				if s := kind.get(rs); s != nil {
					im.optionNote(s.n, rs.block, "not carried over (the director runs one command per service, and its real servers' differ or some have none)")
				}
			}
			continue
		}
		if svc.Notify == nil {
			svc.Notify = &director.Notify{}
		}
		kind.set(svc.Notify, first.argv)
	}
}

func firstNode(a, b *script) *node {
	if a != nil {
		return a.n
	}
	return b.n
}

// quorumOption reads the quorum options of a virtual_server block; false
// if s is none of them.
func (im *importer) quorumOption(vs *virtualServer, s *node) bool {
	switch s.key() {
	case "quorum", "hysteresis":
		v, ok := number(s.arg(0), 1<<31)
		if !ok {
			im.optionNote(s, vs.name, "invalid value %q, ignored (as keepalived does)", s.arg(0))
			return true
		}
		if s.key() == "quorum" {
			vs.quorumN, vs.quorumValue = s, int(v)
		} else {
			vs.hystN, vs.hystValue = s, int(v)
		}
	case "quorum_up", "quorum_down":
		c := command(s)
		if c == nil {
			im.optionNote(s, vs.name, "no command, ignored")
			return true
		}
		if s.key() == "quorum_up" {
			vs.quorumUp = c
		} else {
			vs.quorumDown = c
		}
	default:
		return false
	}
	return true
}

// notifyOption reads a real server's notify_up or notify_down; false if s
// is neither.
func (im *importer) notifyOption(rs *realServer, s *node) bool {
	if s.key() != "notify_up" && s.key() != "notify_down" {
		return false
	}
	c := command(s)
	switch {
	case c == nil:
		im.optionNote(s, rs.block, "no command, ignored")
	case s.key() == "notify_up":
		rs.notifyUp = c
	default:
		rs.notifyDown = c
	}
	return true
}
