package main

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// TestSetup runs setup on an in-memory IPVS (no root, no kernel module,
// any system) and reads back what the kernel would hold.
func TestSetup(t *testing.T) {
	ctx := context.Background()
	api := ipvstest.New(nil)
	defer api.Close()
	if err := setup(ctx, api); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := show(ctx, api, &out); err != nil {
		t.Fatal(err)
	}
	want := `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.100:80 wrr
  -> 10.0.0.110:80                Route   1      0          0
  -> 10.0.0.120:80                Route   2      0          0
`
	// ipvsadm pads its last column: compare without the trailing spaces.
	if got := trimLines(out.String()); got != want {
		t.Errorf("the table:\n%s\nwant:\n%s", got, want)
	}
	// The kernel's refusals come back as errors that match fs's.
	if err := setup(ctx, api); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second setup: %v, want an error matching fs.ErrExist", err)
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
