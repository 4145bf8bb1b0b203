package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
	"strings"
	"unicode"
)

// SMTP is the "smtp" check: healthy when the server's banner (one line
// or several) is a 220 and, with Helo set, HELO Helo is answered 250. The
// check ends with QUIT, whose answer it does not wait for. It reads at
// most 32 KiB from the server in all (a banner or an answer longer than
// that fails the check, ErrTooLong), within the check's timeout.
type SMTP struct {
	// Helo, if set, is the host name the check says HELO with; without
	// it only the banner is judged.
	Helo string `json:"helo,omitempty"`
}

// Type is "smtp".
func (SMTP) Type() string { return "smtp" }

// Compile checks that Helo is a host name.
func (s SMTP) Compile() (Checker, error) {
	if strings.ContainsFunc(s.Helo, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) || len(s.Helo) > 255 {
		return nil, fmt.Errorf("helo %q is not a host name (ASCII, no spaces or control characters)", s.Helo)
	}
	return smtpChecker{s.Helo}, nil
}

type smtpChecker struct{ helo string }

// smtpReadLimit is the most the check reads from the server: its banner
// and its answer to HELO (RFC 5321 allows 512 bytes a line; this is 64
// such lines).
const smtpReadLimit = 32 << 10

func (p smtpChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	c, err := env.Dial(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	defer c.Close()
	defer follow(ctx, c)()
	r := textproto.NewReader(bufio.NewReader(limitReader(c, smtpReadLimit, "replies")))
	w := textproto.NewWriter(bufio.NewWriter(c))
	if _, _, err := r.ReadResponse(220); err != nil {
		return fmt.Errorf("smtp %v: banner: %w", target, replyError(err))
	}
	if p.helo != "" {
		if err := w.PrintfLine("HELO %s", p.helo); err != nil {
			return fmt.Errorf("smtp %v: %w", target, err)
		}
		if _, _, err := r.ReadResponse(250); err != nil {
			return fmt.Errorf("smtp %v: HELO: %w", target, replyError(err))
		}
	}
	w.PrintfLine("QUIT")
	return nil
}

// smtpReply is a reply other than the one expected, printed the same way
// whatever Go release formats textproto.Error: `554 "no service"`.
type smtpReply struct{ reply *textproto.Error }

func (e smtpReply) Error() string { return fmt.Sprintf("%03d %q", e.reply.Code, e.reply.Msg) }
func (e smtpReply) Unwrap() error { return e.reply }

// replyError wraps a server's reply in smtpReply; other errors (the
// connection's, or a reply past the bound) are returned as they are.
func replyError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return smtpReply{te}
	}
	return err
}
