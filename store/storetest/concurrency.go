package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/zivro/zivro/queue"
)

// together runs fns at the same moment and waits for them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for _, fn := range fns {
		wg.Go(func() {
			<-gate
			fn()
		})
	}
	close(gate)
	wg.Wait()
}

func testConcurrentJoins(t *testing.T, h *harness) {
	const users = 200
	errs := make(chan error, users)
	fns := make([]func(), users)
	for i := range fns {
		id := fmt.Sprintf("u%03d", i)
		fns[i] = func() {
			if err := h.s.Join(h.ctx, id, profileOf(id)); err != nil {
				errs <- fmt.Errorf("Join(%s): %w", id, err)
			}
		}
	}
	together(fns...)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs := h.drain()
	if len(evs) != users {
		t.Fatalf("%d events for %d users, want one matched each:\n%s", len(evs), users, format(evs))
	}
	partner := map[string]string{}
	initiators := 0
	for _, e := range evs {
		if e.Kind != queue.EventMatched {
			t.Fatalf("unexpected event:\n%s", format([]queue.Event{e}))
		}
		if _, dup := partner[e.User]; dup {
			t.Fatalf("%s matched twice", e.User)
		}
		partner[e.User] = e.Partner
		if e.Initiator {
			initiators++
		}
	}
	for u, p := range partner {
		if partner[p] != u {
			t.Fatalf("%s is paired with %s, who is paired with %s", u, p, partner[p])
		}
	}
	if initiators != users/2 {
		t.Fatalf("%d initiators for %d pairs", initiators, users/2)
	}
}

func testConcurrentNext(t *testing.T, h *harness) {
	for i := range 50 {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		h.join(a, b)
		var errA, errB error
		together(func() { errA = h.s.Next(h.ctx, a) }, func() { errB = h.s.Next(h.ctx, b) })
		if errA != nil || errB != nil {
			t.Fatalf("round %d: Next: %v, %v", i, errA, errB)
		}
		// Whoever came first ended the call; the other was already queued.
		got := h.drain()
		aFirst := seq(matchedPair(a, b), done(a), left(b, queue.ReasonNext), done(b))
		bFirst := seq(matchedPair(a, b), done(b), left(a, queue.ReasonNext), done(a))
		if !sameEvents(got, aFirst) && !sameEvents(got, bFirst) {
			t.Fatalf("round %d: events:\n%s", i, format(got))
		}
		h.leave(a, queue.ReasonLeave)
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", done(a), done(b))
	}
}

func testLeaveRacesJoin(t *testing.T, h *harness) {
	for i := range 50 {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		h.join(a)
		var errJoin, errLeave error
		together(
			func() { errJoin = h.s.Join(h.ctx, b, profileOf(b)) },
			func() { errLeave = h.s.Leave(h.ctx, a, queue.ReasonDisconnect) },
		)
		if errJoin != nil || errLeave != nil {
			t.Fatalf("round %d: Join: %v, Leave: %v", i, errJoin, errLeave)
		}
		got := h.drain()
		leftFirst := seq(done(a))
		matchedFirst := seq(matchedPair(a, b), done(a), left(b, queue.ReasonDisconnect))
		if !sameEvents(got, leftFirst) && !sameEvents(got, matchedFirst) {
			t.Fatalf("round %d: events:\n%s", i, format(got))
		}
		// Either way b waits alone now.
		h.notJoined(a)
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", done(b))
	}
}
