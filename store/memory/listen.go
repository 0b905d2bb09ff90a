package memory

import (
	"context"
	"time"

	"github.com/zivro/zivro/queue"
)

// listener is one running Listen: an unbounded FIFO, so that a slow handler
// never blocks a state change, and a wake-up signal.
type listener struct {
	events []queue.Event
	wake   chan struct{} // capacity 1: "events may be waiting"
}

// Listen implements queue.Store: ready is called once the listener is
// registered, under the same lock as every state change.
func (s *Store) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	l := &listener{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	ready()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.wake:
		}
		s.mu.Lock()
		batch := l.events
		l.events = nil
		s.mu.Unlock()
		for _, e := range batch {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			handle(e)
		}
	}
}

// emit queues e for every listener; called with s.mu held, so listeners see
// events in the order of the state changes.
func (s *Store) emit(e queue.Event) {
	e.At = time.Now()
	for l := range s.listeners {
		l.events = append(l.events, e)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}
