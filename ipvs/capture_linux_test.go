package ipvs

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// captureEnv turns on TestCaptureFixtures, which regenerates
// testdata/kernel.txt: LVS_CAPTURE=1 go test -run TestCaptureFixtures -v ./ipvs
// then keep the lines after "FIXTURE ".
const captureEnv = "LVS_CAPTURE"

// TestCaptureFixtures records, through an nlmon tap, the generic-netlink
// messages ipvsadm sends for each of ipvsCommands and the kernel's dump
// replies for crossRules, and prints them as fixture lines.
func TestCaptureFixtures(t *testing.T) {
	if os.Getenv(captureEnv) != "1" {
		t.Skip("set LVS_CAPTURE=1 to regenerate testdata/kernel.txt")
	}
	vmtest.Require(t, "ip_vs", "nlmon")
	c, ns := testClient(t)
	fam := c.c.family
	tap := newTap(t, ns)
	for _, cmd := range ipvsCommands {
		ipvsadm(t, ns, "", "-C")
		if cmd.setup != "" {
			ipvsadm(t, ns, cmd.setup+"\n", "-R")
		}
		tap.drain()
		ipvsadm(t, ns, "", strings.Fields(cmd.args)...)
		for _, m := range tap.read(t, fam, true) {
			fmt.Printf("FIXTURE request %s|%s\n", cmd.args, hex.EncodeToString(m))
		}
	}
	ipvsadm(t, ns, "", "-C")
	ipvsadm(t, ns, crossRules, "-R")
	tap.drain()
	if _, err := c.Table(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, m := range tap.read(t, fam, false) {
		fmt.Printf("FIXTURE reply %s\n", hex.EncodeToString(m))
	}
}

// tap is an AF_PACKET socket on an nlmon device: it sees every netlink
// message of its namespace.
type tap struct{ fd int }

func newTap(t *testing.T, ns int) *tap {
	rt, err := rtnetlink.Dial(&netlink.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Link.New(&rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{
		Name: "nlmon0", Info: &rtnetlink.LinkInfo{Kind: "nlmon"}}}); err != nil {
		t.Fatalf("nlmon: %v", err)
	}
	links, err := rt.Link.List()
	if err != nil {
		t.Fatal(err)
	}
	var idx uint32
	for _, l := range links {
		if l.Attributes.Name == "nlmon0" {
			idx = l.Index
		}
	}
	if err := rt.Link.Set(&rtnetlink.LinkMessage{Index: idx, Flags: unix.IFF_UP, Change: unix.IFF_UP}); err != nil {
		t.Fatal(err)
	}
	var fd int
	err = nstest.Do(netns.NsHandle(ns), func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: int(idx)})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &tap{fd: fd}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (tp *tap) drain() {
	buf := make([]byte, 1<<16)
	for {
		if _, _, err := unix.Recvfrom(tp.fd, buf, 0); err != nil {
			return
		}
	}
}

// read returns the generic-netlink payloads (genl header and attributes) of
// the IPVS messages seen until the tap is quiet: those user space sent if
// fromUser, else those the kernel sent.
func (tp *tap) read(t *testing.T, family uint16, fromUser bool) [][]byte {
	var out [][]byte
	buf := make([]byte, 1<<20)
	for {
		n, from, err := unix.Recvfrom(tp.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := from.(*unix.SockaddrLinklayer); !ok {
			continue
		}
		msgs, err := syscallParse(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			// Requests carry NLM_F_REQUEST; the kernel's messages do not.
			user := m.Header.Flags&netlink.Request != 0
			if uint16(m.Header.Type) == family && user == fromUser {
				out = append(out, append([]byte(nil), m.Data...))
			}
		}
	}
}

func syscallParse(b []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(b) >= 16 {
		var m netlink.Message
		if err := m.UnmarshalBinary(b); err != nil {
			return nil, err
		}
		l := int(m.Header.Length)
		if l < 16 || l > len(b) {
			return nil, fmt.Errorf("bad netlink length %d", l)
		}
		out = append(out, m)
		b = b[(l+3)&^3:]
	}
	return out, nil
}
