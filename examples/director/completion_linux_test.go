package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// flagValues are the words a flag's value completes to; flags with a file
// for a value (flagArgs FILE or SOCKET) complete file names, and -check
// takes a file after it too.
var flagValues = map[string]string{
	"log-format":    "text json",
	"log-level":     "debug info warn error",
	"config-format": "auto yaml keepalived",
}

// completion is lvs-director.bash: the subcommands, each one's flags, the
// daemon's flags, and file names after the flags that take a file.
func completion(flags []flagDoc, cmds []cmdDoc) []byte {
	var b bytes.Buffer
	names := func(fs []flagDoc) string {
		var out []string
		for _, f := range fs {
			out = append(out, "-"+f.Name)
		}
		return strings.Join(out, " ")
	}
	var cmdNames, fileFlags, valueFlags []string
	for _, c := range cmds {
		cmdNames = append(cmdNames, c.Name)
	}
	all := slices.Clone(flags)
	for _, c := range cmds {
		all = append(all, c.Flags...)
	}
	for _, f := range all {
		switch a := f.arg(); {
		case a == "FILE" || a == "SOCKET":
			fileFlags = append(fileFlags, "-"+f.Name)
		case a != "":
			valueFlags = append(valueFlags, "-"+f.Name)
		}
	}
	fileFlags = append(fileFlags, "-check")
	slices.Sort(fileFlags)
	slices.Sort(valueFlags)
	fileFlags, valueFlags = slices.Compact(fileFlags), slices.Compact(valueFlags)
	valueFlags = slices.DeleteFunc(valueFlags, func(f string) bool {
		_, words := flagValues[strings.TrimPrefix(f, "-")]
		return words || slices.Contains(fileFlags, f)
	})
	fmt.Fprintf(&b, `# bash completion for lvs-director(8). Generated from the program's flags and
# subcommands by %s; do not edit.

_lvs_director_files() {
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$1"))
}

_lvs_director() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	%s)
		_lvs_director_files "$cur"
		return
		;;
`, regenerateDocs, strings.Join(fileFlags, "|"))
	for _, f := range flags {
		if v, ok := flagValues[f.Name]; ok {
			fmt.Fprintf(&b, "\t-%s)\n\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\t\treturn\n\t\t;;\n", f.Name, v)
		}
	}
	fmt.Fprintf(&b, `	%s)
		COMPREPLY=()
		return
		;;
	esac
	local i cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		%s)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done
	local words
	case $cmd in
	"")
		if [[ $cur == -* ]]; then
			words=%q
		else
			words=%q
		fi
		;;
`, strings.Join(valueFlags, "|"), strings.Join(cmdNames, "|"), names(flags), strings.Join(cmdNames, " "))
	for _, c := range cmds {
		fmt.Fprintf(&b, "\t%s)\n\t\twords=%q\n\t\t;;\n", c.Name, names(c.Flags))
	}
	b.WriteString(`	esac
	if [[ -z $cmd || $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
	fi
}

complete -F _lvs_director lvs-director
`)
	return b.Bytes()
}

// TestCompletion: lvs-director.bash is what the flags and subcommands
// make, bash accepts it, and sourced it completes every subcommand, every
// flag, a subcommand's flags and file names after -config and -check.
func TestCompletion(t *testing.T) {
	flags, cmds := cliDocs(t)
	script := completion(flags, cmds)
	checkGenerated(t, "lvs-director.bash", script)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	path := filepath.Join(t.TempDir(), "lvs-director.bash")
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	dir := t.TempDir()
	for _, f := range []string{"director.yaml", "other.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// complete runs the completion for the words, the last one being
	// completed, in dir.
	complete := func(words ...string) []string {
		t.Helper()
		var arr []string
		for _, w := range words {
			arr = append(arr, fmt.Sprintf("%q", w))
		}
		sh := fmt.Sprintf(`source %q
COMP_WORDS=(%s); COMP_CWORD=%d
_lvs_director
printf '%%s\n' "${COMPREPLY[@]}"`, path, strings.Join(arr, " "), len(words)-1)
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", sh)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	out, err := exec.Command(bash, "--norc", "--noprofile", "-c", "source "+path+" && complete -p lvs-director").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "complete -F _lvs_director lvs-director" {
		t.Errorf("complete -p lvs-director: %v: %q", err, out)
	}
	got := complete("lvs-director", "")
	for _, c := range cmds {
		if !slices.Contains(got, c.Name) {
			t.Errorf("lvs-director <TAB>: no %s in %v", c.Name, got)
		}
	}
	got = complete("lvs-director", "-")
	for _, f := range flags {
		if !slices.Contains(got, "-"+f.Name) {
			t.Errorf("lvs-director -<TAB>: no -%s in %v", f.Name, got)
		}
	}
	for _, c := range cmds {
		got := complete("lvs-director", c.Name, "-")
		for _, f := range c.Flags {
			if !slices.Contains(got, "-"+f.Name) {
				t.Errorf("lvs-director %s -<TAB>: no -%s in %v", c.Name, f.Name, got)
			}
		}
	}
	for _, words := range [][]string{{"lvs-director", "-config", "d"}, {"lvs-director", "-check", "d"}} {
		if got := complete(words...); !slices.Equal(got, []string{"director.yaml"}) {
			t.Errorf("%v<TAB>: %v, want director.yaml", words, got)
		}
	}
	if got := complete("lvs-director", "-log-level", "w"); !slices.Equal(got, []string{"warn"}) {
		t.Errorf("-log-level w<TAB>: %v", got)
	}
	if got := complete("lvs-director", "drain", "-for", ""); len(got) != 0 {
		t.Errorf("drain -for <TAB>: %v, want nothing", got)
	}
}
