package storetest

import (
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// What a failover loses is simulated by claims that disagree with the
// store: an instance that was told of state changes the store no longer
// has (see queue.Reconciler).

func (h *harness) reconcile(b queue.Beliefs, want queue.Repairs) {
	h.t.Helper()
	got, err := h.s.Reconcile(h.ctx, b)
	if err != nil {
		h.t.Fatalf("Reconcile: %v", err)
	}
	sameComing := len(got.Coming) == len(want.Coming)
	for id, n := range want.Coming {
		sameComing = sameComing && got.Coming[id] == n
	}
	if got.Restored != want.Restored || got.Requeued != want.Requeued || got.Ended != want.Ended ||
		got.Ghosts != want.Ghosts || got.Removed != want.Removed || !sameComing {
		h.t.Fatalf("Reconcile = %+v, want %+v", got, want)
	}
}

func claim(id, partner string) queue.Claim {
	return queue.Claim{ID: id, Profile: profileOf(id), Partner: partner}
}

func leftAbout(id, about string) queue.Event {
	return queue.Event{Kind: queue.EventPartnerLeft, User: id, Partner: about, Reason: queue.ReasonDisconnect}
}

// A join the store lost is written back and queued; a pairing it lost is
// announced as over to the user who was told of it, who waits again; a
// pairing it kept as claimed is left alone.
func testReconcileLost(t *testing.T, h *harness) {
	h.beat("i", time.Hour)
	h.joinVia("i", "a", "b")
	h.expect("pair", matchedPair("a", "b")...)
	h.joinVia("i", "c")
	h.reconcile(queue.Beliefs{
		Instance: "i",
		Claims:   []queue.Claim{claim("a", "b"), claim("b", "a"), claim("c", "lost"), claim("d", "")},
	}, queue.Repairs{Restored: 1, Requeued: 1, Ended: 1})
	h.expect("the lost pairing told, the lost join queued and paired",
		seq(leftAbout("c", "lost"), matchedPair("c", "d"))...)
	// d is the instance's again: a takeover of i takes it too.
	if err := h.s.Retire(h.ctx, "i"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	h.notJoined("d")
}

// A pairing the store kept, which its users were told was over (their
// Next was lost), ends: each told about that pairing only, both queued.
func testReconcileGhost(t *testing.T, h *harness) {
	h.beat("i", time.Hour)
	h.joinVia("i", "a", "b")
	h.expect("pair", matchedPair("a", "b")...)
	h.reconcile(queue.Beliefs{
		Instance: "i",
		Claims:   []queue.Claim{claim("a", ""), claim("b", "")},
	}, queue.Repairs{Requeued: 1, Ghosts: 1})
	h.expect("the ghost pairing ended", leftAbout("b", "a"), leftAbout("a", "b"))
	h.joinVia("i", "c")
	h.expect("both queued, b first", matchedPair("b", "c")...)
}

// A user whose own Next the store lost (none of its EventDone is still
// to come) is out of its call as its client sees it: the pairing the
// store kept ends as a ghost's.
func testReconcileLostNext(t *testing.T, h *harness) {
	h.beat("i", time.Hour)
	h.joinVia("i", "a", "b")
	h.expect("pair", matchedPair("a", "b")...)
	lostNext := claim("b", "a")
	lostNext.Pending = 1
	h.reconcile(queue.Beliefs{Instance: "i", Claims: []queue.Claim{claim("a", "b"), lostNext}},
		queue.Repairs{Requeued: 1, Ghosts: 1})
	h.expect("the pairing ended", leftAbout("a", "b"), leftAbout("b", "a"))
}

// A member of the instance that it neither claims nor keeps (its leave
// was lost) leaves the store; its partner elsewhere is told, requeued and
// paired again.
func testReconcileRemoves(t *testing.T, h *harness) {
	h.beat("i", time.Hour)
	h.beat("j", time.Hour)
	h.joinVia("i", "kept")
	h.joinVia("j", "x")
	h.joinVia("i", "a")
	h.expect("pair", matchedPair("kept", "x")...)
	h.reconcile(queue.Beliefs{Instance: "i", Keep: []string{"a"}}, queue.Repairs{Removed: 1})
	h.expect("the gone user's partner told, requeued and paired", seq(leftAbout("x", "kept"), matchedPair("a", "x"))...)
	h.notJoined("kept")
}
