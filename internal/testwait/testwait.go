// Package testwait is the one way tests wait for a state: poll a condition
// until it holds, and fail the test with what was awaited (and, optionally,
// what was last seen) if it never does.
//
// The timeout marks a hang, not a timing assertion: tests must never pass
// or fail on how fast something happened, so Timeout is generous and only
// matters when the code under test is broken. The package must not be
// imported by production code; it lives outside _test.go files only so
// that every package's tests can share it.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long For polls before declaring a hang. It is far above
// any healthy wait, so a slow, shared CI machine never fails a test.
const Timeout = 30 * time.Second

// Interval is the pause between two polls.
const Interval = 10 * time.Millisecond

// For polls cond until it holds. After Timeout it fails t with
// "timed out waiting for <what>" followed by the text of detail, if given
// (detail is called once, at the failure, to say what was last seen).
func For(t testing.TB, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	Within(t, Timeout, what, cond, detail...)
}

// Within is For with an explicit timeout, for waits that are known to
// take longer than Timeout when healthy (a subprocess under load, a
// rescue window) or that must give up sooner to report something useful.
func Within(t testing.TB, timeout time.Duration, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	if !Poll(timeout, cond) {
		msg := "timed out waiting for " + what
		for _, d := range detail {
			msg += ": " + d()
		}
		t.Fatal(msg)
	}
}

// Poll polls cond until it holds or timeout passes, and reports whether
// it held. It is for waits whose failure the caller reports itself (for
// example with a dump of state, or from a goroutine that must not call
// t.Fatal).
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(Interval)
	}
	return true
}
