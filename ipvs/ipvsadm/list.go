package ipvsadm

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// ListFormat selects the columns of a listing, as ipvsadm's options do.
type ListFormat struct {
	Stats bool // --stats: connections, packets and bytes
	Rate  bool // --rate: the estimator's per-second rates
	Exact bool // --exact: numbers in full, not scaled to K, M, G, T
	// NoVersion leaves out the "IP Virtual Server version" line, as
	// ipvsadm does when it lists one service.
	NoVersion bool
}

// WriteList writes t byte for byte as `ipvsadm -L -n` with f's options
// prints it, services and destinations in ipvsadm's order: the zero
// ListFormat is ipvsadm -Ln's listing.
func WriteList(w io.Writer, t ipvs.Table, f ListFormat) error {
	var b strings.Builder
	list(&b, sorted(t), f)
	_, err := io.WriteString(w, b.String())
	return err
}

func list(b *strings.Builder, t ipvs.Table, f ListFormat) {
	if !f.NoVersion {
		fmt.Fprintf(b, "IP Virtual Server version %v (size=%d)\n", t.Info.Version, t.Info.ConnTableSize)
	}
	switch {
	case f.Stats:
		b.WriteString("Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n")
	case f.Rate:
		b.WriteString("Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n")
	default:
		b.WriteString("Prot LocalAddress:Port Scheduler Flags\n")
		b.WriteString("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
	for _, s := range t.Services {
		switch {
		case f.Stats || f.Rate:
			fmt.Fprintf(b, "%-33s", s.Key().String())
			writeNumbers(b, s.Stats, f)
		default:
			b.WriteString(listLine(s.Service))
		}
		b.WriteByte('\n')
		for _, d := range s.Destinations {
			switch {
			case f.Stats || f.Rate:
				fmt.Fprintf(b, "  -> %-28s", d.Addr.String())
				writeNumbers(b, d.Stats, f)
				b.WriteByte('\n')
			default:
				fmt.Fprintf(b, "  -> %-28s %-7s %-6d %-10d %-10d\n",
					d.Addr.String(), d.Forward, d.Weight, d.ActiveConns, d.InactiveConns)
			}
		}
	}
}

// writeNumbers writes the five stats or rate columns.
func writeNumbers(b *strings.Builder, st ipvs.Stats, f ListFormat) {
	nums := [5]uint64{st.Connections, st.PacketsIn, st.PacketsOut, st.BytesIn, st.BytesOut}
	if f.Rate {
		nums = [5]uint64{st.CPS, st.PPSIn, st.PPSOut, st.BPSIn, st.BPSOut}
	}
	for _, n := range nums {
		b.WriteString(largeNum(n, f.Exact))
	}
}

// largeNum formats a counter as ipvsadm's print_largenum: nine columns,
// scaled with a K, M, G or T suffix when it would not fit.
func largeNum(n uint64, exact bool) string {
	switch {
	case exact || n < 100000000:
		return fmt.Sprintf("%9d", n)
	case n < 1000000000:
		return fmt.Sprintf("%8dK", n/1000)
	case n < 100000000000:
		return fmt.Sprintf("%8dM", n/1000000)
	case n < 100000000000000:
		return fmt.Sprintf("%8dG", n/1000000000)
	}
	return fmt.Sprintf("%8dT", n/1000000000000)
}

// sorted returns a copy of t with services and destinations in the order
// ipvsadm lists them: it compares firewall mark, family, protocol, address
// (as 32-bit words, with ipvsadm's wrapping int subtraction) and port.
func sorted(t ipvs.Table) ipvs.Table {
	svcs := make([]ipvs.TableService, len(t.Services))
	for i, s := range t.Services {
		s.Destinations = append([]ipvs.Destination(nil), s.Destinations...)
		sort.SliceStable(s.Destinations, func(i, j int) bool { return cmpDests(s.Destinations[i], s.Destinations[j]) < 0 })
		svcs[i] = s
	}
	sort.SliceStable(svcs, func(i, j int) bool { return cmpServices(svcs[i].Service, svcs[j].Service) < 0 })
	t.Services = svcs
	return t
}

func cmpServices(a, b ipvs.Service) int {
	if r := int(int32(a.FirewallMark - b.FirewallMark)); r != 0 {
		return r
	}
	if r := int(a.AddressFamily()) - int(b.AddressFamily()); r != 0 {
		return r
	}
	if a.FirewallMark != 0 {
		return 0
	}
	if r := int(a.Protocol) - int(b.Protocol); r != 0 {
		return r
	}
	if r := cmpAddrWords(a.Addr.Addr(), b.Addr.Addr()); r != 0 {
		return r
	}
	return int(a.Addr.Port()) - int(b.Addr.Port())
}

func cmpDests(a, b ipvs.Destination) int {
	if r := int(a.Family()) - int(b.Family()); r != 0 {
		return r
	}
	if r := cmpAddrWords(a.Addr.Addr(), b.Addr.Addr()); r != 0 {
		return r
	}
	return int(a.Addr.Port()) - int(b.Addr.Port())
}

// cmpAddrWords compares as libipvs does: word by word in host order, each
// difference taken as uint32 and then read as int32.
func cmpAddrWords(a, b netip.Addr) int {
	if a.Is4() && b.Is4() {
		x, y := a.As4(), b.As4()
		return int(int32(binary.BigEndian.Uint32(x[:]) - binary.BigEndian.Uint32(y[:])))
	}
	x, y := a.As16(), b.As16()
	for i := 0; i < 16; i += 4 {
		if r := int(int32(binary.BigEndian.Uint32(x[i:]) - binary.BigEndian.Uint32(y[i:]))); r != 0 {
			return r
		}
	}
	return 0
}

// listLine is the service's line in ipvsadm -Ln.
func listLine(s ipvs.Service) string {
	var b strings.Builder
	b.WriteString(s.Key().String())
	sched := s.Scheduler
	if sched == "" {
		sched = ipvs.WeightedLeastConnection
	}
	b.WriteString(" " + string(sched))
	if sf := (s.Flags & schedulerFlags).Names(s.Scheduler); len(sf) > 0 {
		b.WriteString(" (" + strings.Join(sf, ",") + ")")
	}
	if s.Flags&ipvs.FlagPersistent != 0 || s.Timeout > 0 {
		fmt.Fprintf(&b, " persistent %d", int64(s.Timeout.Seconds()))
		if s.Netmask != 0 {
			if s.AddressFamily() == ipvs.IPv6 {
				fmt.Fprintf(&b, " mask %d", s.Netmask)
			} else {
				fmt.Fprintf(&b, " mask %s", net.IP(net.CIDRMask(s.Netmask, 32)))
			}
		}
		if s.PersistenceEngine != "" {
			b.WriteString(" pe " + s.PersistenceEngine)
		}
	}
	if s.Flags&ipvs.FlagOnePacket != 0 {
		b.WriteString(" ops")
	}
	return b.String()
}

// schedulerFlags are the service flags whose meaning is the scheduler's.
const schedulerFlags = ipvs.SchedFlag1 | ipvs.SchedFlag2 | ipvs.SchedFlag3

// WriteConnections writes conns as `ipvsadm -L -n -c` prints them.
func WriteConnections(w io.Writer, conns []ipvs.Connection) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("IPVS connection entries\n")
	fmt.Fprintf(bw, "pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	for _, c := range conns {
		proto := "IP"
		if c.Protocol != 0 {
			proto = c.Protocol.String()
		}
		secs := int64(c.Expires / time.Second)
		fmt.Fprintf(bw, "%-3s %02d:%02d  %-11s %-18s %-18s %s\n", proto, secs/60, secs%60, c.State,
			c.Client, c.Virtual, c.Destination)
	}
	return bw.Flush()
}
