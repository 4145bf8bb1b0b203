// Package vmtest runs a package's real-kernel tests inside a QEMU guest on
// Debian's kernel when the host kernel lacks what they need (IPVS, ipip).
//
// A package opts in with a TestMain:
//
//	func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Config{Modules: []string{"ip_vs"}}) }
//
// and each test that needs the real kernel starts with vmtest.Require(t, "ip_vs").
// On a host that has the modules, Require returns and the test runs here. On a
// host that lacks them, Require records the test and skips it here; after the
// host run, Main boots one VM with the same test binary as its /init and runs
// exactly the recorded tests there, streaming their output. The guest's exit
// code becomes the package's.
package vmtest
