package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/keepalived"
	"github.com/lvs-go/lvs/internal/yamlx"
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

// writeYAML writes cfg as YAML: its JSON (the json tags and the types'
// MarshalJSON) written as block YAML in one pass, without the YAML
// library's tree of the whole configuration.
func writeYAML(w io.Writer, cfg *director.Config) error {
	j, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	y, err := yamlx.FromJSON(make([]byte, 0, len(j)+len(j)/2), j)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}
