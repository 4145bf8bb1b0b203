package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/keepalived"
)

// importKeepalived prints the keepalived configuration at path as a
// director configuration (YAML), preceded by what was not carried over as
// comments, and returns the exit status: 1 if nothing could be carried.
func importKeepalived(path string) int {
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".") // keepalived's default configuration id: the short host name
	cfg, notes, err := keepalived.ImportFile(path, &keepalived.Options{ConfigID: host})
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()
	for _, n := range notes {
		fmt.Fprintf(out, "# %v\n", n)
	}
	if err != nil && !errors.Is(err, keepalived.ErrNoServices) || cfg == nil {
		out.Flush()
		fmt.Fprintln(os.Stderr, "director:", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(out, "# %v\n", err)
		return 1
	}
	if err := writeYAML(out, cfg); err != nil {
		out.Flush()
		fmt.Fprintln(os.Stderr, "director:", err)
		return 1
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "director:", err)
		return 1
	}
	return 0
}

// writeYAML writes cfg as YAML, in one pass over it (Config.AppendYAML):
// no JSON of the whole configuration, and no YAML library's tree of it.
func writeYAML(w io.Writer, cfg *director.Config) error {
	y, err := cfg.AppendYAML(nil)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}
