package yamlx

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// dump prints the tree of d as one line per node, for comparing.
func dump(d *Doc) string {
	var b strings.Builder
	var walk func(i int32, depth int)
	walk = func(i int32, depth int) {
		n := d.Node(i)
		fmt.Fprintf(&b, "%s%d %d %q", strings.Repeat(" ", depth), n.Kind, n.Tag, n.Value)
		if n.Kind != Scalar || n.Tag != Null || n.Value != "" {
			fmt.Fprintf(&b, " @%d", n.Line)
		}
		b.WriteByte('\n')
		for c := n.First; c != None; c = d.Node(c).Next {
			walk(c, depth+1)
		}
	}
	if d.Len() > 0 {
		walk(0, 0)
	}
	return b.String()
}

var samples = []string{
	"",
	"# only a comment\n",
	"a: 1\nb: [x, \"y\", 'z''s']\nc:\n  - {k: v, n: null, t: true}\n  - - nested\n    - two\nd:\n- e: 1.5\n  f: 0x1F\n",
	"services:\n  - name: web\n    protocol: tcp\n    address: 10.0.0.8:80   # comment\n    flags: one-packet,flag-1\n    realServers:\n      - {address: 10.0.0.110:80, forward: nat}\n      - address: \"[2001:db8::1]:80\"\n        forward: dr\n\n    check: {type: tcp, interval: 5s}\n",
	"{\"services\": [\n  {\"name\": \"x\", \"weight\": 1,\n   \"ok\": true\n  }\n]}\n",
	"a:\nb: ~\nc: \"\\u00e9\\n\"\n",
	"- a\n- b: c\n  d: e\n-\n  f: g\n",
	"key: -1\nother: -x\nk3: a:b\n",
}

// TestFastMatchesV3: the fast parser reads the samples, into the tree
// yaml/v3 reads.
func TestFastMatchesV3(t *testing.T) {
	for _, s := range samples {
		fast, err := parseFast([]byte(s))
		if err != nil {
			t.Errorf("%q: not read by the fast parser: %v", s, err)
			continue
		}
		slow, err := parseV3([]byte(s))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if f, v := dump(fast), dump(slow); f != v {
			t.Errorf("%q:\nfast:\n%s\nv3:\n%s", s, f, v)
		}
	}
}

// FuzzFastMatchesV3: whatever the fast parser reads, yaml/v3 reads the
// same; what it does not read, Parse still reads as yaml/v3 does.
func FuzzFastMatchesV3(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, err := parseFast(b)
		if err != nil {
			return
		}
		slow, err := parseV3(b)
		if err != nil {
			t.Fatalf("%q: read by the fast parser, refused by yaml/v3: %v\n%s", b, err, dump(fast))
		}
		if f, v := dump(fast), dump(slow); f != v {
			t.Fatalf("%q:\nfast:\n%s\nv3:\n%s", b, f, v)
		}
	})
}

// TestFastDeclines: what yaml/v3 refuses, the fast parser leaves to it
// (so that Parse refuses it with yaml/v3's error): keys past 1,024
// characters or over lines, a plain key ending in a quote before ":[",
// nesting past 10,000; and documents after the first, which yaml/v3
// skips.
func TestFastDeclines(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("k", 1030) + ": v\n",
		"{" + strings.Repeat("k", 1030) + ": v}\n",
		"{a\n : b}\n",
		"{\"a\"\n: b}\n",
		"{0\":[{0: 000,0: 0}]}",
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		"a: b: c\n",
		"a: 1\n b: 2\n",
	} {
		if _, err := parseFast([]byte(s)); err == nil {
			t.Errorf("%.40q: read by the fast parser", s)
		}
		if _, err := Parse([]byte(s)); err == nil {
			t.Errorf("%.40q: read by Parse", s)
		}
	}
	for _, s := range []string{"a: 1\n...\nb: 2\n", "a: 1\n---\nb: 2\n"} {
		if _, err := parseFast([]byte(s)); err == nil {
			t.Errorf("%q: read by the fast parser", s)
		}
		if d, err := Parse([]byte(s)); err != nil || d.Count(0) != 2 || d.Node(d.Node(0).First).Value != "a" {
			t.Errorf("%q: %v, want the first document, a: 1", s, err)
		}
	}
}

// TestFastMatchesV3Random: documents made of YAML's pieces, at random
// (a fixed seed) as tokens and as lines of keys, items and values: each
// the fast parser reads, yaml/v3 reads into the same tree.
func TestFastMatchesV3Random(t *testing.T) {
	tokens := []string{"  ", "    ", " ", "- ", "-", "a: ", "b:", "{", "}", "[", "]", ", ", ",", ": ", ":", "'q''x'", "\"d\\n\"",
		"\"k\": ", "#c", "\n", "\n", "a", "0", "-1", "x:y", "true", "~", "1.5", "0x1F", "a b", "?", "&x", "*x", "!t", "|",
		"... ", "---", "0o7", "1_0", ".5", "+1", "2001-12-14", "a#b", " #c", "\t", "é"}
	vals := []string{"", "a", "0", "-1", "x:y", "true", "~", "'q''x'", "\"d\\u00e9\"", "{a: 1, b: [x, y]}", "[1, {c: d}]",
		"[\n  1,\n  2]", "{\"k\":\"v\"}", "a b", "1.5", " #c", "x #c", "[]", "{}", "'a' ", "\"\"", "b:", "- z", "[a,\n b]"}
	keys := []string{"a", "b", "\"q\"", "'s'", "k k", "1", "-x", "c"}
	r := rand.New(rand.NewPCG(1, 2))
	n := 10000
	if testing.Short() {
		n = 2000
	}
	read := 0
	for i := range n {
		var b strings.Builder
		if i%2 == 0 {
			for range r.IntN(30) {
				b.WriteString(tokens[r.IntN(len(tokens))])
			}
		} else {
			for range 1 + r.IntN(8) {
				b.WriteString(strings.Repeat(" ", r.IntN(7)))
				for range r.IntN(3) {
					b.WriteString("- ")
				}
				if r.IntN(3) > 0 {
					b.WriteString(keys[r.IntN(len(keys))] + ":")
					if r.IntN(4) > 0 {
						b.WriteString(" ")
					}
				}
				b.WriteString(vals[r.IntN(len(vals))] + "\n")
			}
		}
		s := b.String()
		fast, err := parseFast([]byte(s))
		if err != nil {
			continue
		}
		read++
		slow, err := parseV3([]byte(s))
		if err != nil {
			t.Fatalf("%q: read by the fast parser, refused by yaml/v3: %v", s, err)
		}
		if f, v := dump(fast), dump(slow); f != v {
			t.Fatalf("%q:\nfast:\n%s\nv3:\n%s", s, f, v)
		}
	}
	if read < n/20 {
		t.Errorf("the fast parser read %d of %d documents", read, n)
	}
}
