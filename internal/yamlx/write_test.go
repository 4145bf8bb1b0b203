package yamlx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// normal makes numbers float64, for comparing what JSON and YAML read.
func normal(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normal(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normal(e)
		}
	case json.Number:
		f, _ := v.Float64()
		return f
	case int:
		return float64(v)
	case uint64:
		return float64(v)
	case int64:
		return float64(v)
	}
	return v
}

var jsonSamples = []string{
	`{"services":[{"name":"virtual_server 10.0.0.1 80","address":"10.0.0.1:80","flags":["sh-fallback"],"realServers":[{"address":"[2001:db8::1]:80","weight":0}],"check":{"type":"tcp","interval":"5s"}}],"sysctls":{"net.ipv4.vs.conntrack":"1"},"vips":[],"empty":{}}`,
	`[[1,[2,[]]],{"a":[{}],"b":{"c":[[]]}},"yes","no","on","1_000","0x1F","1e3","2001-12-14","","  x ","a: b","#c","-","- a","null","~","true","é\u0085\u2028\t\n\"\\"]`,
	`"plain"`, `7`, `{"":{"":""}}`, `{"a":"10.0.0.1","b":"1.5","c":"010","d":"1:20","e":".inf","f":"x #y","g":"x# y","h":"@x"}`,
}

// TestFromJSON: the samples read back, by yaml/v3 and by Parse, as the
// JSON they were written from.
func TestFromJSON(t *testing.T) {
	for _, s := range jsonSamples {
		checkFromJSON(t, []byte(s))
	}
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		compact, err := json.Marshal(v)
		if err != nil {
			return
		}
		checkFromJSON(t, compact)
	})
}

func checkFromJSON(t *testing.T, j []byte) {
	t.Helper()
	out, err := FromJSON(nil, j)
	if err != nil {
		t.Fatalf("%s: %v", j, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatal(err)
	}
	var got any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s -> %s: %v", j, out, err)
	}
	if w, g := normal(want), normal(got); !reflect.DeepEqual(w, g) {
		t.Fatalf("%s -> %s reads back as %#v, want %#v", j, out, g, w)
	}
	ascii := true
	for _, c := range out {
		ascii = ascii && c < 0x80
	}
	if _, err := parseFast(out); err != nil && ascii {
		t.Errorf("%s -> %s: not read by the fast parser", j, out) // what FromJSON writes, it reads fast
	}
}
