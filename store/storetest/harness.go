// Package storetest is the conformance suite every queue.Store must pass: the
// matching rules, the errors and the order of the events, observed only
// through the queue.Store interface so that the memory and the Redis store
// are held to exactly the same behaviour.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// waitTimeout bounds every wait for an event. It is generous because the race
// detector and a busy machine make everything slow; a passing test does not
// wait for it.
const waitTimeout = 20 * time.Second

// NewStore builds a fresh, empty store for one test; it registers its own
// cleanup with t.
type NewStore func(t *testing.T, opts queue.StoreOptions) queue.Store

// harness runs one store with a Listen that records every event, and offers
// barriers: a state change whose only effect is one known event, so that a
// test knows when all events of the operations before it have arrived.
type harness struct {
	t   *testing.T
	s   queue.Store
	ctx context.Context

	mu     sync.Mutex
	events []queue.Event
	wake   chan struct{}

	cursor   int // events before it were returned by drain
	barriers int
	// resumed are the EventResumed that the Resumes since the last drain
	// must have made, in order (see resumedBy).
	resumed []queue.Event
}

func start(t *testing.T, newStore NewStore, opts queue.StoreOptions) *harness {
	t.Helper()
	h := &harness{t: t, s: newStore(t, opts), ctx: t.Context(), wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	readied := make(chan struct{}, 2)
	ready := func() { readied <- struct{}{} }
	go func() { stopped <- h.s.Listen(ctx, ready, h.record) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Listen returned %v after cancel, want context.Canceled", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Listen did not return within %v after its context was cancelled", waitTimeout)
		}
		if len(readied) > 0 {
			t.Errorf("Listen called ready more than once")
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		checkInvariants(t, h.events)
	})
	select {
	case <-readied:
	case err := <-stopped:
		t.Fatalf("Listen returned %v before calling ready", err)
	case <-time.After(waitTimeout):
		t.Fatalf("Listen did not call ready within %v", waitTimeout)
	}
	return h
}

func (h *harness) record(e queue.Event) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds for the events recorded so far; it fails
// the test at the deadline. cond runs with the recorder locked and must not
// keep evs.
func (h *harness) waitFor(what string, timeout time.Duration, cond func(evs []queue.Event) bool) {
	h.t.Helper()
	if !h.tryWaitFor(timeout, cond) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.t.Fatalf("timed out after %v waiting for %s; events since the last drain:\n%s", timeout, what, format(h.events[h.cursor:]))
	}
}

func (h *harness) tryWaitFor(timeout time.Duration, cond func([]queue.Event) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok := cond(h.events)
		h.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-h.wake:
		case <-deadline.C:
			return false
		}
	}
}

// barrier makes a state change whose only event is EventDone for a fresh
// user: a profile without queue place or call, then its leave.
func (h *harness) barrier() string {
	h.t.Helper()
	h.barriers++
	id := fmt.Sprintf("barrier-%d", h.barriers)
	if err := h.s.Refresh(h.ctx, map[string]queue.Profile{id: {Name: "barrier"}}); err != nil {
		h.t.Fatalf("barrier: Refresh: %v", err)
	}
	if err := h.s.Leave(h.ctx, id, queue.ReasonLeave); err != nil {
		h.t.Fatalf("barrier: Leave: %v", err)
	}
	return id
}

func indexDone(evs []queue.Event, from int, id string) int {
	for i := from; i < len(evs); i++ {
		if evs[i].Kind == queue.EventDone && evs[i].User == id {
			return i
		}
	}
	return -1
}

// drain returns the events that arrived since the last drain, once all
// events of the operations that returned before it have arrived.
func (h *harness) drain() []queue.Event {
	h.t.Helper()
	got, _ := h.drainAt()
	return got
}

// drainAt is drain that also says when, by the store's own clock (its
// events' At), the barrier was recorded: after every operation that
// returned before it. The time rules are the store's, so bounds measured
// on its clock hold however slowly the test runs.
func (h *harness) drainAt() ([]queue.Event, time.Time) {
	h.t.Helper()
	id := h.barrier()
	var got []queue.Event
	var at time.Time
	h.waitFor("barrier "+id, waitTimeout, func(evs []queue.Event) bool {
		i := indexDone(evs, h.cursor, id)
		if i < 0 {
			return false
		}
		got = slices.Clone(evs[h.cursor:i])
		at = evs[i].At
		h.cursor = i + 1
		return true
	})
	if at.IsZero() {
		h.t.Fatal("the store's events do not say when they were recorded (Event.At)")
	}
	return got, at
}

