package check

import (
	"encoding/json"
	"testing"
)

// FuzzDecode: any check block decodes, for every registered type,
// without panicking; a spec that decodes compiles or refuses without
// panicking, and encodes to JSON that decodes to the same spec.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"type":"http","path":"/healthz","status":[200,301],"headers":{"X-A":"b"},"bodyRegexp":"^ok"}`,
		`{"type":"https","caFile":"/dev/zero","insecure":true,"serverName":"a.example"}`,
		`{"type":"tls","certFile":"/nonexistent","keyFile":"/nonexistent"}`,
		`{"type":"dns","query":"a.example","queryType":"AAAA","answer":"2001:db8::1","rcode":"NOERROR"}`,
		`{"type":"smtp","helo":"lvs.example"}`,
		`{"type":"udp","send":"ping","expect":"pong"}`,
		`{"type":"command","command":["/bin/true","a"]}`,
		`{"type":"icmp"}`,
		`{"type":"tcp","interval":"2s","fall":3}`,
		`null`,
	} {
		f.Add(seed)
	}
	types := Types()
	f.Fuzz(func(t *testing.T, b string) {
		for _, typ := range types {
			spec, err := Decode(typ, []byte(b))
			if err != nil {
				continue
			}
			spec.Compile() // refuses or compiles; files it names are bounded
			out, err := json.Marshal(spec)
			if err != nil {
				continue // a value JSON cannot hold (a float's NaN...)
			}
			back, err := Decode(typ, out)
			if err != nil {
				t.Fatalf("%s: %s decodes, its encoding %s does not: %v", typ, b, out, err)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(out) {
				t.Fatalf("%s: %s -> %s -> %s", typ, b, out, again)
			}
		}
	})
}
