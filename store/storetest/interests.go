package storetest

import (
	"testing"
	"time"

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

// A user with a lone tag falls back to anyone open once the interest wait
// is over (matching runs then: the service asks for it).
func testInterestFallback(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	began := time.Now()
	h.joinWith("a", "rare")
	joined := time.Now()
	h.join("x")
	got := h.drain()
	if time.Since(began) < wait {
		if !sameEvents(got, nil) {
			t.Fatalf("inside the interest wait: events:\n%s", format(got))
		}
	} else {
		t.Logf("machine too slow to observe the interest wait (%v)", time.Since(began))
	}
	waitUntilExpired(joined, wait)
	h.match()
	all := append(got, h.drain()...)
	if want := matchedPair("a", "x"); !sameEvents(all, want) {
		t.Fatalf("after the interest wait: events:\n%swant:\n%s", format(all), format(want))
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
	h.joinWith("a", "music")
	h.joinWith("b", "music")
	h.expect("pair", matchedOn("a", "b", "music")...)
	waitUntilExpired(time.Now(), wait)
	began := time.Now()
	h.next("a") // a and b are kept apart for the rematch window
	h.join("x")
	got := h.drain()
	if time.Since(began) < wait {
		if !sameEvents(got, seq(done("a"), left("b", queue.ReasonNext))) {
			t.Fatalf("inside the new interest wait: events:\n%s", format(got))
		}
	} else {
		t.Logf("machine too slow to observe the interest wait (%v)", time.Since(began))
	}
}