// expect drains and compares with want, ignoring room ids (checkInvariants
// checks those) and the EventResumed of the Resumes since the last drain,
// which must be the ones each Resume returned (resumedBy), in order.
func (h *harness) expect(step string, want ...queue.Event) []queue.Event {
	h.t.Helper()
	got := h.drain()
	var resumed []queue.Event
	got = slices.DeleteFunc(got, func(e queue.Event) bool {
		if e.Kind == queue.EventResumed {
			resumed = append(resumed, e)
			return true
		}
		return false
	})
	h.mu.Lock()
	wantResumed := h.resumed
	h.resumed = nil
	h.mu.Unlock()
	if !sameEvents(resumed, wantResumed) {
		h.t.Fatalf("%s: resumes in the stream:\n%swant, as Resume returned them:\n%s", step, format(resumed), format(wantResumed))
	}
	if !sameEvents(got, want) {
		h.t.Fatalf("%s: events:\n%swant:\n%s", step, format(got), format(want))
	}
	return got
}

// resumedBy records the EventResumed that a successful Resume of id, which
// returned r, must have put in the stream.
func (h *harness) resumedBy(id string, r queue.Resumed) {
	h.mu.Lock()
	h.resumed = append(h.resumed, queue.Event{Kind: queue.EventResumed, User: id, Partner: r.Partner, PartnerAddr: r.PartnerAddr, Reason: r.Left})
	h.mu.Unlock()
}

func sameEvents(got, want []queue.Event) bool {
	return slices.EqualFunc(got, want, func(g, w queue.Event) bool {
		return g.Kind == w.Kind && g.User == w.User && g.Partner == w.Partner &&
			g.PartnerName == w.PartnerName && g.PartnerAddr == w.PartnerAddr &&
			g.Initiator == w.Initiator && g.Reason == w.Reason && slices.Equal(g.Common, w.Common) &&
			g.PartnerRegion == w.PartnerRegion && g.TextOnly == w.TextOnly
	})
}

func (h *harness) join(ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		if err := h.s.Join(h.ctx, id, profileOf(id)); err != nil {
			h.t.Fatalf("Join(%s): %v", id, err)
		}
	}
}

func (h *harness) next(id string) {
	h.t.Helper()
	if err := h.s.Next(h.ctx, id); err != nil {
		h.t.Fatalf("Next(%s): %v", id, err)
	}
}

func (h *harness) leave(id string, r queue.Reason) {
	h.t.Helper()
	if err := h.s.Leave(h.ctx, id, r); err != nil {
		h.t.Fatalf("Leave(%s, %s): %v", id, r, err)
	}
}

func (h *harness) match() {
	h.t.Helper()
	if err := h.s.Match(h.ctx); err != nil {
		h.t.Fatalf("Match: %v", err)
	}
}

func (h *harness) sweep() {
	h.t.Helper()
	if err := h.s.Sweep(h.ctx); err != nil {
		h.t.Fatalf("Sweep: %v", err)
	}
}

func (h *harness) refresh(ps map[string]queue.Profile) {
	h.t.Helper()
	if err := h.s.Refresh(h.ctx, ps); err != nil {
		h.t.Fatalf("Refresh: %v", err)
	}
}

// notJoined asserts that Next and Leave refuse id with ErrNotJoined; the
// state is unchanged, so there is no event to drain.
func (h *harness) notJoined(id string) {
	h.t.Helper()
	if err := h.s.Next(h.ctx, id); !errors.Is(err, queue.ErrNotJoined) {
		h.t.Fatalf("Next(%s) = %v, want ErrNotJoined", id, err)
	}
	for _, r := range []queue.Reason{queue.ReasonLeave, queue.ReasonDisconnect} {
		if err := h.s.Leave(h.ctx, id, r); !errors.Is(err, queue.ErrNotJoined) {
			h.t.Fatalf("Leave(%s, %s) = %v, want ErrNotJoined", id, r, err)
		}
	}
}

// waitUntilExpired waits until a TTL that started before since has run out.
// Expiry is a pure function of the clock in both stores (Redis checks a key's
// deadline when the key is read), so this is a deterministic wait, not a
// guess at how long something asynchronous takes.
func waitUntilExpired(since time.Time, ttl time.Duration) {
	time.Sleep(time.Until(since.Add(ttl + 10*time.Millisecond)))
}
