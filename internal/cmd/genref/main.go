// Command genref writes docs/config.md, the reference of every field of a
// director configuration file, from the director package's types (their
// YAML keys and types, by reflection) and their doc comments (read from
// the sources with go/parser), with the defaults and the keepalived
// keywords this command keeps in tables.go.
//
//	go run ./internal/cmd/genref              # from the module's root: writes docs/config.md
//	go run ./internal/cmd/genref -o -         # prints it
//
// Its test fails when docs/config.md is not what this command writes, and
// when a field has no doc comment.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", "", "where to write the reference (- for stdout); docs/config.md under the module's root if empty")
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genref:", err)
		os.Exit(1)
	}
	ref, err := build(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genref:", err)
		os.Exit(1)
	}
	if missing := ref.undocumented(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "genref: fields without a doc comment (document them in the sources): %v\n", missing)
		os.Exit(1)
	}
	b := ref.markdown()
	switch *out {
	case "-":
		_, err = os.Stdout.Write(b)
	case "":
		err = os.WriteFile(filepath.Join(root, "docs", "config.md"), b, 0o644)
	default:
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genref:", err)
		os.Exit(1)
	}
}

// moduleRoot is the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
