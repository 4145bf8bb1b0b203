package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/vmtest"
)

func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == directorArg {
		os.Exit(runDirector(os.Args[2], os.Args[3]))
	}
	vmtest.Main(m, vmtest.Config{Modules: modules, Programs: programs})
}

// TestScenarios runs every scenario as the demo does; each checks itself
// and prints its figures.
func TestScenarios(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			vmtest.Require(t, modules...)
			if _, err := os.Stat(birdPath); err != nil {
				t.Skipf("no bird2 (scripts/install-deps.sh installs it): %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var out bytes.Buffer
			err := s.run(ctx, &out)
			t.Logf("%s:\n%s", s.name, out.String())
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
