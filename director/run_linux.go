package director

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/lvs-go/lvs/internal/netnsx"
)

// Run applies cfg, then keeps the namespace matching it while health
// checks fail and recover, and applies each configuration received on
// reload, until ctx is done. With Options.Drain it also collects drained
// real servers. report, if not nil, is called from Run's goroutine.
func (d *Director) Run(ctx context.Context, cfg *Config, reload <-chan *Config, report func(Report)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if report == nil {
		report = func(Report) {}
	}
	failed := map[target]bool{}
	apply := func() {
		p, err := d.Plan(ctx, effective(cfg, failed))
		if err == nil && p.Len() > 0 {
			err = d.Apply(ctx, p)
		}
		if err != nil || (p != nil && p.Len() > 0) {
			report(Report{Time: time.Now(), Plan: p, Err: err})
		}
	}
	changes := make(chan change)
	stop := d.startChecks(ctx, cfg, changes)
	defer func() { stop() }()
	apply()
	var collect <-chan time.Time
	if d.opts.Drain > 0 {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		collect = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-changes:
			failed[c.tg] = !c.e.Healthy
			report(Report{Time: time.Now(), Health: &c.e})
			apply()
		case n, ok := <-reload:
			if !ok {
				reload = nil
				continue
			}
			if err := n.Validate(); err != nil {
				report(Report{Time: time.Now(), Err: err})
				continue
			}
			stop()
			cfg = n
			targets := checkTargets(cfg)
			for tg := range failed {
				if _, ok := targets[tg]; !ok {
					delete(failed, tg)
				}
			}
			stop = d.startChecks(ctx, cfg, changes)
			apply()
		case <-collect:
			n, err := d.Collect(ctx)
			if n > 0 || err != nil {
				report(Report{Time: time.Now(), Collected: n, Err: err})
			}
		}
	}
}

// change is a health change of one target.
type change struct {
	tg target
	e  Event
}

// startChecks runs the configuration's health checks, each real server in
// a goroutine of its own, at most Options.MaxChecks probing at once, and
// sends each health change on changes. The returned func stops them and
// waits for them to end.
func (d *Director) startChecks(ctx context.Context, cfg *Config, changes chan<- change) func() {
	ctx, cancel := context.WithCancel(ctx)
	max := d.opts.MaxChecks
	if max <= 0 {
		max = 32
	}
	sem := make(chan struct{}, max)
	var wg sync.WaitGroup
	for tg, chk := range checkTargets(cfg) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tl tally
			tick := time.NewTicker(time.Duration(chk.Interval))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case sem <- struct{}{}:
				}
				err := d.probe(ctx, tg, chk)
				<-sem
				if ctx.Err() != nil {
					return
				}
				if tl.add(err == nil, chk, err) {
					e := Event{Service: tg.svc.String(), RealServer: tg.addr, Healthy: !tl.failed, Err: err}
					select {
					case changes <- change{tg, e}:
					case <-ctx.Done():
						return
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// probe runs one check of one real server from the director's namespace.
func (d *Director) probe(ctx context.Context, tg target, chk Check) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(chk.Timeout))
	defer cancel()
	port := chk.Port
	if port == 0 {
		port = tg.addr.Port()
	}
	addr := netip.AddrPortFrom(tg.addr.Addr(), port).String()
	switch chk.Type {
	case "tcp":
		c, err := d.dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	case "http", "https":
		tr := &http.Transport{DialContext: d.dial, DisableKeepAlives: true, Proxy: nil,
			// A health check asks whether the server answers, not who it is.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, chk.Type+"://"+addr+chk.Path, nil)
		if err != nil {
			return err
		}
		if chk.Host != "" {
			req.Host = chk.Host
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode != chk.Status {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, chk.Status)
		}
		return nil
	case "command":
		cmd := exec.CommandContext(ctx, chk.Command[0], chk.Command[1:]...)
		cmd.Env = append(os.Environ(), "LVS_RS_ADDR="+tg.addr.Addr().String(), "LVS_RS_PORT="+strconv.Itoa(int(port)))
		// Started from a thread inside the namespace, the process is in it.
		if err := netnsx.Do(d.netns, cmd.Start); err != nil {
			return err
		}
		return cmd.Wait()
	}
	return fmt.Errorf("unknown check type %q", chk.Type)
}

// dial opens a connection from the director's namespace.
func (d *Director) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := netnsx.Do(d.netns, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
