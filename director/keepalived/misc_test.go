package keepalived

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/lvs-go/lvs/director/check"
)

// TestMiscCheckPerRealServer: MISC_CHECKs that pass each real server its
// own address and port (OpenStack Octavia's generated configurations)
// become one command reading LVS_RS_ADDR and LVS_RS_PORT, which runs for
// each real server as keepalived's did.
func TestMiscCheckPerRealServer(t *testing.T) {
	cfg, notes := imp(t, `virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.0.2 8080 {
        MISC_CHECK {
            misc_path "/bin/echo --addr=10.0.0.2 10.0.0.2 8080 'it''s'"
            misc_timeout 5
        }
    }
    real_server 10.0.0.3 8081 {
        MISC_CHECK {
            misc_path "/bin/echo --addr=10.0.0.3 10.0.0.3 8081 'it''s'"
            misc_timeout 5
        }
    }
}
`, nil)
	c := cfg.Services[0].Check
	if c == nil {
		t.Fatalf("no check\n%s", notesText(notes))
	}
	cmd, ok := c.Spec.(*check.Command)
	want := []string{"/bin/sh", "-c", `exec '/bin/echo' '--addr='"$LVS_RS_ADDR" "$LVS_RS_ADDR" "$LVS_RS_PORT" 'its'`}
	if !ok || !slices.Equal(cmd.Argv, want) {
		t.Fatalf("command %q, want %q\n%s", cmd.Argv, want, notesText(notes))
	}
	wantNote(t, notes, "MISC_CHECK: the real servers' commands differ only by their address and port: carried as one command")
	if hasNote(notes, "checkers differ") {
		t.Errorf("a checkers-differ note:\n%s", notesText(notes))
	}
	// Run for the second real server, it gives the arguments its own
	// MISC_CHECK had.
	run := exec.Command(cmd.Argv[0], cmd.Argv[1:]...)
	run.Env = append(os.Environ(), "LVS_RS_ADDR=10.0.0.3", "LVS_RS_PORT=8081")
	out, err := run.Output()
	if err != nil || string(out) != "--addr=10.0.0.3 10.0.0.3 8081 its\n" {
		t.Errorf("the command printed %q, %v", out, err)
	}

	// Commands that differ in more than the address stay apart: each
	// real server's own.
	cfg, notes = imp(t, `virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
        MISC_CHECK {
            misc_path "/bin/check-a 10.0.0.2"
        }
    }
    real_server 10.0.0.3 80 {
        MISC_CHECK {
            misc_path "/bin/check-b 10.0.0.3"
        }
    }
}
`, nil)
	for i, want := range []string{"/bin/check-a", "/bin/check-b"} {
		cs := cfg.Services[0].RealServers[i].Checks
		if len(cs) != 1 || cs[0].Spec.(*check.Command).Argv[0] != want {
			t.Errorf("real server %d's checks %+v, want its own %s\n%s", i, cs, want, notesText(notes))
		}
	}
}
