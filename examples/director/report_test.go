package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateReports = flag.Bool("update-reports", false, "rewrite the goldens of testdata/report")

// TestImportReport: the migration report of -import FILE -report on the
// importer's samples and testdata/report/mixed.conf (each outcome: fully,
// partly, group members, not carried, a duplicate, a line for another
// config id, VRRP instances), against its golden in testdata/report;
// rewrite them with go test ./examples/director -run TestImportReport
// -update-reports.
func TestImportReport(t *testing.T) {
	const ka = "../../director/keepalived/testdata/"
	for _, tc := range []struct {
		file, id, golden string
		carried          bool
	}{
		{"testdata/report/mixed.conf", "lb1", "mixed.txt", true},
		{"testdata/report/mixed.conf", "lb2", "mixed-lb2.txt", true},
		{ka + "samples/keepalived.conf.sample", "", "sample.txt", true},
		{ka + "samples/keepalived.conf.virtual_server_group", "", "virtual_server_group.txt", true},
		{ka + "samples/keepalived.conf.conditional_conf", "high", "conditional_conf.txt", true}, // VRRP alone
		{ka + "vrrp/notes.conf", "", "vrrp-notes.txt", true},
		{ka + "vrrp/refused.conf", "", "vrrp-refused.txt", true},
		{ka + "differential/group-twice.conf", "", "group-twice.txt", true},
		{ka + "differential/braces.conf", "", "braces.txt", true},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out bytes.Buffer
			carried, err := writeImportReport(&out, tc.file, cmpOr(tc.id, "test"))
			if err != nil || carried != tc.carried {
				t.Fatalf("carried %v, %v; want %v\n%s", carried, err, tc.carried, out.Bytes())
			}
			last := out.String()[strings.LastIndex(strings.TrimSuffix(out.String(), "\n"), "\n")+1:]
			if tc.carried && !strings.HasPrefix(last, "virtual servers: ") {
				t.Errorf("the report does not end with the counts:\n%s", out.Bytes())
			}
			golden := filepath.Join("testdata/report", tc.golden)
			if *updateReports {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("report of %s:\n%s\nwant (%s):\n%s", tc.file, out.Bytes(), golden, want)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
