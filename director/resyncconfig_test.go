package director

import (
	"fmt"
	"strings"
)

// resyncConfigText is the configuration the resync benchmarks run (on
// the in-memory IPVS and on the kernel): n TCP services of reals DR real
// servers each.
func resyncConfigText(n, reals int) string {
	var text strings.Builder
	text.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&text, "  - {protocol: tcp, address: 10.1.%d.%d:80, realServers: [", i>>8, i&255)
		for j := range reals {
			if j > 0 {
				text.WriteString(", ")
			}
			fmt.Fprintf(&text, "{address: 10.2.%d.%d:80, forward: dr}", j, i&255)
		}
		text.WriteString("]}\n")
	}
	return text.String()
}
