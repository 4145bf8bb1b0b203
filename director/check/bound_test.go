package check

import (
	"context"
	"testing"
	"time"
)

// TestBound: a check's context ends within MaxTimeout; one that already
// does is used as it is.
func TestBound(t *testing.T) {
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		same bool
	}{
		{"no deadline", context.Background(), false},
		{"within MaxTimeout", short, true},
		{"past MaxTimeout", long, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := bound(tc.ctx)
			defer cancel()
			if same := ctx == tc.ctx; same != tc.same {
				t.Errorf("bound gave the caller's context: %v, want %v", same, tc.same)
			}
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > MaxTimeout {
				t.Errorf("deadline %v (set: %v), want within %v", dl, ok, MaxTimeout)
			}
			cancel()
			if !tc.same && ctx.Err() == nil {
				t.Error("cancel did not end the bounded context")
			}
		})
	}
}
