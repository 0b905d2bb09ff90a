package queue

import (
	"context"
	"sync"
	"time"
)

// rematchTimer remembers when no-rematch windows expire, so that matching runs
// again then. Windows all have the same length, so deadlines arrive in order;
// deadlines closer than coalesce to the last one share its run, which keeps
// the timer to a handful of entries however fast users press Next.
type rematchTimer struct {
	mu        sync.Mutex
	deadlines []time.Time
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
	n := len(r.deadlines)
	if n > 0 && at.Sub(r.deadlines[n-1]) < coalesce {
		if at.After(r.deadlines[n-1]) {
			r.deadlines[n-1] = at
		}
		r.mu.Unlock()
		return
	}
	r.deadlines = append(r.deadlines, at)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
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
