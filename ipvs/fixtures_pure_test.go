package ipvs

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
)

type fixture struct {
	requests map[string][][]byte // by ipvsadm args
	replies  [][]byte
}

func loadFixtures(t testing.TB) fixture {
	t.Helper()
	f, err := os.Open("testdata/kernel.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := fixture{requests: map[string][][]byte{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "request":
			args, h, _ := strings.Cut(rest, "|")
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			fx.requests[args] = append(fx.requests[args], b)
		case "reply":
			b, err := hex.DecodeString(rest)
			if err != nil {
				t.Fatal(err)
			}
			fx.replies = append(fx.replies, b)
		default:
			t.Fatalf("bad fixture line %q", line)
		}
	}
	return fx
}

// attrs flattens a message's attributes into "path=hex" entries, descending
// into the nested service, destination and daemon attributes.
func attrs(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(prefix string, b []byte, nest bool)
	walk = func(prefix string, b []byte, nest bool) {
		ad, err := netlink.NewAttributeDecoder(b)
		if err != nil {
			t.Fatal(err)
		}
		for ad.Next() {
			key := fmt.Sprintf("%s%d", prefix, ad.Type())
			if nest && ad.Type() >= cmdAttrService && ad.Type() <= cmdAttrDaemon {
				walk(key+".", ad.Bytes(), false)
				continue
			}
			out[key] = hex.EncodeToString(ad.Bytes())
		}
		if err := ad.Err(); err != nil {
			t.Fatal(err)
		}
	}
	walk("", b, true)
	return out
}

// TestRequestsMatchIpvsadm: for each command, the SDK sends what ipvsadm
// sent to the real kernel, attribute for attribute (and, where ipvsadm sends
// a whole service just to name one, the SDK's identifying subset).
func TestRequestsMatchIpvsadm(t *testing.T) {
	fx := loadFixtures(t)
	for _, c := range ipvsCommands {
		t.Run(c.args, func(t *testing.T) {
			var theirs []byte
			for _, m := range fx.requests[c.args] {
				if len(m) >= 4 && m[0] == c.cmd {
					theirs = m
				}
			}
			if theirs == nil {
				t.Fatalf("no captured request with command %d", c.cmd)
			}
			if theirs[1] != familyVersion {
				t.Errorf("ipvsadm used version %d", theirs[1])
			}
			var ours []byte
			if c.enc != nil {
				ae := newAttrWriter()
				c.enc(ae)
				b, err := ae.Encode()
				if err != nil {
					t.Fatal(err)
				}
				ours = b
			}
			want, got := attrs(t, theirs[4:]), attrs(t, ours)
			for k, v := range got {
				if want[k] != v {
					t.Errorf("attribute %s: sdk %s, ipvsadm %q", k, v, want[k])
				}
			}
			if c.exact {
				for k, v := range want {
					if _, ok := got[k]; !ok && !slices.Contains(c.extra, k) {
						t.Errorf("attribute %s=%s sent by ipvsadm, not by the sdk", k, v)
					}
				}
			}
		})
	}
}

// TestParseKernelReplies decodes the kernel's dump replies for crossRules
// into exactly crossTable's services and destinations.
func TestParseKernelReplies(t *testing.T) {
	fx := loadFixtures(t)
	var svcs []string
	var dests []string
	for _, m := range fx.replies {
		switch m[0] {
		case cmdNewService:
			b, err := nested(m[4:], cmdAttrService)
			if err != nil {
				t.Fatal(err)
			}
			s, err := parseService(b)
			if err != nil {
				t.Fatal(err)
			}
			// Listing destinations of a service without any re-reads the
			// service, so the same service may come twice.
			if str := fmt.Sprintf("%+v", s); !slices.Contains(svcs, str) {
				svcs = append(svcs, str)
			}
		case cmdNewDest:
			b, err := nested(m[4:], cmdAttrDest)
			if err != nil {
				t.Fatal(err)
			}
			d, err := parseDest(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			dests = append(dests, fmt.Sprintf("%+v", d))
		}
	}
	var wantSvcs, wantDests []string
	for _, ts := range crossTable {
		wantSvcs = append(wantSvcs, fmt.Sprintf("%+v", expectService(ts.Service)))
		for _, d := range ts.Destinations {
			if d.Forward == Local {
				d.Forward = DirectRoute // loaded by ipvsadm -R, which writes -g for it
			}
			wantDests = append(wantDests, fmt.Sprintf("%+v", d))
		}
	}
	for _, l := range [][]string{svcs, dests, wantSvcs, wantDests} {
		sort.Strings(l)
	}
	if strings.Join(svcs, "\n") != strings.Join(wantSvcs, "\n") {
		t.Errorf("services:\n%s\nwant:\n%s", strings.Join(svcs, "\n"), strings.Join(wantSvcs, "\n"))
	}
	if strings.Join(dests, "\n") != strings.Join(wantDests, "\n") {
		t.Errorf("destinations:\n%s\nwant:\n%s", strings.Join(dests, "\n"), strings.Join(wantDests, "\n"))
	}
}
