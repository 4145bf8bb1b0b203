package check_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"strings"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
)

// Banner is a kind of check of the program's own: healthy when the
// server's first line starts with Prefix ("SSH-2.0-"). It reads one line
// of at most 256 bytes, within the check's timeout.
type Banner struct {
	Prefix string `json:"prefix,omitempty"`
}

// Type is the name configurations give the kind.
func (Banner) Type() string { return "banner" }

// Compile validates the fields, naming them as files do.
func (b Banner) Compile() (check.Checker, error) {
	if b.Prefix == "" {
		return nil, errors.New("needs a prefix")
	}
	return bannerChecker{b.Prefix}, nil
}

type bannerChecker struct{ prefix string }

func (c bannerChecker) Check(ctx context.Context, env check.Env, target netip.AddrPort) error {
	conn, err := env.Dial(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("banner: %w", err)
	}
	if !strings.HasPrefix(line, c.prefix) {
		return fmt.Errorf("banner %q does not start with %q", line, c.prefix)
	}
	return nil
}

// A program adds a kind of check of its own, and its configurations use
// it like any other.
func Example_register() {
	// Once, before reading configurations.
	err := check.Register("banner", check.Kind{New: func() check.Spec { return new(Banner) }, Port: check.PortNeeded})
	if err != nil {
		log.Fatal(err)
	}

	cfg, err := director.Parse([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:22
    check: {type: banner, prefix: SSH-2.0-, interval: 10s}
    realServers:
      - {address: 10.0.0.110:22, forward: dr}
`))
	if err != nil {
		log.Fatal(err)
	}
	c := cfg.Config().Services[0].Check
	fmt.Printf("%s check, prefix %q, every %v\n", c.Spec.Type(), c.Spec.(*Banner).Prefix, c.Interval)

	// What the kind does not read, or refuses, is an error at its line.
	for _, block := range []string{"{type: banner, prefix: SSH, path: /}", "{type: banner}"} {
		_, err = director.Parse([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:22
    check: ` + block + `
    realServers:
      - {address: 10.0.0.110:22, forward: dr}
`))
		fmt.Println(err)
	}
	// Output:
	// banner check, prefix "SSH-2.0-", every 10s
	// director: config: line 5: services[0].check.path: banner checks do not read path (read by http, https)
	// director: config: line 5: services[0].check: banner: needs a prefix
}
