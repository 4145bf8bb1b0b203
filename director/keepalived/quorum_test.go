package keepalived

import (
	"slices"
	"strings"
	"testing"
)

// TestQuorum: keepalived's quorum (a weight sum, lost below
// quorum-hysteresis, regained at quorum+hysteresis) becomes the director's
// count of real servers where every real server weighs the same, with its
// scripts; otherwise it is noted. notify_up and notify_down become the
// service's commands when every real server has the same.
func TestQuorum(t *testing.T) {
	vs := func(opts, rsOpts string, weights ...string) string {
		var b strings.Builder
		b.WriteString("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n" + opts + "\n")
		for i, w := range weights {
			b.WriteString("  real_server 10.0.0." + string(rune('2'+i)) + " 80 {\n    weight " + w + "\n" + rsOpts + "\n  }\n")
		}
		b.WriteString("}\n")
		return b.String()
	}
	for _, tc := range []struct {
		name             string
		src              string
		quorum, hyst     int
		up, down         []string
		note             string
		rsUp, rsDownNote string
	}{
		{"weight 1", vs("quorum 2\n  quorum_up /bin/up.sh a\n  quorum_down \"/bin/down.sh 'b c'\"", "", "1", "1", "1"), 2, 0,
			[]string{"/bin/up.sh", "a"}, []string{"/bin/down.sh", "b c"}, "", "", ""},
		{"hysteresis", vs("quorum 3\n  hysteresis 1", "", "1", "1", "1", "1"), 2, 2, nil, nil, "carried as quorum 2, hysteresis 2", "", ""},
		{"weight 2", vs("quorum 3", "", "2", "2", "2"), 2, 0, nil, nil, "counted in real servers of weight 2", "", ""},
		{"weights differ", vs("quorum 2", "", "1", "2"), 0, 0, nil, nil, "these real servers weigh differently", "", ""},
		// keepalived lowers a hysteresis that is not below the quorum.
		{"hysteresis lowered", vs("quorum 1\n  hysteresis 1", "", "1", "1"), 1, 0, nil, nil, "keepalived sets it to 0", "", ""},
		{"too many to regain", vs("quorum 3\n  hysteresis 1", "", "1", "1", "1"), 0, 0, nil, nil, "needs 4 real servers to be regained", "", ""},
		// keepalived lowers a quorum over the total weight, and keeps the service up.
		{"quorum reduced", vs("quorum 5", "", "1", "1", "1"), 3, 0, nil, nil, `logs "reducing quorum to 3" and keeps the service up`, "", ""},
		// The live real servers once the quorum is lost: keepalived leaves
		// them in without a sorry server, removes them with one unless they
		// inhibit; the director quiesces them.
		{"quorum lost, no sorry server", vs("quorum 2", "", "1", "1"), 2, 0, nil, nil, "no sorry_server, keepalived leaves the live real servers in service", "", ""},
		{"quorum lost, sorry server", vs("quorum 2\n  sorry_server 10.0.0.9 80", "", "1", "1"), 2, 0, nil, nil, "removes the live real servers that have no inhibit_on_failure", "", ""},
		{"scripts without quorum", vs("quorum_up /bin/up.sh", "", "1"), 0, 0, nil, nil, "set quorum to carry it", "", ""},
		{"same notify", vs("", "    notify_up /bin/rs-up.sh\n    notify_down /bin/rs-down.sh", "1", "1"), 0, 0, nil, nil, "", "/bin/rs-up.sh", ""},
		{"notify differs",
			"virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n notify_down /a\n }\n real_server 10.0.0.3 80 {\n notify_down /b\n }\n}\n",
			0, 0, nil, nil, "", "", "its real servers' differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, notes := imp(t, tc.src, nil)
			s := cfg.Services[0]
			if s.Quorum != tc.quorum || s.Hysteresis != tc.hyst {
				t.Errorf("quorum %d, hysteresis %d; want %d, %d\n%s", s.Quorum, s.Hysteresis, tc.quorum, tc.hyst, notesText(notes))
			}
			var up, down, rsUp []string
			if s.Notify != nil {
				up, down, rsUp = s.Notify.QuorumUp, s.Notify.QuorumDown, s.Notify.RealServerUp
			}
			if !slices.Equal(up, tc.up) || !slices.Equal(down, tc.down) {
				t.Errorf("quorum commands %q, %q; want %q, %q", up, down, tc.up, tc.down)
			}
			if tc.rsUp != "" && (len(rsUp) != 1 || rsUp[0] != tc.rsUp || s.Notify.RealServerDown[0] != "/bin/rs-down.sh") {
				t.Errorf("real server commands %+v", s.Notify)
			}
			for _, n := range []string{tc.note, tc.rsDownNote} {
				if n != "" {
					wantNote(t, notes, n)
				}
			}
		})
	}
}

// TestQuorumLostInhibit: with a sorry server and inhibit_on_failure on
// every real server, keepalived quiesces the live real servers when the
// quorum is lost, as the director does: no note.
func TestQuorumLostInhibit(t *testing.T) {
	_, notes := imp(t, `virtual_server 10.0.0.1 80 {
  protocol TCP
  quorum 2
  sorry_server 10.0.0.9 80
  real_server 10.0.0.2 80 {
    inhibit_on_failure
  }
  real_server 10.0.0.3 80 {
    inhibit_on_failure
  }
}
`, nil)
	for _, n := range notes {
		if strings.Contains(n.Reason, "quorum lost") {
			t.Errorf("unexpected note: %s", n)
		}
	}
}
