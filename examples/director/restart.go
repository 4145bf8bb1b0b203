package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/lvs-go/lvs/director"
)

// restartError is a reload refused because it changes what the daemon
// sets up only when it starts: the BGP speaker (cluster.bgp).
type restartError struct {
	Fields []string // as the file names them: cluster.bgp.peers ...
}

func (e *restartError) Error() string {
	return fmt.Sprintf("reload refused: %s changed, which takes a restart of the director (systemctl restart lvs-director); the running configuration stays", strings.Join(e.Fields, ", "))
}

// checkRestart refuses a configuration whose BGP section differs from
// the one the speaker was started with; nil if they are the same.
func checkRestart(running, next *director.BGP) error {
	switch {
	case running == nil && next == nil:
		return nil
	case running == nil:
		return &restartError{[]string{"cluster.bgp (added)"}}
	case next == nil:
		return &restartError{[]string{"cluster.bgp (removed)"}}
	}
	var fields []string
	a, b := reflect.ValueOf(*running), reflect.ValueOf(*next)
	for i := range a.NumField() {
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			name, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("json"), ",")
			fields = append(fields, "cluster.bgp."+name)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &restartError{fields}
}

// bgpOf is c's BGP section, nil if none.
func bgpOf(c *director.Compiled) *director.BGP {
	if cl := c.Config().Cluster; cl != nil {
		return cl.BGP
	}
	return nil
}
