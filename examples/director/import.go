package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/keepalived"
)

// importKeepalived prints the keepalived configuration at path, read for
// the config id id (the host's short name if empty), as a director
// configuration (YAML), preceded by what was not carried over as
// comments, or with report the migration report instead; it returns the
// exit status: 1 if nothing could be carried.
func importKeepalived(path, id string, report bool) int {
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()
	if report {
		carried, err := writeImportReport(out, path, id)
		if ferr := out.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "director:", err)
			return 1
		}
		if !carried {
			return 1
		}
		return 0
	}
	cfg, notes, err := keepalived.ImportFile(path, &keepalived.Options{ConfigID: configID(id)})
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

// writeImportReport writes the migration report (writeReport) of the
// keepalived configuration at path, read for the config id id; false if
// no virtual server could be carried (the report then ends saying so).
// The error is the import's if it could not be done (a syntax error, a
// limit), or w's.
func writeImportReport(w io.Writer, path, id string) (bool, error) {
	var sections []keepalived.Section
	_, notes, err := keepalived.ImportFile(path, &keepalived.Options{ConfigID: configID(id), Sections: &sections})
	if err != nil && !errors.Is(err, keepalived.ErrNoServices) {
		return false, err
	}
	writeReport(w, sections, notes)
	if err != nil {
		_, werr := fmt.Fprintf(w, "%v\n", err)
		return false, werr
	}
	return true, nil
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
