package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/vmtest"
)

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Config{Modules: modules})
}

// TestLabs runs every lab as the demo does; each checks itself.
func TestLabs(t *testing.T) {
	for _, l := range labs {
		t.Run(l.name, func(t *testing.T) {
			vmtest.Require(t, modules...)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			var out bytes.Buffer
			err := l.run(ctx, &out)
			t.Logf("%s:\n%s", l.title, out.String())
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
