// Package nstest gives tests fresh network namespaces and a safe way to run
// code inside one.
//
// Every helper keeps the calling goroutine's thread where it was: a thread is
// only ever switched into a namespace while locked, and switched back before it
// is unlocked. If switching back fails the thread stays locked, so the runtime
// discards it when the goroutine ends instead of reusing a thread in a foreign
// namespace.
package nstest
