package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The manual page and the bash completion are generated from the program
// itself: its -h (the daemon's flags), the subcommands' table and each
// subcommand's -h (its flags). Regenerate them with
//
//	go test ./examples/director -run 'TestManPage|TestCompletion' -update
var update = flag.Bool("update", false, "rewrite lvs-director.8 and lvs-director.bash from the flags and subcommands")

const regenerateDocs = "go test ./examples/director -run 'TestManPage|TestCompletion' -update"

// flagDoc is a flag as -h prints it.
type flagDoc struct {
	Name  string
	Type  string // "" for a boolean flag, else its value's type (string, duration)
	Usage string
}

// cmdDoc is a subcommand: its summary in -h, its arguments and flags.
type cmdDoc struct {
	Name, Summary, Args string
	Flags               []flagDoc
}

// cliDocs runs the program (this test binary as lvs-director) with -h and
// each subcommand with -h, and reads the flags they print.
func cliDocs(t *testing.T) ([]flagDoc, []cmdDoc) {
	t.Helper()
	out := runNamed(t, "-h")
	_, flagsPart, ok := strings.Cut(out, "\nflags:\n")
	if !ok {
		t.Fatalf("-h prints no flags:\n%s", out)
	}
	flags := parseFlags(flagsPart)
	var cmds []cmdDoc
	for _, name := range commandNames() {
		c := cmdDoc{Name: name, Summary: commands[name].summary}
		help := runNamed(t, name, "-h")
		first, rest, _ := strings.Cut(help, "\n")
		// usage: lvs-director NAME [flags] ARGS (undrain prints rejoin's)
		if f := strings.Fields(first); len(f) > 3 && f[0] == "usage:" && f[3] == "[flags]" {
			c.Args = strings.Join(f[4:], " ")
		}
		c.Flags = parseFlags(rest)
		cmds = append(cmds, c)
	}
	return flags, cmds
}

// runNamed runs the program with args under the name lvs-director; -h exits
// 0.
func runNamed(t *testing.T, args ...string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args[0] = "lvs-director"
	cmd.Env = append(os.Environ(), daemonEnv+"=1", daemonEnv+"_ARGS="+strings.Join(args, " "))
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		t.Fatalf("lvs-director %s: %v\n%s", strings.Join(args, " "), err, b.String())
	}
	return b.String()
}

// parseFlags reads flag.PrintDefaults' output.
func parseFlags(s string) []flagDoc {
	var out []flagDoc
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  -"):
			f := strings.Fields(line)
			d := flagDoc{Name: strings.TrimPrefix(f[0], "-")}
			if len(f) > 1 {
				d.Type = f[1]
			}
			out = append(out, d)
		case strings.HasPrefix(line, "    \t") && len(out) > 0:
			u := &out[len(out)-1].Usage
			*u = strings.TrimSpace(*u + " " + strings.TrimSpace(line))
		}
	}
	return out
}

// flagArgs name the values of the flags that take one, in the manual and
// the completion; a flag without an entry is named after its type.
var flagArgs = map[string]string{
	"config": "FILE", "state": "FILE", "import": "FILE", "control": "SOCKET", "control-group": "GROUP",
	"status-group": "GROUP", "metrics": "ADDR", "log-format": "FORMAT", "log-level": "LEVEL",
	"reason": "TEXT", "until": "TIME", "for": "DURATION", "drain": "DURATION",
	"config-format": "FORMAT", "config-id": "ID",
}

func (f flagDoc) arg() string {
	if f.Type == "" {
		return ""
	}
	if a, ok := flagArgs[f.Name]; ok {
		return a
	}
	return strings.ToUpper(f.Type)
}

// roff escapes text for a man page: backslashes, and a line that would
// start with a control character.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// opt is an option or a command word in roff: its hyphens are minus signs.
func opt(s string) string { return strings.ReplaceAll(roff(s), "-", `\-`) }

