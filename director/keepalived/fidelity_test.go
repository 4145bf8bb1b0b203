package keepalived

import (
	"slices"
	"strings"
	"testing"
)

// TestWordsAfterPort: keepalived reads only the address and port of a
// virtual_server or real_server line (alloc_vs, alloc_rs), so words after
// them (dev eth0, in the wild) leave the service as it is, with a note.
func TestWordsAfterPort(t *testing.T) {
	cfg, notes := imp(t, `virtual_server 10.0.0.1 80 dev eth0 {
    protocol TCP
    real_server 10.0.0.2 8080 extra words {
    }
}
`, nil)
	if len(cfg.Services) != 1 || cfg.Services[0].Address != ap("10.0.0.1:80") {
		t.Fatalf("services %+v", cfg.Services)
	}
	if rs := cfg.Services[0].RealServers; len(rs) != 1 || rs[0].Address != ap("10.0.0.2:8080") {
		t.Errorf("real servers %+v", rs)
	}
	wantNote(t, notes, "virtual_server 10.0.0.1 80 dev eth0: 2 word(s) after the port ignored")
	wantNote(t, notes, "real_server 10.0.0.2 8080 extra words: 2 word(s) after the port ignored")
}

// TestMultiLineDefinition: a $ definition whose lines end in \ goes on to
// the next lines, and where it is used each of its lines is a line
// (keepalived's multiline definitions), so a block of options can be one.
func TestMultiLineDefinition(t *testing.T) {
	cfg, notes := imp(t, `$QUORUM=quorum 2 \
        hysteresis 1   \
        lb_algo wrr
$RS=real_server 10.0.0.2 80 { \
  weight 1 \
}
! a comment line does not end it
virtual_server 10.0.0.1 80 {
    protocol TCP
    $QUORUM
    $RS
    real_server 10.0.0.3 80 {
    }
    real_server 10.0.0.4 80 {
    }
    real_server 10.0.0.5 80 {
    }
}
`, nil)
	s := cfg.Services[0]
	if s.Scheduler != "wrr" || len(s.RealServers) != 4 {
		t.Fatalf("scheduler %q, %d real servers; want wrr, 4\n%s", s.Scheduler, len(s.RealServers), notesText(notes))
	}
	// quorum 2 hysteresis 1 of weight 1: down below 1, up at 3.
	if s.Quorum != 1 || s.Hysteresis != 2 {
		t.Errorf("quorum %d, hysteresis %d; want 1, 2\n%s", s.Quorum, s.Hysteresis, notesText(notes))
	}
	// An empty line ends a definition too; a \ elsewhere is noted.
	cfg, notes = imp(t, "$A=lb_algo sh \\\n\nvirtual_server 10.0.0.1 80 { \\\nprotocol TCP\n$A\nreal_server 10.0.0.2 80 {\n}\n}\n", nil)
	if cfg.Services[0].Scheduler != "sh" {
		t.Errorf("scheduler %q", cfg.Services[0].Scheduler)
	}
	wantNote(t, notes, `keepalived.conf:3: \: ignored: keepalived continues only a $ definition`)
}

// TestAlphaOmegaNotes: the notes say what alpha and omega do in keepalived.
func TestAlphaOmegaNotes(t *testing.T) {
	_, notes := imp(t, `virtual_server 10.0.0.1 80 {
    protocol TCP
    alpha
    omega
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            alpha
        }
    }
}
`, nil)
	wantNote(t, notes, "virtual_server 10.0.0.1 80: alpha: not carried over (keepalived keeps each real server out until its first check passes")
	wantNote(t, notes, "TCP_CHECK: alpha: not carried over (keepalived keeps each real server out")
	wantNote(t, notes, "omega: not carried over (keepalived runs the quorum_down and notify_down commands when it stops")
}

