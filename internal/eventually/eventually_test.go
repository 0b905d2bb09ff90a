package eventually

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a T whose Fatalf records the message and returns.
type recorder struct {
	failed string
}

func (*recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestTrue(t *testing.T) {
	tests := []struct {
		name     string
		within   time.Duration
		okAfter  int // calls before cond holds; -1 never
		wantFail string
		minCalls int
		minTook  time.Duration
	}{
		{name: "holds at once", within: time.Second, okAfter: 0, minCalls: 1},
		{name: "holds after a few polls", within: 5 * time.Second, okAfter: 5, minCalls: 6},
		{name: "never holds: fails with the last why after the deadline", within: 50 * time.Millisecond, okAfter: -1,
			wantFail: "not within 50ms: still 0 at call", minCalls: 2, minTook: 50 * time.Millisecond},
		{name: "a deadline already passed still calls once", within: 0, okAfter: -1,
			wantFail: "not within 0s: still 0 at call 1", minCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			calls := 0
			start := time.Now()
			True(&r, tt.within, func() (bool, string) {
				calls++
				if tt.okAfter >= 0 && calls > tt.okAfter {
					return true, ""
				}
				return false, fmt.Sprintf("still 0 at call %d", calls)
			})
			took := time.Since(start)
			if tt.wantFail == "" && r.failed != "" {
				t.Fatalf("failed: %s", r.failed)
			}
			if !strings.HasPrefix(r.failed, tt.wantFail) {
				t.Fatalf("failure %q, want it to start with %q", r.failed, tt.wantFail)
			}
			if tt.wantFail != "" && !strings.HasSuffix(r.failed, fmt.Sprintf("call %d", calls)) {
				t.Fatalf("failure %q does not give the last why (call %d)", r.failed, calls)
			}
			if calls < tt.minCalls {
				t.Fatalf("%d calls, want at least %d", calls, tt.minCalls)
			}
			if took < tt.minTook {
				t.Fatalf("gave up after %v, before the deadline %v", took, tt.minTook)
			}
		})
	}
}

// The polls back off: a condition that never holds within a second is
// asked a few dozen times, not thousands.
func TestTrueBacksOff(t *testing.T) {
	var r recorder
	calls := 0
	True(&r, time.Second, func() (bool, string) { calls++; return false, "no" })
	if r.failed == "" {
		t.Fatal("a condition that never held passed")
	}
	if calls > 30 {
		t.Fatalf("%d calls in a second: want a backoff", calls)
	}
}
