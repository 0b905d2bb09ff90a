package storetest

import (
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

func testGhost(t *testing.T, h *harness) {
	ttl := 300 * time.Millisecond
	// Removed by Sweep.
	h.join("g1")
	waitUntilExpired(time.Now(), ttl)
	h.sweep()
	h.notJoined("g1")
	// Removed by matching, never matched.
	h.join("g2")
	waitUntilExpired(time.Now(), ttl)
	h.join("a", "b")
	h.notJoined("g2")
	h.expect("ghosts", matchedPair("a", "b")...)
}

func testSweepDissolvesRoom(t *testing.T, h *harness) {
	h.join("a", "b")
	h.expect("pair", matchedPair("a", "b")...)
	// b's server keeps refreshing it; a's died.
	keepB := func() { h.refresh(map[string]queue.Profile{"b": profileOf("b")}) }
	var evs []queue.Event
	deadline := time.Now().Add(waitTimeout)
	for len(evs) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Sweep did not dissolve the room of an expired user within %v", waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
		keepB()
		h.sweep()
		evs = h.drain()
	}
	if !sameEvents(evs, seq(left("b", queue.ReasonDisconnect))) {
		t.Fatalf("sweep: events:\n%s", format(evs))
	}
	h.notJoined("a")
	keepB()
	h.join("c")
	h.expect("partner requeued", matchedPair("b", "c")...)
}

// Four rooms lose one user each at the same moment: one Sweep dissolves them
// all, and the four survivors are paired among themselves, two pairings in one
// step with distinct rooms.
func testSweepSeveralRooms(t *testing.T, h *harness) {
	survivors := []string{"a", "b", "c", "d"}
	h.join("a", "w", "b", "x", "c", "y", "d", "z")
	waitUntilExpired(time.Now(), 300*time.Millisecond)
	restore := map[string]queue.Profile{}
	for _, id := range survivors {
		restore[id] = profileOf(id)
	}
	h.refresh(restore)
	h.sweep()
	evs := h.drain()[8:] // after the four pairings
	if len(evs) != 8 {
		t.Fatalf("sweep: events:\n%s", format(evs))
	}
	lefts, matched := map[string]bool{}, map[string]bool{}
	for _, e := range evs[:4] {
		if e.Kind != queue.EventPartnerLeft || e.Reason != queue.ReasonDisconnect {
			t.Fatalf("sweep: want four partner-left first; events:\n%s", format(evs))
		}
		lefts[e.User] = true
	}
	for _, e := range evs[4:] {
		if e.Kind != queue.EventMatched {
			t.Fatalf("sweep: want two pairings after; events:\n%s", format(evs))
		}
		matched[e.User] = true
	}
	for _, id := range survivors {
		if !lefts[id] || !matched[id] {
			t.Fatalf("sweep: %s not told and paired again; events:\n%s", id, format(evs))
		}
	}
}

func testRefreshKeeps(t *testing.T, h *harness) {
	ttl := 300 * time.Millisecond
	h.join("a")
	for until := time.Now().Add(3 * ttl); time.Now().Before(until); {
		h.refresh(map[string]queue.Profile{"a": profileOf("a")})
		time.Sleep(ttl / 6)
	}
	h.refresh(map[string]queue.Profile{"a": profileOf("a")})
	h.join("b")
	h.expect("refreshed user", matchedPair("a", "b")...)
}

func testRefreshRestores(t *testing.T, h *harness) {
	h.join("a")
	h.leave("a", queue.ReasonLeave)
	h.notJoined("a")
	// As after a Redis restart: the profile comes back, the queue place
	// does not, and a next puts the user back in line.
	h.refresh(map[string]queue.Profile{"a": {Name: "restored"}, "x": profileOf("x")})
	h.next("a")
	h.join("b")
	h.expect("restored user", done("a"), done("a"),
		queue.Event{Kind: queue.EventMatched, User: "b", Partner: "a", PartnerName: "restored"},
		queue.Event{Kind: queue.EventMatched, User: "a", Partner: "b", PartnerName: nameOf("b"), PartnerAddr: addrOf("b"), PartnerRegion: regionOf("b"), Initiator: true},
	)
	h.leave("x", queue.ReasonLeave) // x had a profile only: it counts as joined
	h.expect("profile only", done("x"))
}
