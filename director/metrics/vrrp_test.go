package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestVRRP exports a master and a faulty instance: one state series per
// state, every refusal reason, the failing track items and the error.
func TestVRRP(t *testing.T) {
	at := time.Unix(1700000000, 0)
	withVRRP := func() director.Status {
		s := status()
		s.VRRP = []director.VRRPInstanceStatus{
			{Name: "VI_1", Group: "G", Interface: "eth0", VRID: 51, State: vrrp.Master, Since: at, Priority: 150, EffectivePriority: 130,
				Failing: []string{"interface eth1"},
				Stats: vrrp.Stats{AdvertsSent: 12, AdvertsRecvd: 3, PriorityZeroRecvd: 1, Invalid: map[vrrp.Reason]uint64{vrrp.ReasonTTL: 2},
					Transitions: 2, Announcements: 10, LastMasterChange: at}},
			{Name: "VI_2", Interface: "eth1", VRID: 52, State: vrrp.Fault, Priority: 100, EffectivePriority: 100,
				Failing: []string{"service web"}, Err: errors.New("listen: no such device")},
		}
		return s
	}
	reg := register(t, newCollector(table, withVRRP, nil))
	const want = `
# HELP lvs_director_vrrp_state 1 for the VRRP state the instance is in (INIT, BACKUP, MASTER, FAULT, STOP), 0 for the others.
# TYPE lvs_director_vrrp_state gauge
lvs_director_vrrp_state{state="BACKUP",vrrp_instance="VI_1"} 0
lvs_director_vrrp_state{state="FAULT",vrrp_instance="VI_1"} 0
lvs_director_vrrp_state{state="INIT",vrrp_instance="VI_1"} 0
lvs_director_vrrp_state{state="MASTER",vrrp_instance="VI_1"} 1
lvs_director_vrrp_state{state="STOP",vrrp_instance="VI_1"} 0
lvs_director_vrrp_state{state="BACKUP",vrrp_instance="VI_2"} 0
lvs_director_vrrp_state{state="FAULT",vrrp_instance="VI_2"} 1
lvs_director_vrrp_state{state="INIT",vrrp_instance="VI_2"} 0
lvs_director_vrrp_state{state="MASTER",vrrp_instance="VI_2"} 0
lvs_director_vrrp_state{state="STOP",vrrp_instance="VI_2"} 0
# HELP lvs_director_vrrp_instance_info 1 for each VRRP instance (label vrrp_instance: Prometheus keeps instance for the target), with its sync group, interface and virtual router id.
# TYPE lvs_director_vrrp_instance_info gauge
lvs_director_vrrp_instance_info{group="G",interface="eth0",vrid="51",vrrp_instance="VI_1"} 1
lvs_director_vrrp_instance_info{group="",interface="eth1",vrid="52",vrrp_instance="VI_2"} 1
# HELP lvs_director_vrrp_effective_priority The priority the instance advertises, as its track items' weights make it.
# TYPE lvs_director_vrrp_effective_priority gauge
lvs_director_vrrp_effective_priority{vrrp_instance="VI_1"} 130
lvs_director_vrrp_effective_priority{vrrp_instance="VI_2"} 100
# HELP lvs_director_vrrp_track_failing 1 for each of the instance's track items that fails ("interface eth1", "service web", "check ping", "withdrawn").
# TYPE lvs_director_vrrp_track_failing gauge
lvs_director_vrrp_track_failing{item="interface eth1",vrrp_instance="VI_1"} 1
lvs_director_vrrp_track_failing{item="service web",vrrp_instance="VI_2"} 1
# HELP lvs_director_vrrp_instance_error 1 while the instance does not run: its socket could not be opened, or its receiving failed (Run tries again).
# TYPE lvs_director_vrrp_instance_error gauge
lvs_director_vrrp_instance_error{vrrp_instance="VI_1"} 0
lvs_director_vrrp_instance_error{vrrp_instance="VI_2"} 1
# HELP lvs_director_vrrp_last_master_change_timestamp_seconds When the instance last became or stopped being master (0: never).
# TYPE lvs_director_vrrp_last_master_change_timestamp_seconds gauge
lvs_director_vrrp_last_master_change_timestamp_seconds{vrrp_instance="VI_1"} 1.7e+09
lvs_director_vrrp_last_master_change_timestamp_seconds{vrrp_instance="VI_2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lvs_director_vrrp_state", "lvs_director_vrrp_instance_info",
		"lvs_director_vrrp_effective_priority", "lvs_director_vrrp_track_failing", "lvs_director_vrrp_instance_error",
		"lvs_director_vrrp_last_master_change_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(reg, "lvs_director_vrrp_adverts_invalid_total")
	if err != nil || n != 2*len(vrrp.Reasons) {
		t.Errorf("adverts_invalid_total: %d series (%v), want %d", n, err, 2*len(vrrp.Reasons))
	}
	const ttl = `
# HELP lvs_director_vrrp_adverts_sent_total Adverts the instance sent.
# TYPE lvs_director_vrrp_adverts_sent_total counter
lvs_director_vrrp_adverts_sent_total{vrrp_instance="VI_1"} 12
lvs_director_vrrp_adverts_sent_total{vrrp_instance="VI_2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(ttl), "lvs_director_vrrp_adverts_sent_total"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(newCollector(table, withVRRP, nil))
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
