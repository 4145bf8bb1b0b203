package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"
)

// failingKernel is a kernel that fails (EEXIST) the requests whose index in
// the whole batch is in fails and answers every sendmsg as the kernel does:
// in order, an error reply for each failure, an acknowledgement only for a
// request that asks for one (fakeTransport drops the others). It records
// which requests asked.
type failingKernel struct {
	fails map[int]bool
	seen  int   // requests seen so far
	asked []int // indexes of the requests with NLM_F_ACK
}

func (k *failingKernel) answer(reqs []netlink.Message) ([]netlink.Message, error) {
	var out []netlink.Message
	for _, r := range reqs {
		if r.Header.Flags&netlink.Acknowledge != 0 {
			k.asked = append(k.asked, k.seen)
		}
		errno := syscall.Errno(0)
		if k.fails[k.seen] {
			errno = syscall.EEXIST
		}
		out = append(out, ack(r, errno))
		k.seen++
	}
	return out, nil
}

// TestBatchErrorsOnly: only each chunk's last request asks for an
// acknowledgement, so the kernel answers the others only when they fail;
// the changes with an error reply fail, every other one succeeds, whether
// the failures are in the middle, on a chunk's last request (whose error
// reply is also its acknowledgement), on a chunk's first, or everywhere.
func TestBatchErrorsOnly(t *testing.T) {
	const m = batchMaxMessages
	for _, tc := range []struct {
		name  string
		n     int
		fails []int
	}{
		{"none", 6, nil},
		{"middle", 6, []int{2}},
		{"last", 6, []int{5}},
		{"first", 6, []int{0}},
		{"middle and last", 6, []int{1, 3, 5}},
		{"all", 6, []int{0, 1, 2, 3, 4, 5}},
		{"one change", 1, []int{0}},
		{"across chunks", 2*m + 3, []int{5, m - 1, m, m + 1, 2*m - 1, 2*m + 2}},
		{"all of a full chunk", m, seq(0, m)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &failingKernel{fails: map[int]bool{}}
			for _, i := range tc.fails {
				k.fails[i] = true
			}
			c := &Client{c: fakeBatchKernel(t, k.answer)}
			results, err := c.Apply(context.Background(), servicesBatch(tc.n))
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != tc.n {
				t.Fatalf("%d results for %d changes", len(results), tc.n)
			}
			for i, r := range results {
				if k.fails[i] {
					if !errors.Is(r, fs.ErrExist) || errors.Is(r, ErrUnacknowledged) {
						t.Errorf("change %d: %v, want its error reply (exists)", i, r)
					}
				} else if r != nil {
					t.Errorf("change %d: %v, want applied", i, r)
				}
			}
			var wantAsked []int
			reads := len(tc.fails)
			for end := min(m, tc.n); ; end = min(end+m, tc.n) {
				wantAsked = append(wantAsked, end-1)
				if !k.fails[end-1] {
					reads++ // the acknowledgement of a chunk's last request
				}
				if end == tc.n {
					break
				}
			}
			if !slices.Equal(k.asked, wantAsked) {
				t.Errorf("requests with NLM_F_ACK %v, want %v", k.asked, wantAsked)
			}
			if got := c.Counters().Reads; got != uint64(reads) {
				t.Errorf("%d reads, want %d (one per error reply and per success acknowledged)", got, reads)
			}
		})
	}
}

// servicesBatch is a batch creating n services, one change each.
func servicesBatch(n int) *Batch {
	var b Batch
	for _, ts := range bigTable(n) {
		b.CreateService(ts.Service)
	}
	return &b
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestSocketErrorBeforeFinalAck: when the socket fails (ENOBUFS: replies
// were lost) or the context ends before a chunk's last acknowledgement, the
// chunk's changes with an error reply keep it, and every other change of
// the chunk and of the chunks after it is ErrUnacknowledged; the chunks
// before it were acknowledged and succeeded.
func TestSocketErrorBeforeFinalAck(t *testing.T) {
	const m = batchMaxMessages
	for _, tc := range []struct {
		name    string
		sockErr error
		cancel  bool
		want    error // what Apply's error matches
	}{
		{"ENOBUFS", syscall.ENOBUFS, false, syscall.ENOBUFS},
		{"cancelled", os.ErrDeadlineExceeded, true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 2*m + 4
			fails := map[int]bool{3: true, m + 2: true, m + 5: true}
			sends := 0
			c := &Client{c: fakeBatchKernel(t, func(reqs []netlink.Message) ([]netlink.Message, error) {
				sends++
				if sends == 1 {
					return []netlink.Message{ack(reqs[3], syscall.EEXIST), ack(reqs[m-1], 0)}, nil
				}
				// The second chunk: two error replies, then the socket
				// fails where its last acknowledgement would be.
				if tc.cancel {
					cancel() // the client's watch sets a past deadline
				}
				return []netlink.Message{ack(reqs[2], syscall.EEXIST), ack(reqs[5], syscall.EEXIST)}, tc.sockErr
			})}
			results, err := c.Apply(ctx, servicesBatch(n))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if sends != 2 {
				t.Errorf("%d chunks sent, want 2 (none after the failure)", sends)
			}
			if len(results) != n {
				t.Fatalf("%d results for %d changes", len(results), n)
			}
			for i, r := range results {
				what := fmt.Sprintf("change %d", i)
				switch {
				case fails[i]:
					if !errors.Is(r, fs.ErrExist) || errors.Is(r, ErrUnacknowledged) {
						t.Errorf("%s: %v, want its error reply (exists)", what, r)
					}
				case i < m:
					if r != nil {
						t.Errorf("%s: %v, want applied (its chunk was acknowledged)", what, r)
					}
				default:
					if !errors.Is(r, ErrUnacknowledged) {
						t.Errorf("%s: %v, want ErrUnacknowledged", what, r)
					}
				}
			}
		})
	}
}

// TestStaleRepliesDoNotEndAChunk: replies to requests of an earlier
// exchange (an earlier chunk's last acknowledgement and error replies,
// queued again or left by a call that gave up) neither end the chunk nor
// fail its changes: only the chunk's own last acknowledgement ends it.
func TestStaleRepliesDoNotEndAChunk(t *testing.T) {
	const m = batchMaxMessages
	var prev []netlink.Message // the first chunk's requests
	c := &Client{c: fakeBatchKernel(t, func(reqs []netlink.Message) ([]netlink.Message, error) {
		if prev == nil {
			prev = reqs
			return []netlink.Message{ack(reqs[m-1], 0)}, nil
		}
		return []netlink.Message{
			ack(prev[m-1], 0),                     // the earlier chunk's final acknowledgement
			ack(prev[2], syscall.EEXIST),          // an error reply to the earlier chunk
			ack(reqs[1], syscall.EEXIST),          // this chunk's own
			ack(prev[m-1], syscall.EEXIST),        // and again, with an error
			ack(reqs[len(reqs)-1], 0),             // this chunk's end
			ack(reqs[len(reqs)-1], syscall.EPERM), // a duplicate after it
		}, nil
	})}
	n := m + 4
	results, err := c.Apply(context.Background(), servicesBatch(n))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if i == m+1 {
			if !errors.Is(r, fs.ErrExist) {
				t.Errorf("change %d: %v, want its error reply (exists)", i, r)
			}
		} else if r != nil {
			t.Errorf("change %d: %v, want applied", i, r)
		}
	}
}