func manFlag(b *bytes.Buffer, f flagDoc) {
	b.WriteString(".TP\n")
	if a := f.arg(); a != "" {
		fmt.Fprintf(b, ".BI \\-%s \" %s\"\n", opt(f.Name), a)
	} else {
		fmt.Fprintf(b, ".B \\-%s\n", opt(f.Name))
	}
	fmt.Fprintf(b, "%s\n", roff(f.Usage))
}

// manPage is lvs-director(8).
func manPage(flags []flagDoc, cmds []cmdDoc) []byte {
	var b bytes.Buffer
	b.WriteString(`.\" lvs-director(8). Generated from the program's flags and subcommands by
.\" ` + regenerateDocs + `; do not edit.
.TH LVS\-DIRECTOR 8 "" "lvs" "System Administration"
.SH NAME
lvs\-director \- an IPVS load balancer: virtual services, health checks and a control socket
.SH SYNOPSIS
.B lvs\-director
.B \-config
.I FILE
.RI [ flags ]
.br
.B lvs\-director
.B \-check
.I FILE
.br
.B lvs\-director
.B \-import
.I keepalived.conf
.br
.B lvs\-director
.I subcommand
.RI [ flags ]
.RI [ arguments ]
.SH DESCRIPTION
.B lvs\-director
runs the lvs director, the load\-balancing half of keepalived: it reads one
configuration file (YAML or JSON; every field is in
.IR /usr/share/doc/lvs\-director/config.md ),
applies its virtual services, real servers, addresses, sysctls and firewall
marks to the kernel's IPVS table with the fewest changes, checks the real
servers' health, and keeps the table as the file says. It re\-reads the file
on SIGHUP or when asked (\fBreload\fR), logs each change as one structured
record, and serves its status over a control socket and, with
.BR \-metrics ,
Prometheus metrics.
.PP
Under systemd (Type=notify, see
.IR lvs\-director.service )
it says READY=1 once the first apply has succeeded, RELOADING=1 and READY=1
around each reload, and WATCHDOG=1 while its loop answers.
.PP
The subcommands talk to the running director over its control socket
(\fB\-control\fR, mode 0600: root and the daemon's user; with
\fB\-control\-group\fR or \fB\-status\-group\fR it is mode 0666 and each
connection's peer is checked). SERVICE is
.RB \(dq tcp
.IR 10.0.0.8:80 \(dq
(one or two words) or
.RB \(dq fwmark
.IR 10 \(dq;
REALSERVER is an address and port.
.SH OPTIONS
`)
	for _, f := range flags {
		manFlag(&b, f)
	}
	b.WriteString(".SH COMMANDS\n")
	for _, c := range cmds {
		b.WriteString(".TP\n")
		fmt.Fprintf(&b, ".B %s", opt(c.Name))
		if c.Flags != nil {
			b.WriteString(" \\fR[\\fIflags\\fR]")
		}
		if c.Args != "" {
			fmt.Fprintf(&b, " \\fI%s\\fR", roff(c.Args))
		}
		fmt.Fprintf(&b, "\n%s.\n", roff(upperFirst(c.Summary)))
		if len(c.Flags) > 0 {
			b.WriteString(".RS\n")
			for _, f := range c.Flags {
				manFlag(&b, f)
			}
			b.WriteString(".RE\n")
		}
	}
	b.WriteString(`.SH FILES
.TP
.I /etc/lvs/director.yaml
The configuration, as the systemd unit runs the director.
.TP
.I /var/lib/lvs\-director/state.json
What the director owns, and the changes made by hand (disabled real servers,
weights, drains), kept across restarts (\fB\-state\fR).
.TP
.I /run/lvs\-director.sock
The control socket (\fB\-control\fR), and
.I /run/lvs\-director.sock.lock
the lock that keeps two daemons from serving it.
.TP
.I /usr/share/doc/lvs\-director/config.md
Every field of the configuration, its default and its keepalived keyword.
.TP
.I /usr/share/doc/lvs\-director/monitoring/
A Grafana dashboard and Prometheus alert rules for the metrics.
.SH SIGNALS
.TP
.B SIGHUP
Re\-read the configuration file; a file that is refused leaves the running
configuration in place.
.TP
.BR SIGTERM ", " SIGINT
Stop, leaving the IPVS table in place (as keepalived does), unless
.BR \-teardown .
.SH EXIT STATUS
.TP
.B 0
Success: the daemon stopped cleanly, the file is valid (\fB\-check\fR), the
subcommand was done.
.TP
.B 1
Failure: the file was refused (\fB\-check\fR, \fBreload\fR), an apply
failed (\fBreload\fR), the daemon stopped on an error, or a subcommand could
not reach the daemon or was refused by it.
.TP
.B 2
A usage error: an unknown flag, subcommand or argument.
.SH EXAMPLES
.nf
lvs\-director \-import /etc/keepalived/keepalived.conf \-report
lvs\-director \-import /etc/keepalived/keepalived.conf > /etc/lvs/director.yaml
lvs\-director \-config /etc/keepalived/keepalived.conf \-config\-format keepalived
lvs\-director \-check /etc/lvs/director.yaml
systemctl reload lvs\-director
lvs\-director status
lvs\-director drain \-for 10m tcp 10.0.0.8:80 10.0.0.120:80
lvs\-director restore tcp 10.0.0.8:80 10.0.0.120:80
.fi
.SH SEE ALSO
.BR ipvsadm (8),
.BR keepalived (8),
.BR keepalived.conf (5),
.BR systemctl (1)
`)
	return b.Bytes()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkGenerated compares a generated file with the one in the tree, or
// rewrites it under -update.
func checkGenerated(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with %s", err, regenerateDocs)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: regenerate it with %s", path, regenerateDocs)
	}
}

