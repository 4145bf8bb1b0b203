package ipvs

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseRelease(t *testing.T) {
	for in, want := range map[string]kernelVersion{
		"6.1.0-56-amd64":  {6, 1},
		"5.10.0":          {5, 10},
		"6.18.44-fc-v782": {6, 18},
		"4.19rc1":         {4, 19},
		"garbage":         {},
		"3.x":             {},
	} {
		if got := parseRelease(in); got != want {
			t.Errorf("parseRelease(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestOldKernelRefusesNewerFeatures(t *testing.T) {
	old := kernelVersion{4, 19}
	gue := Destination{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Forward: Tunnel, TunnelType: TunnelGUE, TunnelPort: 6080}
	if err := old.unsupported(gue.features()...); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("GUE on 4.19: %v, want ErrUnsupported", err)
	}
	if err := old.unsupported(Service{Scheduler: MaglevHashing}.features()...); err != nil {
		t.Errorf("mh on 4.19: %v", err)
	}
	if err := (kernelVersion{4, 17}).unsupported(Service{Scheduler: MaglevHashing}.features()...); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("mh on 4.17: %v, want ErrUnsupported", err)
	}
	if err := (kernelVersion{4, 2}).unsupported(SyncDaemon{TTL: 2}.features()...); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("daemon TTL on 4.2: %v", err)
	}
	if err := (kernelVersion{}).unsupported(gue.features()...); err != nil {
		t.Errorf("unknown kernel: %v, want no check", err)
	}
	if err := (kernelVersion{6, 1}).unsupported(gue.features()...); err != nil {
		t.Errorf("GUE on 6.1: %v", err)
	}
}
