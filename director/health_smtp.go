package director

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
	"strings"
	"time"
	"unicode"
)

// smtpProber is the "smtp" check: healthy when the server's banner (one
// line or several) is a 220 and, with helo set, HELO helo is answered
// 250. The check ends with QUIT, whose answer it does not wait for.
type smtpProber struct{ helo string }

func newSMTPProber(c *Check) (prober, error) {
	if strings.ContainsFunc(c.Helo, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) || len(c.Helo) > 255 {
		return nil, fmt.Errorf("helo %q is not a host name (ASCII, no spaces or control characters)", c.Helo)
	}
	return smtpProber{c.Helo}, nil
}

func (p smtpProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	c, err := env.dial(ctx, "tcp", addr.String())
	if err != nil {
		return err
	}
	tp := textproto.NewConn(c)
	defer tp.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fmt.Errorf("smtp %v: banner: %w", addr, replyError(err))
	}
	if p.helo != "" {
		if err := tp.PrintfLine("HELO %s", p.helo); err != nil {
			return fmt.Errorf("smtp %v: %w", addr, err)
		}
		if _, _, err := tp.ReadResponse(250); err != nil {
			return fmt.Errorf("smtp %v: HELO: %w", addr, replyError(err))
		}
	}
	tp.PrintfLine("QUIT")
	return nil
}

// smtpReply is a reply other than the one expected, printed the same way
// whatever Go release formats textproto.Error: `554 "no service"`.
type smtpReply struct{ reply *textproto.Error }

func (e smtpReply) Error() string { return fmt.Sprintf("%03d %q", e.reply.Code, e.reply.Msg) }
func (e smtpReply) Unwrap() error { return e.reply }

// replyError wraps a server's reply in smtpReply; other errors (the
// connection's) are returned as they are.
func replyError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return smtpReply{te}
	}
	return err
}
