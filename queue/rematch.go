package queue

import (
	"context"
	"slices"
	"sync"
	"time"
)

// rematchTimer remembers when matching must run again although nobody acts
// (a no-rematch window or an interest wait expires). Deadlines closer than
// coalesce to an earlier one share its run, which keeps the timer to a
// handful of entries however fast users press Next or join.
type rematchTimer struct {
	mu        sync.Mutex
	deadlines []time.Time // sorted
	wake      chan struct{}
}

// coalesce is how late a rematch may run after its window expired.
const coalesce = 100 * time.Millisecond

func newRematchTimer() *rematchTimer {
	return &rematchTimer{wake: make(chan struct{}, 1)}
}

// schedule asks for a matching run at (or shortly after) at.
func (r *rematchTimer) schedule(at time.Time) {
	r.mu.Lock()
	i, _ := slices.BinarySearchFunc(r.deadlines, at, time.Time.Compare)
	if i > 0 && at.Sub(r.deadlines[i-1]) < coalesce {
		// Moved to at, it still comes before deadlines[i].
		r.deadlines[i-1] = at
		r.mu.Unlock()
		return
	}
	r.deadlines = slices.Insert(r.deadlines, i, at)
	r.mu.Unlock()
	if i == 0 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// wait blocks until the earliest deadline has passed and removes it.
func (r *rematchTimer) wait(ctx context.Context) error {
	for {
		r.mu.Lock()
		var next time.Time
		if len(r.deadlines) > 0 {
			next = r.deadlines[0]
			if !time.Now().Before(next) {
				r.deadlines = r.deadlines[1:]
				r.mu.Unlock()
				return nil
			}
		}
		r.mu.Unlock()

		var fire <-chan time.Time
		var timer *time.Timer
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
