//go:build linux

package main

import (
	"encoding/binary"
	"fmt"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The raw loader is the limit a loader can reach: the messages are encoded
// before the clock starts, so what is timed is the kernel's work and the
// system calls, sent as the SDK's batches are (up to batchSize requests
// per sendmsg, each acknowledged). Its "errors only" variant asks for an
// acknowledgement of each sendmsg's last request alone: the kernel then
// answers the others only if they fail.
const batchSize = 128

// IPVS generic netlink numbers (linux/ip_vs.h).
const (
	cmdNewService = 1
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdGetDest    = 8

	attrService = 1
	attrDest    = 2

	svcAF, svcProtocol, svcAddr, svcPort              = 1, 2, 3, 4
	svcSched, svcFlags, svcTimeout, svcNetmask        = 6, 7, 8, 9
	destAddr, destPort, destFwd, destWeight           = 1, 2, 3, 4
	destUThresh, destLThresh, destAddrFamily          = 5, 6, 11
	fwdMasq                                    uint32 = 0
)

type raw struct {
	fd     int
	family uint16
	seq    uint32
	buf    []byte
}

func openRaw(ns int) (*raw, error) {
	r := &raw{fd: -1, buf: make([]byte, 1<<20)}
	err := netnsx.Do(ns, func() error {
		g, err := genetlink.Dial(nil)
		if err != nil {
			return err
		}
		f, err := g.GetFamily("IPVS")
		g.Close()
		if err != nil {
			return err
		}
		r.family = f.ID
		r.fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
		if err != nil {
			return err
		}
		if err := unix.SetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
			return err
		}
		return unix.Bind(r.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err != nil {
		if r.fd >= 0 {
			unix.Close(r.fd)
		}
		return nil, fmt.Errorf("raw: %w", err)
	}
	return r, nil
}

func (r *raw) close() { unix.Close(r.fd) }

// message appends one request to out: a netlink header, the generic netlink
// header and the attributes ae holds.
func (r *raw) message(out []byte, cmd uint8, flags uint16, ae *netlink.AttributeEncoder) []byte {
	attrs, err := ae.Encode()
	if err != nil {
		panic(err) // fixed, valid attributes
	}
	r.seq++
	n := unix.NLMSG_HDRLEN + 4 + len(attrs)
	out = binary.NativeEndian.AppendUint32(out, uint32(n))
	out = binary.NativeEndian.AppendUint16(out, r.family)
	out = binary.NativeEndian.AppendUint16(out, flags|unix.NLM_F_REQUEST)
	out = binary.NativeEndian.AppendUint32(out, r.seq)
	out = binary.NativeEndian.AppendUint32(out, 0)
	out = append(out, cmd, 1, 0, 0) // command, IPVS_GENL_VERSION, reserved
	return append(out, attrs...)
}

func encodeService(ae *netlink.AttributeEncoder, s ipvs.Service, full bool) {
	ae.Nested(attrService, func(ae *netlink.AttributeEncoder) error {
		ae.Uint16(svcAF, unix.AF_INET)
		ae.Uint16(svcProtocol, unix.IPPROTO_TCP)
		ae.Bytes(svcAddr, s.Addr.Addr().AsSlice())
		ae.Uint16(svcPort, htons(s.Addr.Port()))
		if full {
			ae.String(svcSched, string(s.Scheduler))
			ae.Bytes(svcFlags, make([]byte, 8))
			ae.Uint32(svcTimeout, 0)
			ae.Uint32(svcNetmask, 0xffffffff)
		}
		return nil
	})
}

func encodeDest(ae *netlink.AttributeEncoder, d ipvs.Destination) {
	ae.Nested(attrDest, func(ae *netlink.AttributeEncoder) error {
		ae.Bytes(destAddr, d.Addr.Addr().AsSlice())
		ae.Uint16(destPort, htons(d.Addr.Port()))
		ae.Uint32(destFwd, fwdMasq)
		ae.Uint32(destWeight, uint32(d.Weight))
		ae.Uint32(destUThresh, 0)
		ae.Uint32(destLThresh, 0)
		ae.Uint16(destAddrFamily, unix.AF_INET)
		return nil
	})
}

func htons(p uint16) uint16 { return p<<8 | p>>8 }

// requests pre-encodes t as batches of acknowledged requests.
type requests struct {
	chunks [][]byte
	counts []int
	// last is the sequence number of each chunk's last request, set by
	// errorsOnly: send then reads each chunk's replies up to that one's.
	last []uint32
}

// errorsOnly clears NLM_F_ACK on every request but each chunk's last.
func (q *requests) errorsOnly() *requests {
	q.last = make([]uint32, len(q.chunks))
	for i, c := range q.chunks {
		for off := 0; off < len(c); {
			l := int(binary.NativeEndian.Uint32(c[off:]))
			if off+l < len(c) {
				flags := binary.NativeEndian.Uint16(c[off+6:])
				binary.NativeEndian.PutUint16(c[off+6:], flags&^unix.NLM_F_ACK)
			} else {
				q.last[i] = binary.NativeEndian.Uint32(c[off+8:])
			}
			off += (l + 3) &^ 3
		}
	}
	return q
}

func (q *requests) add(msg []byte) {
	if len(q.counts) == 0 || q.counts[len(q.counts)-1] == batchSize {
		q.chunks = append(q.chunks, nil)
		q.counts = append(q.counts, 0)
	}
	i := len(q.chunks) - 1
	q.chunks[i] = append(q.chunks[i], msg...)
	q.counts[i]++
}

func (r *raw) encodeCreate(t []ipvs.TableService) *requests {
	q := &requests{}
	for _, ts := range t {
		ae := netlink.NewAttributeEncoder()
		encodeService(ae, ts.Service, true)
		q.add(r.message(nil, cmdNewService, unix.NLM_F_ACK, ae))
		for _, d := range ts.Destinations {
			ae := netlink.NewAttributeEncoder()
			encodeService(ae, ts.Service, false)
			encodeDest(ae, d)
			q.add(r.message(nil, cmdNewDest, unix.NLM_F_ACK, ae))
		}
	}
	return q
}

func (r *raw) encodeWeights(ws []weightChange) *requests {
	q := &requests{}
	for _, w := range ws {
		ae := netlink.NewAttributeEncoder()
		encodeService(ae, w.svc, false)
		encodeDest(ae, w.dest)
		q.add(r.message(nil, cmdSetDest, unix.NLM_F_ACK, ae))
	}
	return q
}

func (r *raw) encodeDelete(t []ipvs.TableService) *requests {
	q := &requests{}
	for _, ts := range t {
		ae := netlink.NewAttributeEncoder()
		encodeService(ae, ts.Service, false)
		q.add(r.message(nil, cmdDelService, unix.NLM_F_ACK, ae))
	}
	return q
}

// send sends each batch and reads its acknowledgements (with errorsOnly,
// its error replies up to its last request's acknowledgement); any error
// fails.
func (r *raw) send(q *requests) error {
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	for i, chunk := range q.chunks {
		if err := unix.Sendto(r.fd, chunk, 0, to); err != nil {
			return fmt.Errorf("raw: sendmsg: %w", err)
		}
		done := false
		for acks := 0; !done; {
			n, err := r.read(func(h unix.NlMsghdr, body []byte) error {
				if h.Type != unix.NLMSG_ERROR {
					return fmt.Errorf("raw: message type %d, want an acknowledgement", h.Type)
				}
				if e := int32(binary.NativeEndian.Uint32(body)); e != 0 {
					return fmt.Errorf("raw: request %d: %w", h.Seq, unix.Errno(-e))
				}
				done = done || q.last != nil && h.Seq == q.last[i]
				return nil
			})
			if err != nil {
				return err
			}
			acks += n
			done = done || q.last == nil && acks == q.counts[i]
		}
	}
	return nil
}

// read reads one datagram and calls fn for each message in it.
func (r *raw) read(fn func(h unix.NlMsghdr, body []byte) error) (int, error) {
	n, _, err := unix.Recvfrom(r.fd, r.buf, 0)
	if err != nil {
		return 0, fmt.Errorf("raw: recvmsg: %w", err)
	}
	b := r.buf[:n]
	count := 0
	for len(b) >= unix.NLMSG_HDRLEN {
		h := unix.NlMsghdr{
			Len:   binary.NativeEndian.Uint32(b[0:]),
			Type:  binary.NativeEndian.Uint16(b[4:]),
			Flags: binary.NativeEndian.Uint16(b[6:]),
			Seq:   binary.NativeEndian.Uint32(b[8:]),
		}
		if h.Len < unix.NLMSG_HDRLEN || int(h.Len) > len(b) {
			return count, fmt.Errorf("raw: bad message length %d", h.Len)
		}
		if err := fn(h, b[unix.NLMSG_HDRLEN:h.Len]); err != nil {
			return count, err
		}
		count++
		b = b[min(len(b), int((h.Len+3)&^3)):]
	}
	return count, nil
}

// dumpRequests pre-encodes the service dump and one destination dump per
// service of t.
func (r *raw) dumpRequests(t []ipvs.TableService) [][]byte {
	out := [][]byte{r.message(nil, cmdGetService, unix.NLM_F_DUMP, netlink.NewAttributeEncoder())}
	for _, ts := range t {
		ae := netlink.NewAttributeEncoder()
		encodeService(ae, ts.Service, false)
		out = append(out, r.message(nil, cmdGetDest, unix.NLM_F_DUMP, ae))
	}
	return out
}

// dump sends each dump request and reads its replies to the end, counting
// the objects and decoding nothing: the kernel's cost of the listing.
func (r *raw) dump(reqs [][]byte) (int, error) {
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	objects := 0
	for _, req := range reqs {
		if err := unix.Sendto(r.fd, req, 0, to); err != nil {
			return objects, fmt.Errorf("raw: sendmsg: %w", err)
		}
		for done := false; !done; {
			_, err := r.read(func(h unix.NlMsghdr, body []byte) error {
				switch h.Type {
				case unix.NLMSG_DONE:
					done = true
				case unix.NLMSG_ERROR:
					return fmt.Errorf("raw: dump: %w", unix.Errno(-int32(binary.NativeEndian.Uint32(body))))
				default:
					objects++
				}
				return nil
			})
			if err != nil {
				return objects, err
			}
		}
	}
	return objects, nil
}
