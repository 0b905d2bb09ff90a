package queue

import (
	"context"
	"testing"
	"time"
)

// waitDue waits for the timer's earliest run, and fails when none is due
// within a bound far beyond any deadline the tests set before "far".
func waitDue(t *testing.T, r *rematchTimer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.wait(ctx); err != nil {
		t.Fatalf("no run came: %v", err)
	}
}

func TestRematchTimerRunsAnEarlierDeadlineFirst(t *testing.T) {
	now := time.Now()
	far := now.Add(time.Hour)
	tests := []struct {
		name  string
		early time.Time
	}{
		// Recovery after an outage asks for a run at once, while windows
		// that began before it expire later.
		{"match now", now},
		// A failed run is retried a second later, while windows end later.
		{"retry", now.Add(50 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRematchTimer(Windows{})
			r.schedule(far)
			r.schedule(tt.early)
			waitDue(t, r)
		})
	}
}

func TestRematchTimerCoalescesCloseDeadlines(t *testing.T) {
	r := newRematchTimer(Windows{})
	start := time.Now().Add(time.Hour)
	// A deadline every millisecond for 250 ms, as a Next storm makes them.
	for i := range 250 {
		r.schedule(start.Add(time.Duration(i) * time.Millisecond))
	}
	if len(r.runs) > 3 {
		t.Fatalf("%d runs for 250 ms of deadlines: want at most 3", len(r.runs))
	}
	for _, run := range r.runs {
		if run.at.Sub(run.first) >= coalesce {
			t.Fatalf("run %v serves a deadline %v late", run, run.at.Sub(run.first))
		}
	}
	// A deadline already served by a run soon after it adds nothing.
	n := len(r.runs)
	r.schedule(r.runs[0].at.Add(-time.Millisecond))
	if len(r.runs) != n {
		t.Fatalf("runs %d, want %d", len(r.runs), n)
	}
}

func TestRematchTimerKeepsNoDeadlineWaiting(t *testing.T) {
	// A deadline every 50 ms, for longer than coalesce: each is close to
	// the one before, and a run pushed back to each in turn would never
	// come while they keep arriving.
	r := newRematchTimer(Windows{})
	start := time.Now().Add(time.Hour)
	for i := range 40 {
		r.schedule(start.Add(time.Duration(i) * 50 * time.Millisecond))
	}
	if first := r.runs[0]; !first.first.Equal(start) || first.at.Sub(start) >= coalesce {
		t.Fatalf("first run %v: the deadline at %v waits %v", first, start, first.at.Sub(start))
	}
}
