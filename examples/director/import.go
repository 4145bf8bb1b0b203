package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/lvs-go/lvs/director/keepalived"
	"sigs.k8s.io/yaml"
)

// importKeepalived prints the keepalived configuration at path as a
// director configuration (YAML), preceded by what was not carried over as
// comments, and returns the exit status: 1 if nothing could be carried.
func importKeepalived(path string) int {
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".") // keepalived's default configuration id: the short host name
	cfg, notes, err := keepalived.ImportFile(path, &keepalived.Options{ConfigID: host})
	for _, n := range notes {
		fmt.Printf("# %v\n", n)
	}
	if err != nil && !errors.Is(err, keepalived.ErrNoServices) || cfg == nil {
		fmt.Fprintln(os.Stderr, "director:", err)
		return 1
	}
	if err != nil {
		fmt.Printf("# %v\n", err)
		return 1
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "director:", err)
		return 1
	}
	os.Stdout.Write(b)
	return 0
}
