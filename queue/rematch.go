package queue

import (
	"context"
	"slices"
	"sync"
	"time"
)

// rematchTimer remembers when matching must run again although nobody acts:
// a no-rematch window or an interest wait expires, a failed run is retried,
// an outage has ended. Deadlines are kept in order; one that comes less
// than coalesce after the first deadline of a run is served by that run,
// which is pushed back to it: that keeps the timer to a handful of entries
// however fast users press Next or join, and no deadline waits more than
// coalesce (a run pushed back by each new deadline would wait for ever
// while they keep coming). A deadline is never folded into a later one.
type rematchTimer struct {
	// windows are the store's; matching runs again when one lapses.
	windows Windows

	mu   sync.Mutex
	runs []rematchRun // ordered by at
	wake chan struct{}
}

// rematchRun is one matching run to come: at, for the deadlines from first
// to at.
type rematchRun struct {
	first, at time.Time
}

// coalesce is how late a rematch may run after its window expired.
const coalesce = 100 * time.Millisecond

func newRematchTimer(w Windows) *rematchTimer {
	return &rematchTimer{windows: w, wake: make(chan struct{}, 1)}
}

// windowSlack is how long after a no-rematch window the matching run that
// it calls for comes. Redis counts a key's expiry in whole milliseconds and
// expires it only once its clock is past that millisecond: a run in the
// very millisecond would find the pair still blocked, and with nobody
// acting, no other run would come.
const windowSlack = 20 * time.Millisecond

// afterWindow asks for a matching run once a no-rematch window that starts
// now has expired.
func (r *rematchTimer) afterWindow() {
	r.schedule(time.Now().Add(r.windows.RematchWindow + windowSlack))
}

// afterInterestWait asks for a matching run once a user with interests or
// a language who is queued now has waited the interest wait, so that it
// falls back to anyone open then.
func (r *rematchTimer) afterInterestWait(p Profile) {
	if p.HasPreferences() {
		r.schedule(time.Now().Add(r.windows.InterestWait + windowSlack))
	}
}

// schedule asks for a matching run at (or shortly after) at.
func (r *rematchTimer) schedule(at time.Time) {
	r.mu.Lock()
	// The first run at or after at.
	i, _ := slices.BinarySearchFunc(r.runs, at, func(run rematchRun, t time.Time) int { return run.at.Compare(t) })
	switch {
	case i < len(r.runs) && r.runs[i].at.Sub(at) < coalesce:
		// Served by a run that comes soon enough after it.
	case i > 0 && at.Sub(r.runs[i-1].first) < coalesce:
		// Close behind the run before it: push that run back to at. It
		// stays before runs[i], and none of its deadlines waits more than
		// coalesce.
		r.runs[i-1].at = at
	default:
		r.runs = slices.Insert(r.runs, i, rematchRun{first: at, at: at})
		if i == 0 {
			// A new earliest run: wait must hear of it.
			r.mu.Unlock()
			select {
			case r.wake <- struct{}{}:
			default:
			}
			return
		}
	}
	r.mu.Unlock()
}

// wait blocks until the earliest run is due and removes it.
func (r *rematchTimer) wait(ctx context.Context) error {
	for {
		r.mu.Lock()
		var next time.Time
		if len(r.runs) > 0 {
			next = r.runs[0].at
			if !time.Now().Before(next) {
				r.runs = slices.Delete(r.runs, 0, 1)
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
