package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
)

// flow is one client's keep-alive connection to the VIP.
type flow struct {
	local netip.AddrPort
	conn  net.Conn
	br    *bufio.Reader
	rs    string // the real server that answered its first request
}

// openFlows opens n flows from the client's addresses (192.168.10.100 to
// .199, then again from other ports), each with a first request.
func (c *cluster) openFlows(n int) ([]*flow, error) {
	return dialFlows(c.client, func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 168, 10, byte(100 + i%100)}) }, n)
}

// dialFlows opens n flows from client, flow i from the address src(i).
func dialFlows(client *lab.Host, src func(int) netip.Addr, n int) ([]*flow, error) {
	var out []*flow
	for i := range n {
		src := src(i)
		var conn net.Conn
		err := client.Do(func() (err error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 3 * time.Second}
			conn, err = d.Dial("tcp", netip.AddrPortFrom(vip, 80).String())
			return
		})
		if err != nil {
			closeFlows(out)
			return nil, fmt.Errorf("flow %d from %v: %w", i, src, err)
		}
		f := &flow{local: netip.MustParseAddrPort(conn.LocalAddr().String()), conn: conn, br: bufio.NewReader(conn)}
		if f.rs, err = f.get(); err != nil {
			closeFlows(append(out, f))
			return nil, fmt.Errorf("flow %d (%v): first request: %w", i, f.local, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// get makes a request on the flow's connection and returns the answer.
func (f *flow) get() (string, error) {
	f.conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(f.conn, "GET / HTTP/1.1\r\nHost: 10.0.0.100\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(f.br, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

func closeFlows(fs []*flow) {
	for _, f := range fs {
		f.conn.Close()
	}
}

// outcome is what happened to flows asked once more: answered by the same
// real server, by another one, or reset (or timed out).
type outcome struct{ same, moved, broken int }

func (o outcome) String() string {
	return fmt.Sprintf("%d kept their real server, %d answered by another, %d reset or timed out", o.same, o.moved, o.broken)
}

// ask makes one more request on each flow.
func ask(fs []*flow) outcome {
	var o outcome
	for _, f := range fs {
		rs, err := f.get()
		switch {
		case err != nil:
			o.broken++
		case rs == f.rs:
			o.same++
		default:
			o.moved++
		}
	}
	return o
}
