package keepalived

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
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
		// director.Parse compiles, which refuses a vrrp section until the
		// director runs it: the YAML is read back as Parse reads it, and
		// compiled by validNoVRRP above.
		var back director.Config
		if err := yaml.UnmarshalStrict(y, &back); err != nil || !reflect.DeepEqual(&back, cfg) {
			t.Errorf("%s: the YAML reads back as\n%+v, %v\nnot\n%+v", path, &back, err, cfg)
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

// validNoVRRP validates cfg as Compile does, but for its vrrp section:
// Compile refuses the section until the director runs it (model.go), so
// a copy without it is validated; the importer validated each instance
// as package director/vrrp does. When the director runs the section,
// this becomes cfg.Validate().
func validNoVRRP(cfg *director.Config) error {
	c := *cfg
	c.VRRP = nil
	if err := c.Validate(); err != nil {
		return err
	}
	return checkVRRP(cfg.VRRP)
}

// checkVRRP stands in for Compile's checks of a vrrp section until the
// director runs it: each instance valid for package director/vrrp, names
// unique, a VRID once per interface and family, sync groups and the sync
// daemon naming instances, each tracked check and its command valid.
func checkVRRP(v *director.VRRP) error {
	if v == nil {
		return nil
	}
	if len(v.Instances) == 0 {
		return errors.New("vrrp: no instances")
	}
	names := map[string]bool{}
	vrids := map[string]string{}
	for _, in := range v.Instances {
		c := speakerConfig(in)
		if err := c.Validate(); err != nil {
			return err
		}
		if names[in.Name] {
			return fmt.Errorf("vrrp: instance %s twice", in.Name)
		}
		names[in.Name] = true
		k := fmt.Sprintf("%s %d %v %v", in.Interface, in.VRID, in.VIPs[0].Address.Addr().Is6(), len(in.Peers) > 0)
		if prev, dup := vrids[k]; dup && len(in.Peers) == 0 {
			return fmt.Errorf("vrrp: %s and %s share VRID %d on %s", prev, in.Name, in.VRID, in.Interface)
		}
		vrids[k] = in.Name
		if in.Track == nil {
			continue
		}
		for _, c := range in.Track.Checks {
			cmd, ok := c.Check.Spec.(*check.Command)
			if !ok || len(cmd.Argv) == 0 || c.Check.Interval < director.MinCheckInterval || c.Check.Timeout > check.MaxTimeout || c.Check.Rise < 1 || c.Check.Fall < 1 {
				return fmt.Errorf("vrrp: %s: tracked check %s %+v", in.Name, c.Name, c.Check)
			}
		}
		for _, t := range append(slices.Clone(in.Track.Interfaces), in.Track.Services...) {
			if t.Weight < -253 || t.Weight > 253 {
				return fmt.Errorf("vrrp: %s: weight %d", in.Name, t.Weight)
			}
		}
	}
	member := map[string]bool{}
	for _, g := range v.SyncGroups {
		for _, m := range g.Instances {
			if !names[m] || member[m] {
				return fmt.Errorf("vrrp: sync group %s: instance %s unknown or in another group", g.Name, m)
			}
			member[m] = true
		}
	}
	if sd := v.SyncDaemon; sd != nil && !names[sd.Instance] {
		return fmt.Errorf("vrrp: sync daemon follows unknown instance %s", sd.Instance)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
