// Package ipvstest is an in-memory IPVS for tests: a Fake does with
// services, destinations, timeouts and sync daemons what the kernel does,
// behind ipvs.API, which *ipvs.Client implements too. Code that takes an
// ipvs.API is then tested without root, without a kernel module and on any
// operating system.
//
// RunConformance is the suite that holds a Fake and the kernel to the same
// behaviour; this package runs it against both.
//
// # What a Fake covers
//
// Every method of ipvs.API, with the client's validation (the same code),
// the kernel's errors (the same *ipvs.Error values, errnos and Op names),
// the kernel's listing order and the kernel's defaults: see Fake for the
// details and for where it differs. Sync daemons start only on the
// interfaces Config.Interfaces names (lo is always there) and read back
// with the kernel's defaults filled in. Connections and the kernel's
// totals (ipvs.Client's Counters) are not part of ipvs.API and not modelled.
//
// # Faults, stats and counters
//
// Three controls, which are not part of ipvs.API, let a test see what the
// code under test does where the kernel would not cooperate on demand:
//
//   - Fake.Inject makes requests fail as the kernel would refuse them: the
//     Nth request, or those of an operation, a service or a destination,
//     or any a predicate picks, with the errno of the test's choosing. A
//     batch's changes fail one by one, as the kernel reports them. The
//     error is the client's (*ipvs.Error with Op and errno), so the code's
//     errors.Is(err, fs.ErrNotExist) and retries behave as in production.
//   - Fake.SetServiceStats and Fake.SetDestinationStats set the counters,
//     rates and connection counts that traffic would make the kernel
//     report, for code that reads load or must not mistake it for a
//     change of configuration (compare with ipvs.Service.Settings and
//     ipvs.Destination.Settings).
//   - Fake.Counts tells how many times each method was called and how many
//     changes were applied or refused, so that a test can assert that a
//     second pass of a reconciler sends nothing.
//
// In a test:
//
//	f := ipvstest.New(&ipvstest.Config{Interfaces: map[string]int{"eth1": 1500}})
//	defer f.Close()
//	// ... the code under test, which takes an ipvs.API, sets up svc and rs ...
//	f.SetDestinationStats(svc, ipvs.Destination{Addr: rs, ActiveConns: 12,
//		Stats: ipvs.Stats{Connections: 300}})
//	before := f.Counts()
//	// ... a pass with nothing to do: it must not rewrite a busy rs ...
//	if f.Counts().Applied() != before.Applied() {
//		t.Error("a pass with nothing to do changed something")
//	}
//	f.Inject(ipvstest.Fault{Op: "update destination", Destination: rs, Errno: syscall.ENOMEM})
//	// ... a pass that updates rs meets ENOMEM for rs alone, as from the kernel ...
//
// A test that wants the kernel's own errors, rather than injected ones,
// provokes them as with the kernel: a duplicate create is EEXIST, a
// missing service ESRCH, a sync daemon on an unknown interface ENODEV.
package ipvstest
