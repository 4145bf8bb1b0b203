package director

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/lvs-go/lvs/internal/yamlx"
	"github.com/lvs-go/lvs/sysctl"
	yaml "go.yaml.in/yaml/v3"
)

// checkAppendYAML: c's YAML is the YAML of its JSON (the same values, by
// yaml/v3), and reads back into c.
func checkAppendYAML(t *testing.T, c *Config) {
	t.Helper()
	y, err := c.AppendYAML(nil)
	if err != nil {
		t.Fatalf("%+v: %v", c, err)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	viaJSON, err := yamlx.FromJSON(nil, j)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := yaml.Unmarshal(y, &got); err != nil {
		t.Fatalf("%s: %v", y, err)
	}
	if err := yaml.Unmarshal(viaJSON, &want); err != nil {
		t.Fatalf("%s: %v", viaJSON, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AppendYAML wrote\n%s\nthe JSON is\n%s", y, viaJSON)
	}
	back, err := readConfig(y)
	if err != nil {
		t.Fatalf("%s: %v", y, err)
	}
	if b := mustJSON(t, back); b != string(j) {
		t.Fatalf("%s reads back as\n%s\nwant %s", y, b, j)
	}
}

// TestAppendYAML: the seeds' configurations written as YAML are their
// JSON's YAML, and read back.
func TestAppendYAML(t *testing.T) {
	for _, b := range decodeSeeds(t) {
		c, err := readConfig(b)
		if err != nil {
			t.Fatal(err)
		}
		checkAppendYAML(t, c)
	}
	checkAppendYAML(t, &Config{})
	checkAppendYAML(t, &Config{Services: []VirtualService{{Name: "x", RealServers: []RealServer{}}}, Sysctls: map[sysctl.Key]string{}})
}

// FuzzAppendYAML: any configuration the decoder reads is written as its
// JSON's YAML, and reads back.
func FuzzAppendYAML(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := readConfig(b)
		if err != nil {
			return
		}
		if _, err := json.Marshal(c); err != nil {
			return // not writable as JSON either
		}
		checkAppendYAML(t, c)
	})
}
