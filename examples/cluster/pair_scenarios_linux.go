package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// pairFlows is how many keep-alive connections the pair scenarios hold.
const pairFlows = 30

// tally sums what happened to the held flows over a scenario.
type tally struct {
	held int
	outcome
}

func (t *tally) add(o outcome) { t.same += o.same; t.moved += o.moved; t.broken += o.broken }

// askAll asks every flow once more and fails unless each kept its real
// server.
func (t *tally) askAll(fs []*flow, step string) error {
	o := ask(fs)
	t.add(o)
	if o.moved+o.broken > 0 {
		return fmt.Errorf("%s: %v", step, o)
	}
	return nil
}

// takeover ends node from (SIGTERM, or SIGKILL with its link down) and
// waits for node to to hold the VIP; it returns how long that took and
// checks that the client's neighbour entry moved with the gratuitous ARPs.
func (p *pair) takeover(ctx context.Context, from, to int, kill bool, limit time.Duration) (time.Duration, error) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	n := p.nodes[from]
	if n == nil {
		return 0, fmt.Errorf("%s runs nothing", hostName(from))
	}
	// The clock runs from the signal; the process is waited for after
	// the takeover (a daemon may take seconds to exit after its last
	// advert).
	start := time.Now()
	syscall.Kill(-n.cmd.Process.Pid, sig)
	if kill {
		if err := p.hosts[from].Do(setLink("eth0", false)); err != nil {
			return 0, err
		}
	}
	_, err := p.waitHolder(ctx, to, limit)
	took := time.Since(start)
	if serr := p.stop(from, sig); err == nil {
		err = serr
	}
	if err != nil {
		return 0, err
	}
	if err := p.waitNeighbour(ctx, to); err != nil {
		return took, err
	}
	return took, nil
}

