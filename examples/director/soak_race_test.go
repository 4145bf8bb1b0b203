//go:build race

package main

// raceBuild says the test binary, and so the daemon the tests run from it,
// is built with the race detector.
const raceBuild = true
