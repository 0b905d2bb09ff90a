package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/queue"
)

// longWait is an interest wait no test outlasts: users with interests pair
// only on a shared one.
const longWait = time.Minute

func (h *harness) joinWith(id string, interests ...string) {
	h.t.Helper()
	if err := h.s.Join(h.ctx, id, profileOf(id, interests...)); err != nil {
		h.t.Fatalf("Join(%s, %q): %v", id, interests, err)
	}
}

// A {music} and B {chess} wait; C {music} and D {chess} join: A meets C and
// B meets D, each pair told what it shares.
func testInterestsShared(t *testing.T, h *harness) {
	h.joinWith("a", "music")
	h.joinWith("b", "chess")
	h.expect("two users without a shared interest wait")
	h.joinWith("c", "music")
	h.expect("c joins", matchedOn("a", "c", "music")...)
	h.joinWith("d", "chess", "music")
	h.expect("d joins", matchedOn("b", "d", "chess")...)
}

// The common interests come in the initiator's order, the same for both.
func testInterestsCommonOrder(t *testing.T, h *harness) {
	h.joinWith("a", "chess", "go", "music")
	h.joinWith("b", "music", "films", "chess")
	h.expect("two shared interests", matchedOn("a", "b", "chess", "music")...)
}

// Users without interests pair FIFO at once, past users who wait for a
// shared interest.
func testNoInterestsFIFO(t *testing.T, h *harness) {
	h.joinWith("a", "music")
	h.join("x")
	h.expect("a waits for music, x for anyone open")
	h.join("y")
	h.expect("y joins", matchedPair("x", "y")...)
	h.join("z")
	h.joinWith("b", "music")
	h.expect("z waits, b shares with a", matchedOn("a", "b", "music")...)
}

// attempts is how many times a time-window test starts again with fresh
// users when the machine was too slow for its check inside the window: a
// window a test step outlasts shows nothing.
const attempts = 5

// A user with a lone tag falls back to anyone open once the interest wait
// is over (matching runs then: the service asks for it), and not before:
// both measured on the store's clock, from before its join.
func testInterestFallback(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	for attempt := 1; ; attempt++ {
		a, x := fmt.Sprint("a", attempt), fmt.Sprint("x", attempt)
		_, before := h.drainAt() // by the store's clock, before a's join
		h.joinWith(a, "rare")
		h.join(x)
		got, after := h.drainAt() // after x's join
		if after.Sub(before) >= wait {
			// x came after a's wait: pairing them at once is right and
			// shows nothing. Again, with two others.
			if attempt == attempts {
				t.Fatalf("%d attempts, each slower than the interest wait (%v)", attempts, after.Sub(before))
			}
			h.leave(a, queue.ReasonLeave)
			h.leave(x, queue.ReasonLeave)
			h.drain()
			continue
		}
		if !sameEvents(got, nil) {
			t.Fatalf("inside the interest wait (%v of %v by the store's clock): events:\n%s", after.Sub(before), wait, format(got))
		}
		// Matching runs again and again until they pair: a wait cut short
		// shows in the pairing's time.
		var later []queue.Event
		eventually.True(t, waitTimeout, func() (bool, string) {
			h.match()
			later = append(later, h.drain()...)
			return len(later) > 0, "not paired after the interest wait"
		})
		if want := matchedPair(a, x); !sameEvents(later, want) {
			t.Fatalf("after the interest wait: events:\n%swant:\n%s", format(later), format(want))
		}
		if paired := later[0].At.Sub(before); paired < wait {
			t.Fatalf("paired %v after the join by the store's clock: inside the interest wait %v", paired, wait)
		}
		return
	}
}

// Once a user is open, a later user sharing its interest still comes before
// an earlier open user: shared interests first.
func testSharedBeforeOpen(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	h.joinWith("a", "music")
	h.joinWith("b", "chess")
	waitUntilExpired(time.Now(), wait)
	// Both are open now, but nothing ran matching since: c's join does.
	h.joinWith("c", "music")
	h.expect("c joins", matchedOn("a", "c", "music")...)
}

// A requeued user's interest wait starts again: after a Next, a user with
// interests waits for a shared one first.
func testInterestWaitRestarts(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	for attempt := 1; ; attempt++ {
		a, b, x := fmt.Sprint("a", attempt), fmt.Sprint("b", attempt), fmt.Sprint("x", attempt)
		h.joinWith(a, "music")
		h.joinWith(b, "music")
		h.expect("pair", matchedOn(a, b, "music")...)
		waitUntilExpired(time.Now(), wait)
		h.next(a) // a and b are kept apart for the rematch window
		h.join(x)
		got, after := h.drainAt() // by the store's clock, after x's join
		if len(got) > 0 && got[0].Kind == queue.EventDone && after.Sub(got[0].At) >= wait {
			// x came after the new wait, which Next started (done's At):
			// pairing at once is right and shows nothing. Again.
			if attempt == attempts {
				t.Fatalf("%d attempts, each slower than the interest wait (%v)", attempts, after.Sub(got[0].At))
			}
			for _, id := range []string{a, b, x} {
				h.leave(id, queue.ReasonLeave)
			}
			h.drain()
			continue
		}
		if !sameEvents(got, seq(done(a), left(b, queue.ReasonNext))) {
			t.Fatalf("inside the new interest wait: events:\n%s", format(got))
		}
		return
	}
}
