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
	if got != want {
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
		Instance:  "i",
		Claims:    []queue.Claim{claim("a", "b"), claim("b", "a"), claim("c", "lost"), claim("d", "")},
		Connected: []string{"a", "b", "c", "d"},
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
		Instance:  "i",
		Claims:    []queue.Claim{claim("a", ""), claim("b", "")},
		Connected: []string{"a", "b"},
	}, queue.Repairs{Requeued: 1, Ghosts: 1})
	h.expect("the ghost pairing ended", leftAbout("b", "a"), leftAbout("a", "b"))
	h.joinVia("i", "c")
	h.expect("both queued, b first", matchedPair("b", "c")...)
}

// A member of the instance that is not connected to it (its leave was
// lost) leaves the store; its partner elsewhere is told and requeued.
func testReconcileRemoves(t *testing.T, h *harness) {
	h.beat("i", time.Hour)
	h.beat("j", time.Hour)
	h.joinVia("i", "a")
	h.joinVia("j", "x")
	h.expect("pair", matchedPair("a", "x")...)
	h.reconcile(queue.Beliefs{Instance: "i", Connected: []string{}}, queue.Repairs{Removed: 1})
	h.expect("the gone user's partner told", leftAbout("x", "a"))
	h.notJoined("a")
	h.joinVia("j", "y")
	h.expect("the partner was requeued", matchedPair("x", "y")...)
}
