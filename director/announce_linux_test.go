package director

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// fakeAnnouncer records what it is told, in order.
type fakeAnnouncer struct {
	events chan string
}

func (f *fakeAnnouncer) Announce(_ context.Context, p netip.Prefix) error {
	f.events <- "announce " + p.String()
	return nil
}

func (f *fakeAnnouncer) Withdraw(_ context.Context, p netip.Prefix) error {
	f.events <- "withdraw " + p.String()
	return nil
}

func (f *fakeAnnouncer) Peers(context.Context) ([]Peer, error) { return nil, nil }
func (f *fakeAnnouncer) Close() error                          { return nil }

func (f *fakeAnnouncer) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-f.events:
		if got != want {
			t.Fatalf("announcer told %q, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("announcer not told %q within 30s", want)
	}
}

// TestRunAnnounces: Run announces the cluster's prefix once its first
// apply has succeeded; Drain withdraws it until Undrain; Run withdraws it
// when a service under it goes below its quorum, announces it again when
// the quorum is back, and Teardown withdraws it before removing anything.
func TestRunAnnounces(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_mh", "veth", "bridge")
	l := labtest.Build(t, natWithout(lab.RS1))
	dir, rs1 := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.RS1)
	serve := pageServer(t, rs1, "rs1")
	stop := serve()
	fa := &fakeAnnouncer{events: make(chan string, 16)}
	d, err := New(&Options{NetNS: int(dir.NS()), Announcer: fa})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	cfg := mustConfig(t, `
cluster:
  announce: [10.0.0.8/32]
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: mh
    flags: [mh-fallback]
    quorum: 2
    check: {type: http, path: /, interval: 200ms, timeout: 500ms, rise: 2, fall: 2}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat}
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, compiled(t, cfg), nil, nil) }()
	fa.next(t, "announce 10.0.0.8/32")
	// The Status follows once the Announcer has answered: a Ping is
	// answered after the step that announced.
	if err := d.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); len(st.Announced) != 1 || st.Announced[0] != netip.MustParsePrefix("10.0.0.8/32") {
		t.Errorf("Status().Announced = %v", st.Announced)
	}
	// Drain withdraws, and keeps the prefix withdrawn, until Undrain.
	if err := d.Withdraw(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	fa.next(t, "withdraw 10.0.0.8/32")
	if err := d.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-fa.events:
		t.Fatalf("a drained director's Run told the announcer %q", e)
	default:
	}
	if err := d.Rejoin(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	fa.next(t, "announce 10.0.0.8/32")
	stop()
	fa.next(t, "withdraw 10.0.0.8/32")
	if err := d.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); len(st.Announced) != 0 || len(st.BelowQuorum) != 1 {
		t.Errorf("below quorum: Status().Announced = %v, BelowQuorum = %v", st.Announced, st.BelowQuorum)
	}
	stop = serve()
	defer stop()
	fa.next(t, "announce 10.0.0.8/32")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(context.Background(), time.Minute)
	defer tcancel()
	if err := d.Teardown(tctx); err != nil {
		t.Fatal(err)
	}
	fa.next(t, "withdraw 10.0.0.8/32")
	if tab, err := d.IPVS().Table(tctx); err != nil || len(tab.Services) != 0 {
		t.Errorf("after Teardown: %d services, %v", len(tab.Services), err)
	}
	select {
	case e := <-fa.events:
		t.Errorf("announcer told %q after Teardown", e)
	default:
	}
}
