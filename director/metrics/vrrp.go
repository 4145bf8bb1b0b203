package metrics

import (
	"strconv"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/prometheus/client_golang/prometheus"
)

// vrrpStates are the states a VRRP instance's state series are kept for,
// each with a series of its own: 1 for the state the instance is in, 0
// for the others (so that an alert on MASTER == 0 never lacks a series).
var vrrpStates = []vrrp.State{vrrp.Initialize, vrrp.Backup, vrrp.Master, vrrp.Fault, vrrp.Stopped}

// vrrpDescs are the VRRP series' descriptions.
type vrrpDescs struct {
	info, state, since, priority, effective      *prometheus.Desc
	sent, recvd, zeroSent, zeroRecvd, invalid    *prometheus.Desc
	otherVRID, transitions, announcements, fails *prometheus.Desc
	lastChange, failing, errored                 *prometheus.Desc
}

var vdescs = newVRRPDescs()

func newVRRPDescs() *vrrpDescs {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("lvs_director_vrrp_"+name, help, append([]string{"vrrp_instance"}, labels...), nil)
	}
	return &vrrpDescs{
		info:          desc("instance_info", "1 for each VRRP instance (label vrrp_instance: Prometheus keeps instance for the target), with its sync group, interface and virtual router id.", "group", "interface", "vrid"),
		state:         desc("state", "1 for the VRRP state the instance is in (INIT, BACKUP, MASTER, FAULT, STOP), 0 for the others.", "state"),
		since:         desc("state_since_timestamp_seconds", "When the instance entered its state, or Run started it."),
		priority:      desc("priority", "The instance's configured priority."),
		effective:     desc("effective_priority", "The priority the instance advertises, as its track items' weights make it."),
		sent:          desc("adverts_sent_total", "Adverts the instance sent."),
		recvd:         desc("adverts_received_total", "Adverts for the instance's virtual router that it accepted."),
		zeroSent:      desc("priority_zero_sent_total", "Priority-0 adverts the instance sent (on a clean stop or a fault as master)."),
		zeroRecvd:     desc("priority_zero_received_total", "Priority-0 adverts the instance received (the master stopping)."),
		invalid:       desc("adverts_invalid_total", "Packets the instance refused, by reason (length, version, type, checksum, ttl, auth, addr_list, interval, peer).", "reason"),
		otherVRID:     desc("adverts_other_vrid_total", "Adverts for other virtual routers on the instance's interface (ignored)."),
		transitions:   desc("transitions_total", "State changes of the instance."),
		announcements: desc("gratuitous_announcements_total", "Gratuitous ARPs and unsolicited neighbour advertisements the instance sent."),
		lastChange:    desc("last_master_change_timestamp_seconds", "When the instance last became or stopped being master (0: never)."),
		failing:       desc("track_failing", "1 for each of the instance's track items that fails (\"interface eth1\", \"service web\", \"check ping\", \"withdrawn\").", "item"),
		errored:       desc("instance_error", "1 while the instance does not run: its socket could not be opened, or its receiving failed (Run tries again)."),
	}
}

func (d *vrrpDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.info, d.state, d.since, d.priority, d.effective, d.sent, d.recvd, d.zeroSent,
		d.zeroRecvd, d.invalid, d.otherVRID, d.transitions, d.announcements, d.lastChange, d.failing, d.errored}
}

// collectVRRP sends the series of each VRRP instance Run runs.
func collectVRRP(ch chan<- prometheus.Metric, instances []director.VRRPInstanceStatus) {
	d := vdescs
	for _, in := range instances {
		name := in.Name
		st := in.Stats
		send(ch, d.info, prometheus.GaugeValue, 1, name, in.Group, in.Interface, strconv.Itoa(int(in.VRID)))
		for _, s := range vrrpStates {
			v := 0.0
			if in.State == s {
				v = 1
			}
			send(ch, d.state, prometheus.GaugeValue, v, name, s.String())
		}
		send(ch, d.since, prometheus.GaugeValue, seconds(in.Since), name)
		send(ch, d.priority, prometheus.GaugeValue, float64(in.Priority), name)
		send(ch, d.effective, prometheus.GaugeValue, float64(in.EffectivePriority), name)
		send(ch, d.sent, prometheus.CounterValue, float64(st.AdvertsSent), name)
		send(ch, d.recvd, prometheus.CounterValue, float64(st.AdvertsRecvd), name)
		send(ch, d.zeroSent, prometheus.CounterValue, float64(st.PriorityZeroSent), name)
		send(ch, d.zeroRecvd, prometheus.CounterValue, float64(st.PriorityZeroRecvd), name)
		for _, r := range vrrp.Reasons {
			send(ch, d.invalid, prometheus.CounterValue, float64(st.Invalid[r]), name, r.String())
		}
		send(ch, d.otherVRID, prometheus.CounterValue, float64(st.OtherVRID), name)
		send(ch, d.transitions, prometheus.CounterValue, float64(st.Transitions), name)
		send(ch, d.announcements, prometheus.CounterValue, float64(st.Announcements), name)
		send(ch, d.lastChange, prometheus.GaugeValue, seconds(st.LastMasterChange), name)
		for _, item := range in.Failing {
			send(ch, d.failing, prometheus.GaugeValue, 1, name, item)
		}
		errored := 0.0
		if in.Err != nil {
			errored = 1
		}
		send(ch, d.errored, prometheus.GaugeValue, errored, name)
	}
}
