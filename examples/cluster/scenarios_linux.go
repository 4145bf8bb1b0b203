package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// carriers returns, for each flow, the index of the director whose own
// connection table has it (scheduled there, not synced), -1 if none.
func (c *cluster) carriers(ctx context.Context, fs []*flow) ([]int, error) {
	out := make([]int, len(fs))
	for i := range out {
		out[i] = -1
	}
	for d := range c.opts.directors {
		if c.procs[d] == nil {
			continue
		}
		cl, err := ipvs.New(&ipvs.Config{NetNS: int(c.lab.Host(hostName(d)).NS())})
		if err != nil {
			return nil, err
		}
		conns, err := cl.Connections(ctx)
		cl.Close()
		if err != nil {
			return nil, err
		}
		for _, cn := range conns {
			if cn.Synced || cn.State != "ESTABLISHED" {
				continue
			}
			for i, f := range fs {
				if cn.Client == f.local {
					out[i] = d
				}
			}
		}
	}
	return out, nil
}

// perDirector counts flows per director.
func perDirector(n int, carriers []int) []int {
	out := make([]int, n)
	for _, d := range carriers {
		if d >= 0 {
			out[d]++
		}
	}
	return out
}

// fingerprints are the running directors' fingerprints.
func (c *cluster) fingerprints(ctx context.Context) ([]string, error) {
	var out []string
	for d := range c.opts.directors {
		if c.procs[d] == nil {
			continue
		}
		dd, err := director.New(&director.Options{NetNS: int(c.lab.Host(hostName(d)).NS()), StateFile: filepath.Join(c.dir, hostName(d)+".state")})
		if err != nil {
			return nil, err
		}
		f, err := dd.Fingerprint(ctx)
		dd.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// spread: 210 flows over 3 directors.
func spread(ctx context.Context, w io.Writer) error {
	c, err := build(ctx, options{directors: 3, sync: true, sloppy: true})
	if err != nil {
		return err
	}
	defer c.close()
	took, err := c.waitHops(ctx, 3)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "the router has 3 next hops to %v %v after the directors started\n", vip, took.Round(time.Millisecond))
	fs, err := c.openFlows(210)
	if err != nil {
		return err
	}
	defer closeFlows(fs)
	for range 2 {
		if o := ask(fs); o.same != len(fs) {
			return fmt.Errorf("asked again: %v", o)
		}
	}
	fmt.Fprintf(w, "210 flows, 3 requests each: every flow answered by the same real server each time\n")
	carriers, err := c.carriers(ctx, fs)
	if err != nil {
		return err
	}
	per := perDirector(3, carriers)
	fmt.Fprintf(w, "flows per director: d1 %d, d2 %d, d3 %d\n", per[0], per[1], per[2])
	if slices.Contains(per, 0) {
		return fmt.Errorf("a director carries no flow: %v", per)
	}
	fps, err := c.fingerprints(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "fingerprints: %.12s %.12s %.12s\n", fps[0], fps[1], fps[2])
	if fps[0] != fps[1] || fps[1] != fps[2] {
		return fmt.Errorf("the directors' fingerprints differ")
	}
	return nil
}

// failover kills a director under load, with and without the sync daemon.
func failover(ctx context.Context, w io.Writer) error {
	for _, v := range []struct {
		name         string
		sync, sloppy bool
		wantSurvive  bool
	}{
		{"sync daemon and sloppy TCP", true, true, true},
		{"mh and sloppy TCP alone, no sync", false, true, true},
		{"control: no sync, sloppy TCP off", false, false, false},
	} {
		if err := failoverOnce(ctx, w, v.name, options{directors: 3, sync: v.sync, sloppy: v.sloppy}, v.wantSurvive); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

func failoverOnce(ctx context.Context, w io.Writer, name string, o options, wantSurvive bool) error {
	c, err := build(ctx, o)
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.waitHops(ctx, 3); err != nil {
		return err
	}
	fs, err := c.openFlows(90)
	if err != nil {
		return err
	}
	defer closeFlows(fs)
	ask(fs) // a second request: the connections are synced from their second packet
	time.Sleep(3 * time.Second)
	carriers, err := c.carriers(ctx, fs)
	if err != nil {
		return err
	}
	var onD1, others []*flow
	for i, f := range fs {
		if carriers[i] == 0 {
			onD1 = append(onD1, f)
		} else {
			others = append(others, f)
		}
	}
	start := time.Now()
	if err := c.kill(0); err != nil {
		return err
	}
	if _, err := c.waitHops(ctx, 2); err != nil {
		return err
	}
	took := time.Since(start)
	moved, stayed := ask(onD1), ask(others)
	fmt.Fprintf(w, "%s: d1 killed with %d of 90 flows; the router dropped it after %v\n", name, len(onD1), took.Round(time.Millisecond))
	fmt.Fprintf(w, "  d1's flows, moved to a survivor: %v\n  the other flows: %v\n", moved, stayed)
	if len(onD1) == 0 {
		return fmt.Errorf("d1 carried no flow")
	}
	if stayed.broken+stayed.moved > 0 && wantSurvive {
		return fmt.Errorf("flows of the surviving directors broke: %v", stayed)
	}
	if wantSurvive && moved.same != len(onD1) {
		return fmt.Errorf("moved flows broke: %v", moved)
	}
	if !wantSurvive && moved.broken == 0 {
		return fmt.Errorf("the control broke nothing: %v", moved)
	}
	fresh, err := c.openFlows(20)
	if err != nil {
		return fmt.Errorf("new flows after the kill: %w", err)
	}
	closeFlows(fresh)
	fmt.Fprintf(w, "  20 new flows answered\n")
	return nil
}

// add: a third director joins.
func add(ctx context.Context, w io.Writer) error {
	c, err := build(ctx, options{directors: 3, sync: true, sloppy: true})
	if err != nil {
		return err
	}
	defer c.close()
	// Start with two: stop d3 for now.
	if err := c.kill(2); err != nil {
		return err
	}
	if err := c.lab.Host("d3").Do(setLink("eth0", true)); err != nil {
		return err
	}
	if _, err := c.waitHops(ctx, 2); err != nil {
		return err
	}
	old, err := c.openFlows(60)
	if err != nil {
		return err
	}
	defer closeFlows(old)
	if err := c.startDirector(2); err != nil {
		return err
	}
	took, err := c.waitHops(ctx, 3)
	if err != nil {
		return err
	}
	o := ask(old)
	fmt.Fprintf(w, "d3 added: the router uses it %v later; the 60 existing flows: %v\n", took.Round(time.Millisecond), o)
	if o.same != len(old) {
		return fmt.Errorf("existing flows changed: %v", o)
	}
	fresh, err := c.openFlows(90)
	if err != nil {
		return err
	}
	defer closeFlows(fresh)
	carriers, err := c.carriers(ctx, fresh)
	if err != nil {
		return err
	}
	per := perDirector(3, carriers)
	fmt.Fprintf(w, "90 new flows per director: d1 %d, d2 %d, d3 %d\n", per[0], per[1], per[2])
	if per[2] == 0 {
		return fmt.Errorf("no new flow reached d3")
	}
	return nil
}

// backup: active/backup by MED.
func backup(ctx context.Context, w io.Writer) error {
	c, err := build(ctx, options{directors: 2, sync: true, sloppy: true, meds: []uint32{0, 100}})
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.waitHops(ctx, 1); err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // both sessions up; the route must still be d1's alone
	hops, err := c.nextHops()
	if err != nil {
		return err
	}
	if len(hops) != 1 || hops[0] != directorIP(0) {
		return fmt.Errorf("with the backup up, the router's next hops are %v, want d1 alone", hops)
	}
	fs, err := c.openFlows(40)
	if err != nil {
		return err
	}
	defer closeFlows(fs)
	ask(fs)
	time.Sleep(3 * time.Second)
	carriers, err := c.carriers(ctx, fs)
	if err != nil {
		return err
	}
	per := perDirector(2, carriers)
	fmt.Fprintf(w, "40 flows with d2 announcing MED 100: d1 %d, d2 %d\n", per[0], per[1])
	if per[1] != 0 || per[0] != len(fs) {
		return fmt.Errorf("the backup carries flows: %v", per)
	}
	start := time.Now()
	if err := c.kill(0); err != nil {
		return err
	}
	if _, err := c.waitHops(ctx, 1); err != nil {
		return err
	}
	for {
		hops, err := c.nextHops()
		if err != nil {
			return err
		}
		if len(hops) == 1 && hops[0] == directorIP(1) {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	o := ask(fs)
	fmt.Fprintf(w, "d1 killed: the backup carries the VIP %v later; the 40 flows: %v\n", took.Round(time.Millisecond), o)
	if o.same != len(fs) {
		return fmt.Errorf("synced flows broke on the backup: %v", o)
	}
	return nil
}

// withdraw: a director withdrawn while flows send a request every 100 ms.
func withdraw(ctx context.Context, w io.Writer) error {
	c, err := build(ctx, options{directors: 3, sync: true, sloppy: true})
	if err != nil {
		return err
	}
	defer c.close()
	if _, err := c.waitHops(ctx, 3); err != nil {
		return err
	}
	fs, err := c.openFlows(60)
	if err != nil {
		return err
	}
	defer closeFlows(fs)
	ask(fs)
	time.Sleep(3 * time.Second) // synced
	carriers, err := c.carriers(ctx, fs)
	if err != nil {
		return err
	}
	onD1 := perDirector(3, carriers)[0]
	// Every flow asks every 100 ms until told to stop.
	type tally struct{ requests, broken, moved int }
	results := make(chan tally, len(fs))
	stop := make(chan struct{})
	for _, f := range fs {
		go func() {
			var t tally
			for {
				select {
				case <-stop:
					results <- t
					return
				case <-time.After(100 * time.Millisecond):
				}
				rs, err := f.get()
				t.requests++
				switch {
				case err != nil:
					t.broken++
				case rs != f.rs:
					t.moved++
				}
			}
		}()
	}
	time.Sleep(time.Second)
	start := time.Now()
	c.procs[0].Process.Signal(syscall.SIGUSR1)
	if _, err := c.waitHops(ctx, 2); err != nil {
		close(stop)
		return err
	}
	withdrawn := time.Since(start)
	d1, err := director.New(&director.Options{NetNS: int(c.lab.Host("d1").NS()), StateFile: filepath.Join(c.dir, "d1.state")})
	if err != nil {
		close(stop)
		return err
	}
	err = d1.WaitIdle(ctx, 4*time.Second)
	d1.Close()
	idle := time.Since(start)
	close(stop)
	var total tally
	for range fs {
		t := <-results
		total.requests, total.broken, total.moved = total.requests+t.requests, total.broken+t.broken, total.moved+t.moved
	}
	if err != nil {
		return fmt.Errorf("d1 never went idle: %w", err)
	}
	fmt.Fprintf(w, "d1 withdrawn with %d of 60 flows: the router dropped it after %v; d1 idle (no packet for 4 s) %v after the withdrawal\n",
		onD1, withdrawn.Round(time.Millisecond), idle.Round(time.Second))
	fmt.Fprintf(w, "60 flows asking every 100 ms meanwhile: %d requests, %d reset or timed out, %d answered by another real server\n",
		total.requests, total.broken, total.moved)
	if total.broken+total.moved > 0 {
		return fmt.Errorf("the withdrawal broke flows")
	}
	return nil
}
