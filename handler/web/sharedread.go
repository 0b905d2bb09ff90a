package web

import (
	"context"
	"sync"
	"time"
)

// sharedRead is a store read that a crowd of requests shares: at most one
// per interval, however many ask (/health, /stats). Requests that arrive
// while the read is under way wait for it instead of starting their own,
// and a failed read is kept for the interval too: a store that is down is
// not asked again by every request.
type sharedRead[T any] struct {
	read    func(context.Context) (T, error)
	every   time.Duration
	timeout time.Duration // bounds one read

	mu    sync.Mutex
	done  bool // a read has been made
	at    time.Time
	value T
	err   error
}

// get returns the last read's result, reading again when it is older than
// the interval.
func (r *sharedRead[T]) get(ctx context.Context) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done && time.Since(r.at) < r.every {
		return r.value, r.err
	}
	// The read is shared: a request that gives up must not cancel it for
	// those waiting behind.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	r.value, r.err = r.read(ctx)
	r.done, r.at = true, time.Now()
	return r.value, r.err
}
