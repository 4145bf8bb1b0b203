package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// needTool finds a program the test needs: a test skipped without it,
// failed under CI=true.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (scripts/install-deps.sh installs %s)", name, pkg)
		}
		t.Skipf("%s is not installed (scripts/install-deps.sh installs %s)", name, pkg)
	}
	return p
}

// TestDebianPackage builds the package with scripts/deb.sh, checks what it
// holds and its control files, runs lintian (no errors; its warnings and
// infos logged), and runs the packaged binary's -check on the packaged
// sample configuration, extracted to a temporary directory (the package
// is never installed).
func TestDebianPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon and the package")
	}
	needTool(t, "dpkg-deb", "dpkg")
	needTool(t, "go", "Go")
	out := t.TempDir()
	cmd := exec.Command("sh", "../../scripts/deb.sh", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/deb.sh: %v\n%s", err, stderr.String())
	}
	deb := strings.TrimSpace(string(b))
	if !strings.HasPrefix(filepath.Base(deb), "lvs-director_") || !strings.HasSuffix(deb, "_amd64.deb") {
		t.Fatalf("scripts/deb.sh wrote %q, want lvs-director_VERSION_amd64.deb", deb)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("%s %v: %v\n%s", name, args, err, ee.Stderr)
			}
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return string(out)
	}

	// What it holds.
	var files []string
	for _, line := range strings.Split(run("dpkg-deb", "-c", deb), "\n") {
		if f := strings.Fields(line); len(f) >= 6 {
			files = append(files, strings.TrimPrefix(f[5], "."))
		}
	}
	for _, want := range []string{
		"/usr/sbin/lvs-director", "/lib/systemd/system/lvs-director.service", "/etc/lvs/director.yaml",
		"/usr/share/man/man8/lvs-director.8.gz", "/usr/share/bash-completion/completions/lvs-director",
		"/usr/share/doc/lvs-director/copyright", "/usr/share/doc/lvs-director/changelog.Debian.gz",
		"/usr/share/doc/lvs-director/changelog.gz", "/usr/share/doc/lvs-director/config.md",
		"/usr/share/doc/lvs-director/monitoring/alerts.yml", "/usr/share/doc/lvs-director/monitoring/dashboard.json",
		"/usr/share/lintian/overrides/lvs-director",
	} {
		if !slices.Contains(files, want) {
			t.Errorf("the package has no %s; it has %v", want, files)
		}
	}
	fields := run("dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Maintainer", "Description")
	for _, want := range []string{"Package: lvs-director\n", "Architecture: amd64\n", "Version: "} {
		if !strings.Contains(fields, want) {
			t.Errorf("control has no %q:\n%s", want, fields)
		}
	}
	if conffiles := run("dpkg-deb", "-I", deb, "conffiles"); conffiles != "/etc/lvs/director.yaml\n" {
		t.Errorf("conffiles = %q", conffiles)
	}

	// Its files, and their md5sums.
	root := t.TempDir()
	run("dpkg-deb", "-x", deb, root)
	ctl := t.TempDir()
	run("dpkg-deb", "-e", deb, ctl)
	sums := exec.Command("md5sum", "--check", "--quiet", filepath.Join(ctl, "md5sums"))
	sums.Dir = root
	if out, err := sums.CombinedOutput(); err != nil {
		t.Errorf("md5sums: %v\n%s", err, out)
	}
	if n := strings.Count(run("cat", filepath.Join(ctl, "md5sums")), "\n"); n != len(filesUnder(t, root))-1 {
		t.Errorf("md5sums lists %d files, the package has %d outside /etc", n, len(filesUnder(t, root))-1)
	}
	for packaged, source := range map[string]string{
		"usr/share/man/man8/lvs-director.8.gz":               "lvs-director.8",
		"usr/share/bash-completion/completions/lvs-director": "lvs-director.bash",
		"etc/lvs/director.yaml":                              "director.yaml",
		"usr/share/doc/lvs-director/config.md":               "../../docs/config.md",
	} {
		got := readMaybeGzip(t, filepath.Join(root, packaged))
		want, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not %s", packaged, source)
		}
	}
	unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/lvs-director.service"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(unit, []byte("/usr/local")) || bytes.Contains(unit, []byte("cp lvs-director.service")) || !bytes.Contains(unit, []byte("ExecStart=/usr/sbin/lvs-director -config /etc/lvs/director.yaml")) {
		t.Errorf("the packaged unit does not run /usr/sbin/lvs-director:\n%s", unit)
	}

	// The packaged binary checks the packaged sample.
	bin := filepath.Join(root, "usr/sbin/lvs-director")
	sample := filepath.Join(root, "etc/lvs/director.yaml")
	if got := run(bin, "-check", sample); got != sample+": configuration OK\n" {
		t.Errorf("lvs-director -check %s: %q", sample, got)
	}
	if got := run(bin, "-version"); !strings.HasPrefix(got, "lvs-director ") {
		t.Errorf("lvs-director -version: %q", got)
	}

	// lintian: no errors (its exit status, and no E: line); what it says
	// besides is logged, with the tags overridden and why (a second run:
	// with --show-overrides lintian exits 2 for an overridden error).
	lintian := needTool(t, "lintian", "lintian")
	for _, show := range []bool{false, true} {
		args := []string{"--pedantic", "--display-info", deb}
		if show {
			args = append([]string{"--show-overrides"}, args...)
		}
		l := exec.Command(lintian, args...)
		var lout bytes.Buffer
		l.Stdout, l.Stderr = &lout, &lout
		lerr := l.Run()
		if show {
			for _, line := range strings.Split(strings.TrimSpace(lout.String()), "\n") {
				t.Logf("lintian: %s", line)
			}
			continue
		}
		var errs []string
		for _, line := range strings.Split(lout.String(), "\n") {
			if strings.HasPrefix(line, "E: ") {
				errs = append(errs, line)
			}
		}
		if lerr != nil || len(errs) > 0 {
			t.Errorf("lintian: %v\n%s", lerr, lout.String())
		}
	}
}

// filesUnder lists the regular files under dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readMaybeGzip reads a file, uncompressed if its name ends in .gz.
func readMaybeGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = z
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
