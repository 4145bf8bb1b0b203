package main

import (
	"testing"

	"github.com/lvs-go/lvs/director"
	"sigs.k8s.io/yaml"
)

// TestSampleConfigs: the sample configurations are valid, and are what the
// scenarios run: director d1 of the active/active cluster, and the backup
// (d2, MED 100) of the active/backup pair.
func TestSampleConfigs(t *testing.T) {
	for _, tc := range []struct {
		file string
		want func() *director.Config
	}{
		{"configs/active-active.yaml", func() *director.Config {
			return (&cluster{opts: options{directors: 3, sync: true, sloppy: true}}).config(0)
		}},
		{"configs/active-backup.yaml", func() *director.Config {
			return (&cluster{opts: options{directors: 2, sync: true, sloppy: true, meds: []uint32{0, 100}}}).config(1)
		}},
	} {
		got, err := director.Load(tc.file)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		a, err := director.Parse(mustYAML(t, got.Config()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := director.Parse(mustYAML(t, tc.want()))
		if err != nil {
			t.Fatal(err)
		}
		if string(mustYAML(t, a.Config())) != string(mustYAML(t, b.Config())) {
			t.Errorf("%s is not what the scenarios run:\n%s\nwant:\n%s", tc.file, mustYAML(t, a.Config()), mustYAML(t, b.Config()))
		}
	}
}

func mustYAML(t *testing.T, c *director.Config) []byte {
	t.Helper()
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