// waitNeighbour waits until the client's neighbour entry for the VIP is
// node i's address (the test never flushes it: only gratuitous ARPs move
// it).
func (p *pair) waitNeighbour(ctx context.Context, i int) error {
	want, err := macOf(p.hosts[i])
	if err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		got, err := p.neighbour()
		if err != nil {
			return err
		}
		if bytes.Equal(got, want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the client's neighbour entry for the VIP is %v, not %s's %v", got, hostName(i), want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// up starts node 0 (start is startKeepalived or startDirector) and waits
// for it to hold the VIP, then node 1 as its backup, and opens the flows,
// waiting until node 1 has them; took is node 0's time to the VIP.
func (p *pair) up(ctx context.Context, start func(int) error, t *tally) (took time.Duration, fs []*flow, err error) {
	if err := start(0); err != nil {
		return 0, nil, err
	}
	if took, err = p.waitHolder(ctx, 0, 20*time.Second); err != nil {
		return 0, nil, err
	}
	if err := start(1); err != nil {
		return 0, nil, err
	}
	if err := p.waitBackup(ctx, 1); err != nil {
		return 0, nil, err
	}
	if fs, err = p.openPairFlows(pairFlows); err != nil {
		return 0, nil, fmt.Errorf("%w%s", err, p.logs())
	}
	t.held = len(fs)
	o, err := p.waitSynced(ctx, 1, fs)
	t.add(o)
	return took, fs, err
}

// replace starts lvs-director on node i (what ran there has stopped),
// waits for its VRRP instance to listen as a backup, opens n more flows,
// and waits until node i has every flow.
func (p *pair) replace(ctx context.Context, i int, fs []*flow, n int, t *tally) ([]*flow, error) {
	if err := p.startDirector(i); err != nil {
		return fs, err
	}
	if err := p.waitBackup(ctx, i); err != nil {
		return fs, err
	}
	var err error
	if n > 0 {
		if fs, err = p.moreFlows(fs, n); err != nil {
			return fs, err
		}
		t.held = len(fs)
	}
	o, err := p.waitSynced(ctx, i, fs)
	t.add(o)
	return fs, err
}

// migrate replaces a keepalived pair by lvs-directors one node at a time,
// as an operator would, while the client holds connections through the
// VIP: the backup first, then a failover to it, then the other node. Every
// held connection must keep its real server at every step.
func migrate(ctx context.Context, w io.Writer) error {
	if _, err := os.Stat(keepalivedPath); err != nil {
		return errNoKeepalived
	}
	p, err := buildPair(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	var t tally

	// A keepalived pair: d1 master, d2 backup with the connections.
	took, fs, err := p.up(ctx, p.startKeepalived, &t)
	defer func() { closeFlows(fs) }()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "keepalived pair: d1 master after %v, %d flows held, d2 (backup) has them all\n", took.Round(10*time.Millisecond), len(fs))

	// d2 (the backup) replaced: keepalived stopped, lvs-director on its
	// imported keepalived.conf.
	if err := p.stop(1, syscall.SIGTERM); err != nil {
		return err
	}
	// Flows opened now reach d2 through its own sync daemon only.
	if fs, err = p.replace(ctx, 1, fs, pairFlows/3, &t); err != nil {
		return err
	}
	if who, err := p.holder(); err != nil || who != 0 {
		return fmt.Errorf("after d2 became lvs-director: holder %d (%v)%s", who, err, p.logs())
	}
	fmt.Fprintf(w, "d2 is lvs-director (backup), has every flow, %d of them opened since; d1 (keepalived) still master\n", pairFlows/3)

	// Fail over to d2: keepalived on d1 stopped (priority 0 sent).
	took, err = p.takeover(ctx, 0, 1, false, 10*time.Second)
	if err != nil {
		return err
	}
	if err := t.askAll(fs, "after the failover to d2"); err != nil {
		return err
	}
	fmt.Fprintf(w, "failover keepalived -> lvs-director (clean stop): d2 holds the VIP %v after the signal; the client's neighbour entry moved; every flow kept its real server\n", took.Round(10*time.Millisecond))

	// d1 replaced: lvs-director, backup (nopreempt) until it has the
	// connections, then d2 stopped so that d1 takes the VIP back.
	if fs, err = p.replace(ctx, 0, fs, pairFlows/3, &t); err != nil {
		return err
	}
	if who, err := p.holder(); err != nil || who != 1 {
		return fmt.Errorf("d1 took the VIP despite nopreempt: holder %d (%v)%s", who, err, p.logs())
	}
	took, err = p.takeover(ctx, 1, 0, false, 10*time.Second)
	if err != nil {
		return err
	}
	if err := t.askAll(fs, "after the failover back to d1"); err != nil {
		return err
	}
	if fs, err = p.replace(ctx, 1, fs, 0, &t); err != nil {
		return err
	}
	fmt.Fprintf(w, "failover lvs-director -> lvs-director (clean stop, %d more flows opened before it): d1 holds the VIP %v after the signal; d2 back as backup with every flow\n", pairFlows/3, took.Round(10*time.Millisecond))
	fmt.Fprintf(w, "migrated: %d flows held, %d requests answered by their real server, %d by another, %d reset or timed out\n", t.held, t.same, t.moved, t.broken)
	if t.moved+t.broken > 0 {
		return fmt.Errorf("%d requests moved, %d broken", t.moved, t.broken)
	}
	return nil
}

// pairScenario runs two lvs-directors as a VRRP pair (their configuration
// imported from the same keepalived.conf as migrate's, which is how a
// keepalived user writes one) and kills the master: the backup takes the
// VIP within Master_Down_Interval, and every held connection keeps its
// real server through the synced connection table.
func pairScenario(ctx context.Context, w io.Writer) error {
	p, err := buildPair(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	var t tally
	took, fs, err := p.up(ctx, p.startDirector, &t)
	defer func() { closeFlows(fs) }()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "d1 master after %v, %d flows held, d2 (backup) has them all\n", took.Round(10*time.Millisecond), len(fs))
	// Master_Down_Interval at priority 100, 1s adverts: 3s + 0.61s skew.
	took, err = p.takeover(ctx, 0, 1, true, 8*time.Second)
	if err != nil {
		return err
	}
	if err := t.askAll(fs, "after d1 was killed"); err != nil {
		return err
	}
	fmt.Fprintf(w, "d1 killed (SIGKILL, link down): d2 holds the VIP %v later; the client's neighbour entry moved; every flow kept its real server\n", took.Round(10*time.Millisecond))
	fmt.Fprintf(w, "%d flows held, %d requests answered by their real server, %d by another, %d reset or timed out\n", t.held, t.same, t.moved, t.broken)
	return nil
}
