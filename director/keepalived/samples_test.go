package keepalived

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/samples")

// golden is what the importer makes of a configuration: the notes as
// comments, then the Config as YAML, which reads back as the same Config.
func golden(t *testing.T, path string) (out []byte, services int) {
	t.Helper()
	cfg, notes, err := ImportFile(path, nil)
	var b bytes.Buffer
	for _, n := range notes {
		b.WriteString("# " + n.String() + "\n")
	}
	switch {
	case errors.Is(err, ErrNoServices):
		b.WriteString("# " + err.Error() + "\n")
	case err != nil:
		t.Fatalf("%s: %v", path, err)
	default:
		if err := validNoVRRP(cfg); err != nil {
			t.Fatalf("%s: the Config does not validate: %v", path, err)
		}
		y, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(y)
		services = len(cfg.Services)
		back, err := director.Parse(y)
		if err != nil || !reflect.DeepEqual(back.Config(), cfg) {
			t.Errorf("%s: the YAML reads back as\n%+v, %v\nnot\n%+v", path, back, err, cfg)
		}
	}
	return b.Bytes(), services
}

// TestSamples imports Debian's keepalived samples and compares the result
// with the golden files (go test -update rewrites them).
func TestSamples(t *testing.T) {
	samples, err := filepath.Glob("testdata/samples/keepalived.conf*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range samples {
		if strings.HasSuffix(path, ".yaml") {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, services := golden(t, path)
			hasVS := bytes.Contains(src, []byte("\nvirtual_server "))
			if hasVS != (services > 0) {
				t.Errorf("has virtual_server blocks: %v, but %d services carried over", hasVS, services)
			}
			t.Logf("%d services, %d notes", services, bytes.Count(got, []byte("\n# "))+btoi(bytes.HasPrefix(got, []byte("# "))))
			gold := path + ".yaml"
			if *update {
				if err := os.WriteFile(gold, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gold)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s (go test -update rewrites it):\n%s", gold, got)
			}
		})
	}
	if n < 20 {
		t.Errorf("%d samples, want Debian's 25", n)
	}
}

// validNoVRRP validates cfg as Compile does.
func validNoVRRP(cfg *director.Config) error { return cfg.Validate() }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestImportFileCompiled: ImportFileCompiled gives, for each of Debian's
// samples, the Config and notes ImportFile gives, compiled; and ImportFile's
// error where it fails.
func TestImportFileCompiled(t *testing.T) {
	samples, err := filepath.Glob("testdata/samples/keepalived.conf*")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	samples = append(samples, "testdata/samples/no such file")
	compiled := 0
	for _, path := range samples {
		cfg, notes, err := ImportFile(path, nil)
		c, cnotes, cerr := ImportFileCompiled(path, nil)
		if fmt.Sprint(err) != fmt.Sprint(cerr) || !reflect.DeepEqual(notes, cnotes) {
			t.Errorf("%s: error %v and %d notes, ImportFile's %v and %d", path, cerr, len(cnotes), err, len(notes))
			continue
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(c.Config(), cfg) {
			t.Errorf("%s: the compiled Config differs from ImportFile's", path)
		}
		compiled++
	}
	if compiled < len(samples)/2 {
		t.Errorf("only %d of %d samples compiled", compiled, len(samples))
	}
}
