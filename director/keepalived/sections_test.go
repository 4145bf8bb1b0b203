package keepalived

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestSections: the blocks are listed in order with what each made, and
// each note of a block, including a line of it skipped for another
// config id, has the block's Pos as its In; other notes have none.
func TestSections(t *testing.T) {
	const conf = `global_defs {
  router_id lb1
}
virtual_server 10.0.0.1 80 {
  lb_algo rr
  protocol TCP
  real_server 10.1.0.1 80 {
  }
}
virtual_server 10.0.0.2 80 {
  protocol TCP
  no_such_option 1
@other real_server 10.1.0.9 80 {
@other }
  real_server 10.1.0.2 80 {
  }
}
virtual_server 10.0.0.3 80 {
  protocol TCP
}
virtual_server 10.0.0.1 80 {
  protocol TCP
  real_server 10.1.0.3 80 {
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    10.0.0.1/24
  }
}
`
	var secs []Section
	cfg, notes, err := Import(strings.NewReader(conf), &Options{ConfigID: "lb1", Sections: &secs})
	if err != nil {
		t.Fatal(err)
	}
	want := []Section{
		{Pos{"keepalived.conf", 4}, "virtual_server 10.0.0.1 80", []string{"virtual_server 10.0.0.1 80"}},
		{Pos{"keepalived.conf", 10}, "virtual_server 10.0.0.2 80", []string{"virtual_server 10.0.0.2 80"}},
		{Pos{"keepalived.conf", 18}, "virtual_server 10.0.0.3 80", nil},
		{Pos{"keepalived.conf", 21}, "virtual_server 10.0.0.1 80", nil},
		{Pos{"keepalived.conf", 26}, "vrrp_instance VI_1", []string{"VI_1"}},
	}
	if !reflect.DeepEqual(secs, want) {
		t.Errorf("sections:\n got %+v\nwant %+v", secs, want)
	}
	if len(cfg.Services) != 2 || cfg.VRRP == nil || len(cfg.VRRP.Instances) != 1 {
		t.Fatalf("services %d, vrrp %+v", len(cfg.Services), cfg.VRRP)
	}
	in := map[int]int{} // a note's line -> its In's line
	for _, n := range notes {
		in[n.Line] = n.In.Line
		if n.In.Line != 0 && n.In.File != "keepalived.conf" {
			t.Errorf("%v: In %+v", n, n.In)
		}
	}
	for line, block := range map[int]int{1: 0, 12: 10, 13: 10, 14: 10, 18: 18, 21: 21} {
		if got, ok := in[line]; !ok || got != block {
			t.Errorf("the note of line %d: In line %d (noted: %v), want %d\n%v", line, got, ok, block, notes)
		}
	}
}

// TestSectionsNoServices: Sections is set when nothing could be carried.
func TestSectionsNoServices(t *testing.T) {
	var secs []Section
	_, notes, err := Import(strings.NewReader("virtual_server 10.0.0.3 80 {\n  protocol TCP\n}\n"), &Options{Sections: &secs})
	if !errors.Is(err, ErrNoServices) {
		t.Fatalf("error %v", err)
	}
	if len(secs) != 1 || secs[0].Line != 1 || secs[0].Made != nil {
		t.Errorf("sections %+v", secs)
	}
	if len(notes) != 1 || notes[0].In != (Pos{"keepalived.conf", 1}) {
		t.Errorf("notes %+v", notes)
	}
}
