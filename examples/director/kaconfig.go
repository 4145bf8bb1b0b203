package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/keepalived"
)

// The formats of -config-format.
const (
	formatAuto       = "auto"
	formatYAML       = "yaml"
	formatKeepalived = "keepalived"
)

// checkFormat refuses a -config-format that is not one of the formats.
func checkFormat(f string) error {
	switch f {
	case "", formatAuto, formatYAML, formatKeepalived:
		return nil
	}
	return fmt.Errorf("-config-format %q: want auto, yaml or keepalived", f)
}

// configID is keepalived's -i for the @ID lines of a keepalived.conf: id,
// or if empty keepalived's default, the host's short name.
func configID(id string) string {
	if id != "" {
		return id
	}
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	return host
}

// keepalivedTop are the keywords a keepalived.conf's first statement is
// seen by under -config-format auto: none of them can begin a director
// configuration, which is a mapping (YAML "key:" or JSON "{").
var keepalivedTop = []string{
	"global_defs", "virtual_server", "virtual_server_group", "vrrp_instance", "vrrp_script",
	"vrrp_sync_group", "vrrp_track_process", "vrrp_track_file", "track_file", "static_ipaddress",
	"static_routes", "static_rules", "include", "SSL", "bfd_instance", "garp_group", "net_namespace",
	"linkbeat_use_polling", "instance", "use_pid_dir",
}

// detectFormat is the format of the file at path under -config-format
// auto: keepalived if its first statement (past blank lines and lines of
// comments, # or !) is a keepalived keyword not followed by ":", or an @
// conditional or a $ parameter; else yaml (which also reads JSON). A file
// that cannot be read is yaml, for its loader to say why.
func detectFormat(path string) string {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return formatYAML
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return formatYAML
	}
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if line[0] == '@' || line[0] == '$' {
			return formatKeepalived
		}
		word, _, _ := strings.Cut(strings.ReplaceAll(line, "\t", " "), " ")
		if slices.Contains(keepalivedTop, word) {
			return formatKeepalived
		}
		return formatYAML
	}
	return formatYAML
}

// loaded is a configuration as read: compiled, with the notes of its
// import if it is a keepalived.conf.
type loaded struct {
	c          *director.Compiled
	keepalived bool
	notes      []keepalived.Note
}

// loadConfig reads the configuration at path in format (auto if empty);
// a keepalived.conf is imported with the config id id (the host's short
// name if empty). An import with nothing to run, or a syntax error, is an
// error, as a YAML file that does not load is.
func loadConfig(path, format, id string) (loaded, error) {
	if format == "" || format == formatAuto {
		format = detectFormat(path)
	}
	if format != formatKeepalived {
		c, err := director.Load(path)
		return loaded{c: c}, err
	}
	// Compiled by the import, which checks what it made so.
	c, notes, err := keepalived.ImportFileCompiled(path, &keepalived.Options{ConfigID: configID(id)})
	return loaded{keepalived: true, notes: notes, c: c}, err
}

// notesText is the notes, one a line, to tell whether a reload's are the
// same as the last load's.
func notesText(notes []keepalived.Note) string {
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// load reads the daemon's configuration. For a keepalived.conf it logs
// the import's notes as warnings, each once: at the first load, and again
// only when a reload's notes differ from the last load's (else one record
// says they are unchanged).
func (dm *daemon) load() (*director.Compiled, error) {
	l, err := loadConfig(dm.path, dm.format, dm.configID)
	if !l.keepalived {
		return l.c, err
	}
	text := notesText(l.notes)
	switch {
	case dm.loads > 0 && text == dm.lastNotes:
		dm.log.Info("keepalived import: the same notes as the last load", "config", dm.path, "notes", len(l.notes))
	default:
		for _, n := range l.notes {
			dm.log.Warn("keepalived import: not carried over as is", "config", dm.path, "note", n.String())
		}
	}
	dm.loads++
	dm.lastNotes = text
	if err != nil {
		return nil, err
	}
	cfg := l.c.Config()
	vrrp := 0
	if cfg.VRRP != nil {
		vrrp = len(cfg.VRRP.Instances)
	}
	dm.log.Info("keepalived import", "config", dm.path, "services", len(cfg.Services), "vrrp_instances", vrrp, "notes", len(l.notes))
	return l.c, nil
}

// checkKeepalived is -check of a keepalived.conf: the notes on stderr,
// file:line first, then what the import made.
func checkKeepalived(path string, l loaded, err error) int {
	for _, n := range l.notes {
		fmt.Fprintf(os.Stderr, "%v\n", n)
	}
	if err != nil {
		if errors.Is(err, keepalived.ErrNoServices) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		} else {
			fmt.Fprintf(os.Stderr, "%v\n", err)
		}
		return 1
	}
	cfg := l.c.Config()
	vrrp := 0
	if cfg.VRRP != nil {
		vrrp = len(cfg.VRRP.Instances)
	}
	fmt.Printf("%s: configuration OK (keepalived: %d services, %d VRRP instances, %d notes)\n", path, len(cfg.Services), vrrp, len(l.notes))
	return 0
}
