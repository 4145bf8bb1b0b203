package ipvs

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

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

// TestRequestsMatchIpvsadm: for each command, the client sends what
// ipvsadm sent to the real kernel, attribute for attribute (and, where
// ipvsadm sends a whole service just to name one, the SDK's identifying
// subset), framed as the kernel wants it: one netlink message of the
// family's type, a request to acknowledge, numbered one after the last.
func TestRequestsMatchIpvsadm(t *testing.T) {
	fx := loadFixtures(t)
	tr := &recordTransport{}
	// Features are accepted (no release, no policy): GUE is sent.
	c := &Client{c: &client{t: tr, family: 30, facts: &kernelFacts{}}}
	for _, cmd := range ipvsCommands {
		t.Run(cmd.args, func(t *testing.T) {
			var theirs []byte
			for _, m := range fx.requests[cmd.args] {
				if len(m) >= 4 && m[0] == cmd.cmd {
					theirs = m
				}
			}
			if theirs == nil {
				t.Fatalf("no captured request with command %d", cmd.cmd)
			}
			if theirs[1] != familyVersion {
				t.Errorf("ipvsadm used version %d", theirs[1])
			}
			tr.sent = nil
			seq := c.c.seq
			if err := cmd.call(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if len(tr.sent) != 1 {
				t.Fatalf("%d sendmsg calls, want 1", len(tr.sent))
			}
			b := tr.sent[0]
			h := struct {
				len          uint32
				typ, flags   uint16
				seq, portID  uint32
				cmd, version uint8
				reserved     uint16
			}{binary.NativeEndian.Uint32(b), binary.NativeEndian.Uint16(b[4:]), binary.NativeEndian.Uint16(b[6:]),
				binary.NativeEndian.Uint32(b[8:]), binary.NativeEndian.Uint32(b[12:]), b[16], b[17], binary.NativeEndian.Uint16(b[18:])}
			if int(h.len) != len(b) || len(b)%4 != 0 || h.typ != 30 || h.flags != nlmRequest|nlmAck || h.seq != seq+1 || h.portID != 0 {
				t.Errorf("netlink header %+v of a %d-byte sendmsg, want one message of type 30, flags request|ack, sequence %d", h, len(b), seq+1)
			}
			if h.cmd != theirs[0] || h.version != theirs[1] || h.reserved != 0 {
				t.Errorf("generic-netlink header %d, %d, %d; ipvsadm's %d, %d", h.cmd, h.version, h.reserved, theirs[0], theirs[1])
			}
			want, got := attrs(t, theirs[4:]), attrs(t, b[nlmsgHeaderLen+genlHeaderLen:])
			for k, v := range got {
				if want[k] != v {
					t.Errorf("attribute %s: sdk %s, ipvsadm %q", k, v, want[k])
				}
			}
			if cmd.exact {
				for k, v := range want {
					if _, ok := got[k]; !ok && !slices.Contains(cmd.extra, k) {
						t.Errorf("attribute %s=%s sent by ipvsadm, not by the sdk", k, v)
					}
				}
			}
		})
	}
}

// recordTransport is a kernel that acknowledges every request that asks
// (NLM_F_ACK) and keeps
// what each sendmsg carried.
type recordTransport struct {
	sent  [][]byte
	queue [][]byte
}

func (r *recordTransport) send(b []byte) error {
	r.sent = append(r.sent, append([]byte(nil), b...))
	msgs, err := splitMessages(b)
	for _, m := range msgs {
		if m.Header.Flags&netlink.Acknowledge != 0 {
			r.queue = append(r.queue, frame(nlmsgError, 0, m.Header.Sequence, make([]byte, 4)))
		}
	}
	return err
}

func (r *recordTransport) recv(buf []byte) (int, error) {
	if len(r.queue) == 0 {
		return 0, errors.New("no reply pending")
	}
	n := copy(buf, r.queue[0])
	r.queue = r.queue[1:]
	return n, nil
}

func (r *recordTransport) drain([]byte)                { r.queue = nil }
func (r *recordTransport) setDeadline(time.Time) error { return nil }
func (r *recordTransport) close() error                { return nil }

// TestTableFromKernelReplies: the client reads the kernel's replies for
// crossRules, as the kernel sent them to Client.Table (captured through
// nlmon), into crossTable: every step of the receive path is the real
// one, datagrams of several messages, multi-part dumps ended by
// NLMSG_DONE, the info reply and the re-read of a service without
// destinations.
func TestTableFromKernelReplies(t *testing.T) {
	tr := &replayTransport{replies: loadFixtures(t).replies}
	c := &Client{c: &client{t: tr, family: 30}}
	tb, err := c.Table(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.replies) != 0 {
		t.Errorf("%d captured replies were never asked for", len(tr.replies))
	}
	if want := (Info{Version: 1<<16 | 2<<8 | 1, ConnTableSize: 4096}); tb.Info != want {
		t.Errorf("info %+v, want %+v", tb.Info, want)
	}
	if len(tb.Services) != len(crossTable) {
		t.Errorf("%d services, want %d", len(tb.Services), len(crossTable))
	}
	byAddr := func(a, b Destination) int { return a.Addr.Compare(b.Addr) }
	for _, ts := range crossTable {
		want := expectService(ts.Service)
		i := slices.IndexFunc(tb.Services, func(s TableService) bool { return s.Key() == want.Key() })
		if i < 0 {
			t.Errorf("service %v missing", want)
			continue
		}
		if got := tb.Services[i]; got.Service != want {
			t.Errorf("service\n got  %+v\n want %+v", got.Service, want)
		}
		var wantDests []Destination
		for _, d := range ts.Destinations {
			if d.Forward == Local {
				d.Forward = DirectRoute // loaded by ipvsadm -R, which writes -g for it
			}
			wantDests = append(wantDests, d)
		}
		got := slices.SortedFunc(slices.Values(tb.Services[i].Destinations), byAddr)
		slices.SortFunc(wantDests, byAddr)
		if len(got) != len(wantDests) || (len(got) > 0 && !slices.Equal(got, wantDests)) {
			t.Errorf("destinations of %v\n got  %+v\n want %+v", want, got, wantDests)
		}
	}
}

// replayTransport answers the requests of Client.Table with the kernel's
// captured replies, in the order it sent them: a dump of services is the
// run of service replies up to the first one repeated (the re-read of a
// service without destinations), a dump of destinations the run of
// destination replies that crossTable gives the service (the kernel's
// replies do not name it), each dump part flagged multi and ended by
// NLMSG_DONE, three messages to a datagram.
type replayTransport struct {
	replies [][]byte // generic-netlink payloads
	queue   [][]byte
}

const cmdSetInfo = 14 // IPVS_CMD_SET_INFO, the command of the kernel's info reply

func (r *replayTransport) send(b []byte) error {
	reqs, err := splitMessages(b)
	if err != nil {
		return err
	}
	if len(reqs) != 1 {
		return fmt.Errorf("%d requests in one sendmsg", len(reqs))
	}
	req := reqs[0]
	seq, cmd, dump := req.Header.Sequence, req.Data[0], req.Header.Flags&netlink.Dump != 0
	// take takes the run of replies of command want (one unless many),
	// up to a service already taken, or a destination crossTable does not
	// give the service the request names.
	take := func(want uint8, many bool) [][]byte {
		var out [][]byte
		seen := map[Key]bool{}
		for len(r.replies) > 0 && r.replies[0][0] == want && (many || len(out) == 0) {
			switch want {
			case cmdNewService:
				k := replyKey(r.replies[0])
				if seen[k] {
					return out
				}
				seen[k] = true
			case cmdNewDest:
				if !slices.Contains(crossDests(replyKey(req.Data)), replyDest(r.replies[0])) {
					return out
				}
			}
			out = append(out, r.replies[0])
			r.replies = r.replies[1:]
		}
		return out
	}
	var msgs [][]byte
	switch {
	case cmd == cmdGetInfo && !dump:
		for _, m := range take(cmdSetInfo, false) {
			msgs = append(msgs, frame(30, 0, seq, m))
		}
	case (cmd == cmdGetService || cmd == cmdGetDest) && dump:
		reply := uint8(cmdNewService)
		if cmd == cmdGetDest {
			reply = cmdNewDest
		}
		for _, m := range take(reply, true) {
			msgs = append(msgs, frame(30, netlink.Multi, seq, m))
		}
		msgs = append(msgs, frame(nlmsgDone, netlink.Multi, seq, make([]byte, 4)))
	case cmd == cmdGetService:
		for _, m := range take(cmdNewService, false) {
			msgs = append(msgs, frame(30, 0, seq, m))
		}
	}
	if len(msgs) == 0 {
		return fmt.Errorf("no captured reply for command %d (dump %v)", cmd, dump)
	}
	for i := 0; i < len(msgs); i += 3 {
		r.queue = append(r.queue, slices.Concat(msgs[i:min(i+3, len(msgs))]...))
	}
	return nil
}

// crossDests are the addresses of the destinations crossTable gives the
// service k.
func crossDests(k Key) []netip.AddrPort {
	var out []netip.AddrPort
	for _, ts := range crossTable {
		if ts.Key() == k {
			for _, d := range ts.Destinations {
				out = append(out, d.Addr)
			}
		}
	}
	return out
}

// replyDest is the address of the destination in a reply.
func replyDest(m []byte) netip.AddrPort {
	b, err := nested(m[genlHeaderLen:], cmdAttrDest)
	if err != nil {
		return netip.AddrPort{}
	}
	d, err := parseDest(b, 0)
	if err != nil {
		return netip.AddrPort{}
	}
	return d.Addr
}

// replyKey is the key of the service in a message (a reply, or a request
// naming one); the zero Key if none.
func replyKey(m []byte) Key {
	b, err := nested(m[genlHeaderLen:], cmdAttrService)
	if err != nil {
		return Key{}
	}
	s, err := parseService(b)
	if err != nil {
		return Key{}
	}
	return s.Key()
}

func (r *replayTransport) recv(buf []byte) (int, error) {
	if len(r.queue) == 0 {
		return 0, errors.New("no reply pending")
	}
	n := copy(buf, r.queue[0])
	r.queue = r.queue[1:]
	return n, nil
}

func (r *replayTransport) drain([]byte)                { r.queue = nil }
func (r *replayTransport) setDeadline(time.Time) error { return nil }
func (r *replayTransport) close() error                { return nil }

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
