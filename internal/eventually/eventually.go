// Package eventually waits, in tests, for a condition that becomes true on
// its own time (a server that starts, a count that settles), with a
// deadline: the test says what it waits for and why it gave up, instead of
// sleeping and hoping or writing the deadline loop again.
package eventually

import "time"

// T is what True needs of a test: *testing.T and *testing.B are one.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// The polls start fast (most conditions hold within milliseconds) and back
// off, so that a slow condition costs little CPU on a loaded machine.
const (
	firstPoll = time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// True calls cond until it reports ok, polling with a short backoff, and
// fails t with cond's last why once within has passed without it. cond
// is called at least once, and once more at the deadline. It may itself
// fail the test at once, for an answer that no wait would change.
func True(t T, within time.Duration, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	wait := firstPoll
	for {
		ok, why := cond()
		if ok {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("not within %v: %s", within, why)
			return // for a T whose Fatalf returns
		}
		time.Sleep(min(wait, left))
		wait = min(2*wait, maxPoll)
	}
}
