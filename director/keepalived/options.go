package keepalived

import (
	"fmt"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// forward is a forwarding method with its tunnel settings.
type forward struct {
	method ipvs.ForwardMethod
	tunnel *director.Tunnel
}

// parseForward reads lb_kind's NAT|DR|TUN [type ipip|gue port N|gre]
// [nocsum|csum|remcsum].
func parseForward(args []string) (*forward, string) {
	if len(args) == 0 {
		return nil, "missing method"
	}
	f := &forward{}
	switch args[0] {
	case "NAT":
		f.method = ipvs.Masquerade
	case "DR":
		f.method = ipvs.DirectRoute
	case "TUN":
		f.method = ipvs.Tunnel
	default:
		return nil, fmt.Sprintf("unknown method %q (NAT, DR or TUN)", args[0])
	}
	t := director.Tunnel{}
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case f.method != ipvs.Tunnel:
			return nil, "tunnel options on a method other than TUN"
		case a == "type" && i+1 < len(args):
			i++
			switch args[i] {
			case "ipip":
				t.Type = ipvs.TunnelIPIP
			case "gue":
				t.Type = ipvs.TunnelGUE
			case "gre":
				t.Type = ipvs.TunnelGRE
			default:
				return nil, fmt.Sprintf("unknown tunnel type %q", args[i])
			}
		case a == "port" && i+1 < len(args):
			i++
			p, ok := port(args[i])
			if !ok || p == 0 {
				return nil, fmt.Sprintf("tunnel port %q", args[i])
			}
			t.Port = p
		case a == "nocsum":
			t.Checksum = 0
		case a == "csum":
			t.Checksum = ipvs.TunnelChecksum
		case a == "remcsum":
			t.Checksum = ipvs.TunnelRemoteChecksum
		default:
			return nil, fmt.Sprintf("unknown tunnel option %q", a)
		}
	}
	switch {
	case (t.Type == ipvs.TunnelGUE) != (t.Port != 0):
		return nil, "a gue tunnel needs a port, and only it"
	case t.Type == ipvs.TunnelIPIP && t.Checksum != 0:
		return nil, "ipip tunnels have no checksum option"
	case t.Type == ipvs.TunnelGRE && t.Checksum == ipvs.TunnelRemoteChecksum:
		return nil, "gre tunnels have no remcsum"
	}
	if t != (director.Tunnel{}) {
		f.tunnel = &t
	}
	return f, ""
}

func (f *forward) String() string {
	return map[ipvs.ForwardMethod]string{ipvs.Masquerade: "NAT", ipvs.DirectRoute: "DR", ipvs.Tunnel: "TUN"}[f.method]
}

// timing is what checkers inherit from their real server and virtual
// server, nil where unset.
type timing struct {
	retry                                               *int
	delayBeforeRetry, warmup, connectTimeout, delayLoop *time.Duration
	virtualhost                                         *string
	inhibit                                             *bool
	retryNode, delayBeforeRetryNode                     *node
}

// timingOption reads one of the inherited options into t; false if s is
// not one.
func (im *importer) timingOption(t *timing, s *node, block string) bool {
	dur := func(dst **time.Duration, min time.Duration) {
		d, ok := timer(s.arg(0))
		if !ok || d < min {
			im.optionNote(s, block, "invalid value %q, ignored (as keepalived does)", s.arg(0))
			return
		}
		*dst = &d
	}
	switch s.key() {
	case "retry", "nb_get_retry":
		v, ok := number(s.arg(0), 1<<31-2)
		if !ok {
			im.optionNote(s, block, "invalid value %q, ignored (as keepalived does)", s.arg(0))
			break
		}
		r := int(v)
		t.retry, t.retryNode = &r, s
	case "delay_before_retry":
		dur(&t.delayBeforeRetry, 0)
		t.delayBeforeRetryNode = s
	case "warmup":
		dur(&t.warmup, 0)
	case "connect_timeout":
		dur(&t.connectTimeout, time.Microsecond)
	case "delay_loop":
		dur(&t.delayLoop, time.Microsecond)
	case "virtualhost":
		if len(s.args()) == 0 {
			im.optionNote(s, block, "missing name, ignored")
			break
		}
		v := s.arg(0)
		t.virtualhost = &v
	case "inhibit_on_failure":
		v, ok := boolean(s)
		if !ok {
			im.optionNote(s, block, "invalid value %q, ignored", s.arg(0))
			break
		}
		t.inhibit = &v
	default:
		return false
	}
	return true
}

// over returns t with unset fields taken from parent.
func (t timing) over(parent timing) timing {
	if t.retry == nil {
		t.retry, t.retryNode = parent.retry, parent.retryNode
	}
	if t.delayBeforeRetry == nil {
		t.delayBeforeRetry, t.delayBeforeRetryNode = parent.delayBeforeRetry, parent.delayBeforeRetryNode
	}
	if t.warmup == nil {
		t.warmup = parent.warmup
	}
	if t.connectTimeout == nil {
		t.connectTimeout = parent.connectTimeout
	}
	if t.delayLoop == nil {
		t.delayLoop = parent.delayLoop
	}
	if t.virtualhost == nil {
		t.virtualhost = parent.virtualhost
	}
	if t.inhibit == nil {
		t.inhibit = parent.inhibit
	}
	return t
}

// notOption lists the options noted as having no director counterpart,
// with why.
var notOption = map[string]string{
	"alpha":                "keepalived keeps each real server out until its first check passes; the director puts it in at once and takes it out when its checks fail",
	"omega":                "keepalived runs the quorum_down and notify_down commands when it stops; the director runs them only on changes, never when it stops",
	"ha_suspend":           "the director checks whether or not the VIP is up",
	"smtp_alert":           "the director sends no e-mail",
	"snmp_name":            "the director has no SNMP",
	"sorry_server_inhibit": "the director always puts the sorry server in with its weight",
	"hashed":               "has no effect",
}
