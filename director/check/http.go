package check

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/http/httpguts"
)

// HTTP is the "http" check: a GET of Path, healthy when the answer's
// status is one of Status and its body matches BodyRegexp and has the MD5
// Digest, where they are set. A redirect is judged by its status, never
// followed. It reads at most 64 KiB of the answer's header, the body's
// first 64 KiB for BodyRegexp and, for Digest, the whole body up to 16
// MiB (a longer one fails the check, ErrTooLong), all within the check's
// timeout.
type HTTP struct {
	// Path is what the check GETs, with its query if any: "/" if empty.
	Path string `json:"path,omitempty"`
	// Host sets the request's Host header (and is the name an https
	// check verifies, unless ServerName is set).
	Host string `json:"host,omitempty"`
	// Headers are added to the request: names and values without
	// control characters; not Host, which Host sets, nor Content-Length,
	// Transfer-Encoding or Trailer.
	Headers map[string]string `json:"headers,omitempty"`
	// Status lists the statuses that pass: 200 if empty. Files write a
	// number or a list: 200, [200, 301].
	Status Statuses `json:"status,omitempty"`
	// BodyRegexp, if set, must match the body's first 64 KiB (Go's RE2
	// syntax).
	BodyRegexp string `json:"bodyRegexp,omitempty"`
	// Digest, if set, must be the whole body's MD5 digest, 32 hex digits
	// in either case (keepalived's HTTP_GET digest, as its genhash
	// prints it).
	Digest string `json:"digest,omitempty"`
}

// Statuses are HTTP statuses. Files write one as a number, several as a
// list; they are written back as a list.
type Statuses []int

// UnmarshalJSON reads a number or a list of numbers.
func (l *Statuses) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*l = Statuses{n}
		return nil
	}
	var ns []int
	if err := json.Unmarshal(b, &ns); err != nil {
		return fmt.Errorf("want a number or a list of numbers, got %s", b)
	}
	*l = ns
	return nil
}

// The bounds of what an http check reads.
const (
	httpHeaderLimit = 64 << 10 // the answer's header
	bodyLimit       = 64 << 10 // the body BodyRegexp reads
	digestLimit     = 16 << 20 // the body Digest reads
)

// Type is "http".
func (HTTP) Type() string { return "http" }

// Compile checks the fields and fills in Path (/) and Status (200).
func (h HTTP) Compile() (Checker, error) {
	p, err := h.compile("http")
	if err != nil {
		return nil, err
	}
	return p, nil
}

// compile is h's checker for scheme, without its TLS configuration.
func (h HTTP) compile(scheme string) (httpChecker, error) {
	if h.Path == "" {
		h.Path = "/"
	}
	if len(h.Status) == 0 {
		h.Status = Statuses{200}
	}
	path, query, _ := strings.Cut(h.Path, "?")
	switch {
	case !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//"):
		return httpChecker{}, fmt.Errorf("path %q does not start with a single /", h.Path)
	case strings.ContainsAny(h.Path, "# ") || strings.ContainsFunc(h.Path, unicode.IsControl):
		return httpChecker{}, fmt.Errorf("path %q: no spaces, control characters or #", h.Path)
	case strings.ContainsFunc(h.Host, func(r rune) bool { return unicode.IsControl(r) || r == ' ' || r == '/' || r == '@' }):
		return httpChecker{}, fmt.Errorf("host %q is not a host name", h.Host)
	}
	if i := slices.IndexFunc(h.Status, func(s int) bool { return s < 100 || s > 599 }); i >= 0 {
		return httpChecker{}, fmt.Errorf("status %d is not an HTTP status", h.Status[i])
	}
	p := httpChecker{scheme: scheme, path: path, query: query, host: h.Host, status: slices.Clone(h.Status)}
	var err error
	if p.header, err = requestHeader(h.Headers); err != nil {
		return httpChecker{}, err
	}
	if h.BodyRegexp != "" {
		if p.body, err = regexp.Compile(h.BodyRegexp); err != nil {
			return httpChecker{}, fmt.Errorf("bodyRegexp: %w", err)
		}
	}
	if h.Digest != "" {
		if b, err := hex.DecodeString(h.Digest); err != nil || len(b) != md5.Size {
			return httpChecker{}, fmt.Errorf("digest %q is not an MD5 digest (32 hex digits)", h.Digest)
		}
		p.digest = strings.ToLower(h.Digest)
	}
	return p, nil
}

// requestHeader is HTTP.Headers as a request's header: valid names and
// values, none twice, and none that the request would drop or that Host
// says.
func requestHeader(h map[string]string) (http.Header, error) {
	if len(h) == 0 {
		return nil, nil
	}
	header := http.Header{}
	for _, name := range slices.Sorted(maps.Keys(h)) {
		value := h[name]
		key := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			return nil, fmt.Errorf("header %q: not a header name", name)
		case !httpguts.ValidHeaderFieldValue(value) || strings.ContainsFunc(value, unicode.IsControl):
			return nil, fmt.Errorf("header %s: value %q has control characters", name, value)
		case key == "Host":
			return nil, fmt.Errorf("header %s: set host instead", name)
		case key == "Content-Length" || key == "Transfer-Encoding" || key == "Trailer":
			return nil, fmt.Errorf("header %s: a GET without a body has none", name)
		case header.Get(key) != "":
			return nil, fmt.Errorf("header %s: given twice", name)
		}
		header.Set(key, value)
	}
	return header, nil
}

// httpChecker is an http or https check, compiled.
type httpChecker struct {
	scheme, path, query, host string
	header                    http.Header
	status                    []int
	body                      *regexp.Regexp
	digest                    string      // lower-case hex
	tls                       *tls.Config // https
}

func (p httpChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	tr := &http.Transport{DialContext: env.Dial, DisableKeepAlives: true, Proxy: nil, MaxResponseHeaderBytes: httpHeaderLimit}
	if p.tls != nil {
		tr.TLSClientConfig = tlsConfigFor(p.tls, target)
	}
	defer tr.CloseIdleConnections()
	// The URL is built from its parts: the path can never name another
	// host (as "@other:80/" pasted after host:port would).
	u := &url.URL{Scheme: p.scheme, Host: target.String(), Path: p.path, RawQuery: p.query}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	for k, v := range p.header {
		req.Header[k] = v
	}
	if p.host != "" {
		req.Host = p.host
	}
	// A redirect is the answer: it is judged by its status, never followed
	// to wherever its Location points.
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := limitReader(resp.Body, digestLimit, "body")
	head, err := io.ReadAll(io.LimitReader(body, bodyLimit))
	switch {
	case !slices.Contains(p.status, resp.StatusCode):
		return fmt.Errorf("status %d, want %s", resp.StatusCode, statusString(p.status))
	case err != nil:
		return fmt.Errorf("body: %w", err)
	case p.body != nil && !p.body.Match(head):
		return fmt.Errorf("body does not match %q", p.body)
	case p.digest == "":
		return nil
	}
	// The digest is the whole body's.
	sum := md5.New()
	sum.Write(head)
	if _, err := io.Copy(sum, body); err != nil {
		if errors.Is(err, ErrTooLong) {
			return err
		}
		return fmt.Errorf("body: %w", err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != p.digest {
		return fmt.Errorf("body digest %s, want %s", got, p.digest)
	}
	return nil
}

// statusString is "200", or "200 or 301".
func statusString(s []int) string {
	var b strings.Builder
	for i, n := range s {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}
