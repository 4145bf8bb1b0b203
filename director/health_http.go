package director

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
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

// httpProber is the "http" and "https" check: healthy when GET path
// answers one of the statuses, with a body that matches body (its first
// bodyLimit bytes) and has the MD5 digest, where they are set.
type httpProber struct {
	scheme, path, query, host string
	header                    http.Header
	status                    []int
	body                      *regexp.Regexp
	digest                    string      // lower-case hex
	tls                       *tls.Config // https
}

// bodyLimit is how much of the body BodyRegexp reads.
const bodyLimit = 64 << 10

func newHTTPProber(c *Check) (prober, error)  { return newWebProber("http", c) }
func newHTTPSProber(c *Check) (prober, error) { return newWebProber("https", c) }

// newWebProber fills in Path ("/") and Status (200).
func newWebProber(scheme string, c *Check) (prober, error) {
	if c.Path == "" {
		c.Path = "/"
	}
	if len(c.Status) == 0 {
		c.Status = []int{200}
	}
	path, query, _ := strings.Cut(c.Path, "?")
	switch {
	case !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//"):
		return nil, fmt.Errorf("path %q does not start with a single /", c.Path)
	case strings.ContainsAny(c.Path, "# ") || strings.ContainsFunc(c.Path, unicode.IsControl):
		return nil, fmt.Errorf("path %q: no spaces, control characters or #", c.Path)
	case strings.ContainsFunc(c.Host, func(r rune) bool { return unicode.IsControl(r) || r == ' ' || r == '/' || r == '@' }):
		return nil, fmt.Errorf("host %q is not a host name", c.Host)
	}
	if i := slices.IndexFunc(c.Status, func(s int) bool { return s < 100 || s > 599 }); i >= 0 {
		return nil, fmt.Errorf("status %d is not an HTTP status", c.Status[i])
	}
	p := httpProber{scheme: scheme, path: path, query: query, host: c.Host, status: slices.Clone(c.Status)}
	var err error
	if p.header, err = requestHeader(c.Headers); err != nil {
		return nil, err
	}
	if c.BodyRegexp != "" {
		if p.body, err = regexp.Compile(c.BodyRegexp); err != nil {
			return nil, fmt.Errorf("bodyRegexp: %w", err)
		}
	}
	if c.Digest != "" {
		if b, err := hex.DecodeString(c.Digest); err != nil || len(b) != md5.Size {
			return nil, fmt.Errorf("digest %q is not an MD5 digest (32 hex digits)", c.Digest)
		}
		p.digest = strings.ToLower(c.Digest)
	}
	if scheme == "https" {
		if p.tls, err = newTLSConfig(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// requestHeader is Check.Headers as a request's header: valid names and
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

func (p httpProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	tr := &http.Transport{DialContext: env.dial, DisableKeepAlives: true, Proxy: nil}
	if p.tls != nil {
		tr.TLSClientConfig = tlsConfigFor(p.tls, addr)
	}
	defer tr.CloseIdleConnections()
	// The URL is built from its parts: the path can never name another
	// host (as "@other:80/" pasted after host:port would).
	u := &url.URL{Scheme: p.scheme, Host: addr.String(), Path: p.path, RawQuery: p.query}
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
	head, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
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
	if _, err := io.Copy(sum, resp.Body); err != nil {
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
