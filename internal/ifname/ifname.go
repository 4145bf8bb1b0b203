// Package ifname checks network interface names.
package ifname

import "strings"

// Valid reports whether name can be a Linux interface name and be written
// safely into commands and files: 1 to 15 bytes (IFNAMSIZ less its NUL),
// not "." or "..", and no '/', ':', white space, quotes, backslashes or
// control characters (the kernel's dev_valid_name refuses the first ones;
// the rest no tool can quote reliably).
func Valid(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("/:'\"\\", r) {
			return false
		}
	}
	return true
}