// TestSecondGroupBlock: a second "virtual_server group G" block adds its
// real servers to the services of the first, as keepalived adds them to
// the same IPVS services.
func TestSecondGroupBlock(t *testing.T) {
	cfg, notes := imp(t, `virtual_server_group web {
    10.0.0.1 80
    10.0.0.2 80
}
virtual_server group web {
    protocol TCP
    lb_algo wlc
    real_server 192.168.0.1 80 {
    }
}
virtual_server group web {
    protocol TCP
    real_server 192.168.0.2 80 {
    }
    real_server 192.168.0.1 80 {
    }
}
`, nil)
	if len(cfg.Services) != 2 {
		t.Fatalf("%d services, want 2\n%s", len(cfg.Services), notesText(notes))
	}
	for _, s := range cfg.Services {
		if len(s.RealServers) != 2 || s.RealServers[1].Address != ap("192.168.0.2:80") || s.Scheduler != "wlc" {
			t.Errorf("%s: %+v, scheduler %q", s.Name, s.RealServers, s.Scheduler)
		}
	}
	wantNote(t, notes, "keepalived.conf:11: virtual_server group web: a second block of group web: its real servers are added to the services of the earlier block")

	// Checks: the added real servers keep their own checkers; one without
	// any is not checked, so the earlier block's service check becomes
	// its real servers' own.
	cfg, notes = imp(t, `virtual_server_group web {
    10.0.0.1 80
}
virtual_server group web {
    protocol TCP
    real_server 192.168.0.1 80 { TCP_CHECK { } }
}
virtual_server group web {
    protocol TCP
    real_server 192.168.0.2 80 { PING_CHECK { } }
}
virtual_server group web {
    protocol TCP
    real_server 192.168.0.3 80 { }
}
`, nil)
	s := cfg.Services[0]
	var got []string
	for _, rs := range s.RealServers {
		var types []string
		for _, c := range rs.Checks {
			types = append(types, c.Spec.Type())
		}
		got = append(got, strings.Join(types, "+"))
	}
	if s.Check != nil || len(s.Checks) != 0 || !slices.Equal(got, []string{"tcp", "icmp", ""}) {
		t.Errorf("service check %+v, real servers' checks %q; want tcp, icmp and none\n%s", s.Check, got, notesText(notes))
	}
}

// TestSyncDaemon: global_defs' lvs_sync_daemon goes to the director's
// cluster.sync, its id defaulting to the VRRP instance's
// virtual_router_id as in keepalived (a cluster that only runs the sync
// daemon), with a note of what it carried.
func TestSyncDaemon(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"lvs_sync_daemon eth1 VI_1 id 7 port 8849 group 224.0.0.90", "{interface: eth1, syncID: 7, group: 224.0.0.90, port: 8849}"},
		{"lvs_sync_daemon eth1 inst VI_1 maxlen 1400 ttl 2", "{interface: eth1, syncID: 51, ttl: 2, maxLength: 1400}"},
	} {
		cfg, notes := imp(t, "global_defs {\n "+tc.line+"\n}\nvrrp_instance VI_1 {\n virtual_router_id 51\n}\n"+oneService, nil)
		if cfg.Cluster == nil || cfg.Cluster.Sync == nil || len(cfg.Cluster.Announce) != 0 {
			t.Fatalf("%s: cluster %+v, want only its sync", tc.line, cfg.Cluster)
		}
		if err := validNoVRRP(cfg); err != nil {
			t.Errorf("%s: the imported configuration is refused: %v", tc.line, err)
		}
		wantNote(t, notes, "lvs_sync_daemon: carried as cluster.sync "+tc.want, "as VRRP instance VI_1 is master or backup")
	}
}

// TestUnknownBlockBraces: a misspelt checker with a block loses its
// braces as in keepalived's parser: its lines are read as the real
// server's, and its } closes the real server (here the url's } does, and
// the checker's closes the virtual server), so the real servers and
// checks after it are never made, as keepalived never makes them.
func TestUnknownBlockBraces(t *testing.T) {
	cfg, notes := imp(t, `virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
        HTTP_GETT {
            url {
                path /
            }
        }
        weight 2
    }
    real_server 10.0.0.3 80 {
        TCP_CHECK {
        }
    }
}
virtual_server 10.0.0.9 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            connect_timeout 3
            bogus_block {
            }
            retry 7
        }
        weight 5
    }
}
`, nil)
	if len(cfg.Services) != 2 {
		t.Fatalf("%d services\n%s", len(cfg.Services), notesText(notes))
	}
	s := cfg.Services[0]
	if len(s.RealServers) != 1 || s.RealServers[0].Address != ap("10.0.0.2:80") || s.Check != nil {
		t.Errorf("first service: real servers %+v, check %+v; want 10.0.0.2 alone, no check\n%s", s.RealServers, s.Check, notesText(notes))
	}
	wantNote(t, notes, "keepalived.conf:4: virtual_server 10.0.0.1 80: real_server 10.0.0.2 80: HTTP_GETT: opens no block here: keepalived ignores it")
	wantNote(t, notes, "keepalived.conf:5: virtual_server 10.0.0.1 80: real_server 10.0.0.2 80: url: opens no block here")
	// bogus_block's } closes TCP_CHECK: retry 7 is the real server's
	// (inherited by its check), and weight 5 the virtual server's.
	s = cfg.Services[1]
	if s.Check == nil || s.Check.Fall != 8 || s.Check.Timeout != 3e9 {
		t.Errorf("second service's check %+v; want fall 8 (retry 7 of the real server), timeout 3s\n%s", s.Check, notesText(notes))
	}
	if len(s.RealServers) != 1 || s.RealServers[0].Weight != 5 {
		t.Errorf("second service's real servers %+v; want weight 5 (the virtual server's, inherited)", s.RealServers)
	}
}
