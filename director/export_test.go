package director

// FullReads is how many times d has read the whole IPVS table (for the
// external tests).
func FullReads(d *Director) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fullReads
}

// LoadStateFile reads a state file's sysctls and VIPs (for the external
// tests).
func LoadStateFile(path string) (sysctls []string, vips []VIP, err error) {
	st, err := loadState(path)
	for _, s := range st.Sysctls {
		sysctls = append(sysctls, string(s.Key))
	}
	return sysctls, st.VIPs, err
}

// NatYAML and NatLab are the internal tests' configurations, for the
// external ones.
var NatYAML, NatLab = natYAML, natLab

// ResyncConfigText is the resync benchmarks' configuration (for the
// external ones).
var ResyncConfigText = resyncConfigText
