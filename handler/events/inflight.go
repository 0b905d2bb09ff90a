package events

import (
	"context"
	"sync"
)

// inFlight counts the connections whose commands are being run, so that
// shutdown can wait for them. Not a sync.WaitGroup: a socket closed by the
// library during shutdown starts its disconnect command while Wait may
// already be waiting, and a WaitGroup's Add from zero must not race its Wait.
type inFlight struct {
	mu sync.Mutex
	n  int
	// idle is closed when n falls to zero; a new one is made when it rises
	// from zero.
	idle chan struct{}
}

func (f *inFlight) add() {
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
}

func (f *inFlight) done() {
	f.mu.Lock()
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
	f.mu.Unlock()
}

// wait blocks until nothing is in flight, or ctx is done.
func (f *inFlight) wait(ctx context.Context) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}
