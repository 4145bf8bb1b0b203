package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/vrrp"
)

// vrrpStatus is a master instance of a sync group, and a faulty one
// whose socket fails and whose name tries to inject markup.
func vrrpStatus(at time.Time) []director.VRRPInstanceStatus {
	return []director.VRRPInstanceStatus{
		{Name: "VI_1", Group: "G", Interface: "eth0", VRID: 51, State: vrrp.Master, Since: at, Priority: 150, EffectivePriority: 130,
			Failing: []string{"interface eth1"},
			Stats: vrrp.Stats{AdvertsSent: 12, AdvertsRecvd: 3, Invalid: map[vrrp.Reason]uint64{vrrp.ReasonTTL: 2, vrrp.ReasonAuth: 0},
				Transitions: 2, Master: netip.MustParseAddr("10.0.0.11"), LastMasterChange: at}},
		{Name: "<b>VI_2</b>", Interface: "eth1", VRID: 52, State: vrrp.Fault, Since: at, Priority: 100, EffectivePriority: 100,
			Failing: []string{"service web"}, Err: errors.New("listen: no such device")},
	}
}

// TestVRRPStatus shows the VRRP instances in `status`, its JSON and the
// status page.
func TestVRRPStatus(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v := statusView{Config: "c.yaml", VRRP: vrrpViews(vrrpStatus(at))}
	var b bytes.Buffer
	if err := writeStatus(&b, v, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"vrrp VI_1 (eth0 vrid 51): MASTER since 2026-01-02 03:04:05, priority 130 (configured 150), sync group G, master 10.0.0.11, failing: interface eth1; adverts sent 12, received 3, refused 2",
		`vrrp <b>VI_2</b> (eth1 vrid 52): FAULT since 2026-01-02 03:04:05, priority 100, failing: service web, not running: listen: no such device; adverts sent 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		VRRP []struct {
			Name    string            `json:"name"`
			State   string            `json:"state"`
			Invalid map[string]uint64 `json:"invalid"`
			Error   string            `json:"error"`
		} `json:"vrrp"`
	}
	if err := json.Unmarshal(j, &back); err != nil || len(back.VRRP) != 2 || back.VRRP[0].State != "MASTER" ||
		back.VRRP[0].Invalid["ttl"] != 2 || len(back.VRRP[0].Invalid) != 1 || back.VRRP[1].Error != "listen: no such device" {
		t.Errorf("json: %s (%v)", j, err)
	}

	p := &statusPage{read: func(context.Context) (statusView, error) { return v, nil }, config: "c.yaml",
		events: newPageEvents(at), version: "v", refresh: pageRefresh, sem: make(chan struct{}, 1)}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	body := w.Body.String()
	for _, want := range []string{`data-instance="VI_1" data-state="MASTER"`, `data-state="FAULT"`, "&lt;b&gt;VI_2&lt;/b&gt;",
		"not running: listen: no such device", "(configured 150)", "2 ttl"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<b>VI_2</b>") {
		t.Error("page shows an instance's name unescaped")
	}
}

// TestVRRPLogs logs state changes and errors as records.
func TestVRRPLogs(t *testing.T) {
	var b bytes.Buffer
	dm := &daemon{log: slog.New(slog.NewTextHandler(&b, nil))}
	dm.report(director.Report{VRRP: &director.VRRPEvent{Instance: "VI_1", Group: "G", From: vrrp.Backup, To: vrrp.Master, Priority: 150}})
	dm.report(director.Report{VRRP: &director.VRRPEvent{Group: "G", From: vrrp.Master, To: vrrp.Fault}})
	dm.report(director.Report{VRRP: &director.VRRPEvent{Instance: "VI_2", Err: errors.New("send: network is down")}, Err: errors.New("send: network is down")})
	for _, want := range []string{
		`level=INFO msg="vrrp master" instance=VI_1 sync_group=G from=BACKUP to=MASTER priority=150`,
		`level=WARN msg="vrrp state" sync_group=G from=MASTER to=FAULT priority=0`,
		`level=ERROR msg="vrrp error" instance=VI_2 error="send: network is down"`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, b.String())
		}
	}
}
