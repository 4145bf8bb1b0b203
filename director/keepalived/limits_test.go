package keepalived

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// importWithin runs ImportFile, failing the test if it takes longer than
// d (a FIFO blocks a reader that opens it, a device never ends).
func importWithin(t *testing.T, d time.Duration, path string) ([]Note, error) {
	t.Helper()
	type result struct {
		notes []Note
		err   error
	}
	done := make(chan result, 1)
	go func() {
		_, notes, err := ImportFile(path, nil)
		done <- result{notes, err}
	}()
	select {
	case r := <-done:
		return r.notes, r.err
	case <-time.After(d):
		t.Fatalf("ImportFile(%s) still running after %v", path, d)
		return nil, nil
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const oneService = "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n"

// TestIncludeNotRegular: an include of a device or a FIFO fails at once,
// naming what the file is, before anything is read.
func TestIncludeNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Let a reader blocked in open go.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	for _, c := range []struct{ target, want string }{
		{"/dev/zero", "a character device"},
		{"/dev/urandom", "a character device"},
		{fifo, "a FIFO"},
		{dir, "a directory"},
	} {
		conf := filepath.Join(dir, "keepalived.conf")
		writeFile(t, conf, oneService+"include "+c.target+"\n")
		_, err := importWithin(t, 5*time.Second, conf)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("include %s: %v, want a *SyntaxError saying %q", c.target, err, c.want)
		}
		// And as the configuration itself.
		if _, err := importWithin(t, 5*time.Second, c.target); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ImportFile(%s): %v, want fs.ErrInvalid", c.target, err)
		}
	}
}

// TestIncludeSparse: a file larger than the limit is refused from its
// size, before it is read.
func TestIncludeSparse(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.conf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8 << 30); err != nil { // 8 GiB of holes
		t.Fatal(err)
	}
	f.Close()
	conf := filepath.Join(dir, "keepalived.conf")
	writeFile(t, conf, oneService+"include big.conf\n")
	start := time.Now()
	_, err = importWithin(t, 5*time.Second, conf)
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "64 MiB of input") {
		t.Errorf("include of a sparse 8 GiB file: %v, want a *LimitError naming the 64 MiB limit", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v: the file was read", d)
	}
}

// TestIncludesTogetherBounded: files each under the limit, together over
// it, are refused once the total passes it.
func TestIncludesTogetherBounded(t *testing.T) {
	dir := t.TempDir()
	chunk := strings.Repeat("! padding padding padding padding padding padding padding padding\n", (20<<20)/66)
	for i := range 4 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("conf.d/%d.conf", i)), chunk)
	}
	conf := filepath.Join(dir, "keepalived.conf")
	writeFile(t, conf, oneService+"include conf.d/*.conf\n")
	_, err := importWithin(t, 20*time.Second, conf)
	var le *LimitError
	if !errors.As(err, &le) {
		t.Errorf("80 MiB of includes: %v, want a *LimitError", err)
	}
}

// TestExpansionBounded: $ definitions used many times cannot make more
// than the limit of text, on one line or over many.
func TestExpansionBounded(t *testing.T) {
	def := "$A=" + strings.Repeat("a", 1000) + "\n"
	var b strings.Builder
	b.WriteString(def)
	line := strings.Repeat("$A", 500) + "\n" // 1000 bytes, 500 KB expanded
	for range 200 {                          // 100 MB expanded
		b.WriteString(line)
	}
	_, _, err := Import(strings.NewReader(b.String()+oneService), nil)
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "after includes and $ expansion") {
		t.Errorf("100 MB after expansion: %v, want a *LimitError naming the input limit", err)
	}
	// One line over 1 MiB.
	_, _, err = Import(strings.NewReader(def+strings.Repeat("${A}", 1100)+"\n"+oneService), nil)
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "in one line after $ expansion") {
		t.Errorf("a line of 1.1 MB after expansion: %v, want a *LimitError naming the line limit", err)
	}
	// A definition that uses itself.
	_, _, err = Import(strings.NewReader("$A=x $A\n$A\n"+oneService), nil)
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("a definition using itself: %v, want a *SyntaxError", err)
	}
}