// TestManPage: lvs-director.8 is what the flags and subcommands make, has
// every flag and subcommand, and man renders it without a warning.
func TestManPage(t *testing.T) {
	flags, cmds := cliDocs(t)
	page := manPage(flags, cmds)
	checkGenerated(t, "lvs-director.8", page)
	for _, f := range flags {
		if !bytes.Contains(page, []byte(".B"+map[bool]string{true: "I", false: ""}[f.Type != ""]+" \\-"+opt(f.Name))) {
			t.Errorf("no option -%s in the page", f.Name)
		}
	}
	if len(flags) < 10 {
		t.Errorf("only %d flags read from -h: %v", len(flags), flags)
	}
	for _, c := range cmds {
		if !bytes.Contains(page, []byte(".B "+opt(c.Name))) {
			t.Errorf("no command %s in the page", c.Name)
		}
	}
	for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "FILES", "SIGNALS", "EXIT STATUS", "SEE ALSO"} {
		if !bytes.Contains(page, []byte("\n.SH "+section+"\n")) {
			t.Errorf("no section %s", section)
		}
	}
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (scripts/install-deps.sh installs man-db)")
	}
	// As lintian checks a page: warnings on stderr.
	path := "lvs-director.8"
	if *update {
		path = t.TempDir() + "/lvs-director.8"
		if err := os.WriteFile(path, page, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("man -l warns:\n%s", stderr.String())
	}
	// And its text has every flag and subcommand.
	txt, err := exec.Command("man", "-l", "-Tutf8", "-P", "cat", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	// Bold and italics are overstruck (c\bc, _\bc); hyphens may be
	// U+2010 and minus signs U+2212.
	plain := regexp.MustCompile(".\b").ReplaceAllString(string(txt), "")
	plain = strings.NewReplacer("\u2212", "-", "\u2010", "-").Replace(plain)
	for _, f := range flags {
		if !strings.Contains(plain, "-"+f.Name) {
			t.Errorf("the rendered page has no -%s", f.Name)
		}
	}
	for _, c := range cmds {
		if !slices.Contains(strings.Fields(plain), c.Name) {
			t.Errorf("the rendered page has no command %s", c.Name)
		}
	}
}
