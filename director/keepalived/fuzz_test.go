package keepalived

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImport: no panics, and whatever Import returns validates.
func FuzzImport(f *testing.F) {
	samples, _ := filepath.Glob("testdata/samples/keepalived.conf*")
	vrrpConfs, _ := filepath.Glob("testdata/vrrp/*.conf")
	samples = append(samples, vrrpConfs...)
	for _, p := range samples {
		if strings.HasSuffix(p, ".yaml") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("virtual_server group g {\nreal_server 10.0.0.2 80 {}\n}\nvirtual_server_group g { 10.0.0.1-5 80\nfwmark 3 inet6\n}")
	f.Add("$A=real_server 10.0.0.2 80 { \\\n TCP_CHECK { \\\n } }\nvirtual_server 10.0.0.1 80 dev x { protocol TCP\n$A\nHTTP_GETT { url { path / } }\n}")
	f.Add("virtual_server 10.0.0.1 80 { lb_kind TUN type gue port 1 remcsum\nreal_server ::1 80 { HTTP_GET { url { path \"/ x\" } } } }")
	f.Add("vrrp_script s { script \"</dev/tcp/x\" weight 254 reverse }\nvrrp_sync_group g { group { a b a } track_script { s weight 9 } }\n" +
		"vrrp_instance a { interface e virtual_router_id 1 priority 255 version 2 native_ipv6 virtual_ipaddress { fe80::1/129 dev\n::1 dev x } track_script { s } }\n" +
		"vrrp_instance b { interface e virtual_router_id 1 unicast_peer { 10.0.0.1 min_ttl } virtual_ipaddress { 10.0.0.2 } advert_int 300 }\n" +
		"global_defs { lvs_sync_daemon e a id 300 }\nvirtual_server 10.0.0.1 80 { real_server 10.0.0.2 80 {} }")
	f.Add("track_file t { file /run/x\nweight -3 reverse\ninit_file 1 overwrite }\nvirtual_server 10.0.0.1 80 { real_server 10.0.0.2 80 { FILE_CHECK { track_file t\nweight 0 reverse }\nTCP_CHECK {}\nFILE_CHECK { track_file u } }\nreal_server 10.0.0.3 80 { FILE_CHECK { track_file t } } }")
	f.Fuzz(func(t *testing.T, src string) {
		// Includes would read the files of the working directory.
		if strings.Contains(src, "include") {
			return
		}
		cfg, _, err := Import(strings.NewReader(src), nil)
		var se *SyntaxError
		var le *LimitError
		switch {
		case err == nil:
			if verr := validNoVRRP(cfg); verr != nil {
				t.Fatalf("invalid Config: %v", verr)
			}
		case errors.Is(err, ErrNoServices), errors.As(err, &se), errors.As(err, &le):
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
