package director

import (
	"errors"
	"testing"
)

// TestStatusOps: tried operations count as applied by kind unless they
// failed; an error of no operation counts for no kind.
func TestStatusOps(t *testing.T) {
	var book statusBook
	fail := Op{Kind: CreateDestination}
	book.counted([]Op{{Kind: CreateService}, {Kind: CreateDestination}, fail, {Kind: SetSysctl}},
		[]FailedOp{{Op: fail, Err: errors.New("no")}, {Err: errors.New("state")}})
	book.counted([]Op{{Kind: DeleteDestination}}, nil)
	s := book.snapshot()
	for k, want := range map[OpKind][2]uint64{
		CreateService: {1, 0}, CreateDestination: {1, 1}, SetSysctl: {1, 0}, DeleteDestination: {1, 0}, UpdateService: {0, 0},
	} {
		if got := [2]uint64{s.Ops[k], s.Failed[k]}; got != want {
			t.Errorf("%v: applied, failed %v, want %v", k, got, want)
		}
	}
	if _, ok := s.Ops[0]; ok {
		t.Error("the zero kind is counted")
	}
}