// TestGroupBounded: a short virtual_server_group of ranges cannot make
// more services, or real servers, than the limits.
func TestGroupBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("virtual_server_group g {\n")
	for i := range 300 { // 300 * 256 = 76,800 services
		fmt.Fprintf(&b, "10.%d.%d.0/24 80\n", i/256, i%256)
	}
	b.WriteString("}\nvirtual_server group g {\n protocol TCP\n real_server 192.168.0.1 80 {\n }\n}\n")
	start := time.Now()
	_, _, err := Import(strings.NewReader(b.String()), nil)
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "65536 services") {
		t.Errorf("76,800 services: %v, want a *LimitError naming the 65536 services limit", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}

	b.Reset()
	b.WriteString("virtual_server_group g {\n")
	for i := range 4 { // 1024 services
		fmt.Fprintf(&b, "10.0.%d.0/24 80\n", i)
	}
	b.WriteString("}\nvirtual_server group g {\n protocol TCP\n")
	for i := range 1100 { // 1,126,400 real servers
		fmt.Fprintf(&b, " real_server 192.168.%d.%d 80 {\n }\n", i/256, i%256)
	}
	b.WriteString("}\n")
	_, _, err = Import(strings.NewReader(b.String()), nil)
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "real servers") {
		t.Errorf("1,126,400 real servers: %v, want a *LimitError naming the real servers limit", err)
	}
}

// TestNotesShowNoContent: an include of a file that is not a
// configuration shows none of its words in the notes or the error.
func TestNotesShowNoContent(t *testing.T) {
	dir := t.TempDir()
	shadow := filepath.Join(dir, "shadow")
	writeFile(t, shadow, "root:$6$Salt1234$HASHVALUEHASHVALUE:19000:0:99999:7:::\n"+
		"daemon:*:19000:0:99999:7:::\n"+
		"alice:$y$j9T$ANOTHERHASH { x }\n"+
		"nobody:!SECRETAFTERBANG:19000::::::\n")
	conf := filepath.Join(dir, "keepalived.conf")
	writeFile(t, conf, oneService+"include shadow\nvirtual_server 10.0.0.9 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n  include shadow\n }\n}\n")
	notes, err := importWithin(t, 5*time.Second, conf)
	if err != nil {
		t.Fatal(err)
	}
	text := notesText(notes)
	for _, secret := range []string{"HASHVALUE", "Salt1234", "ANOTHERHASH", "19000", "root", "alice"} {
		if strings.Contains(text, secret) {
			t.Errorf("the notes show %q of the included file:\n%s", secret, text)
		}
	}
	if len(notes) == 0 {
		t.Error("no notes: the included lines were not noted at all")
	}
	// An unclosed block: its note names no content either.
	writeFile(t, shadow, "root:$6$Salt1234$HASHVALUE {\n")
	notes, err = importWithin(t, 5*time.Second, conf)
	if err != nil && strings.Contains(err.Error(), "HASHVALUE") || strings.Contains(notesText(notes), "HASHVALUE") {
		t.Errorf("error %v or notes show the included file:\n%s", err, notesText(notes))
	}
	if !hasNote(notes, "is not closed") {
		t.Errorf("no note of the unclosed block:\n%s", notesText(notes))
	}
}

// TestIncludeRelative: include patterns are relative to the file that has
// them, at every level, and Import's to its Name's directory.
func TestIncludeRelative(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "etc/keepalived.conf"), "include sub/a.conf\n")
	writeFile(t, filepath.Join(dir, "etc/sub/a.conf"), "include b.conf\n")
	writeFile(t, filepath.Join(dir, "etc/sub/b.conf"), oneService)
	cfg, _, err := ImportFile(filepath.Join(dir, "etc/keepalived.conf"), nil)
	if err != nil || len(cfg.Services) != 1 {
		t.Fatalf("ImportFile: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "etc/keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, notes, err := Import(strings.NewReader(string(src)), &Options{Name: filepath.Join(dir, "etc/keepalived.conf")})
	if err != nil || len(cfg.Services) != 1 {
		t.Fatalf("Import with a Name: %v\n%s", err, notesText(notes))
	}
}

// TestContinuationLinear: a definition continued over 1 MiB of lines is
// read in linear time.
func TestContinuationLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("$RS=\\\n")
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "real_server 10.%d.%d.%d 80 { } \\\n", i>>16&255, i>>8&255, i&255)
	}
	b.WriteString("\nvirtual_server 10.0.0.1 80 {\nprotocol TCP\n$RS\n}\n")
	start := time.Now()
	cfg, _, err := Import(strings.NewReader(b.String()), nil)
	d := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Services[0].RealServers); n < 30000 {
		t.Errorf("%d real servers, want one per line of the definition", n)
	}
	if d > 5*time.Second {
		t.Errorf("1 MiB of continuation lines took %v", d)
	}
}
