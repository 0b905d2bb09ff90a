package queue

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Failover: a store that replicates asynchronously (Redis with Sentinel,
// or a cluster whose primary is replaced by its replica) may come back
// from a failover without the last state changes the dead primary made:
// joins, pairings, Nexts whose events some instances may already have
// announced. Each instance notices (a Beat that reports Switched, or a
// stream that lost the events it had read: EventGap) and reconciles: it
// tells the store what it believes of its users, and the store repairs
// what it lost, in one atomic step whose announcements come through the
// stream in order, after every event the instance has handled.

// Claim is what an instance believes of one of its joined users.
type Claim struct {
	ID      string
	Profile Profile
	// Partner is the partner the user was last told of, "" when it
	// waits in the queue.
	Partner string
	// Pending counts the user's own Nexts and blocks whose EventDone the
	// instance has not handled: when fewer are still to come (after
	// After), the store lost one, and the user's call ended as its
	// client sees it (Partner counts as "").
	Pending int
}

// Beliefs is what an instance tells Reconcile.
type Beliefs struct {
	Instance string
	// Claims are its joined users (not held, not being resumed).
	Claims []Claim
	// Keep are users connected to it that the store must leave as they
	// are (sessions being held or resumed): a member of the instance
	// that is neither claimed nor kept is gone (its leave was lost, or it
	// never knew that its join went through).
	Keep []string
	// After is the ID of the last event the instance handled ("": it
	// handled every event): a pairing announced after it may not have
	// reached the instance's beliefs yet, and is left alone.
	After string
}

// Repairs counts what one Reconcile changed.
type Repairs struct {
	// Restored: profiles written back (a join the store lost).
	Restored int
	// Requeued: users in neither the queue nor a call, queued again.
	Requeued int
	// Ended: users told that the pairing they were told of is gone.
	Ended int
	// Ghosts: pairings the store kept that the user had been told were
	// over, ended (both sides told, if they still believed in it).
	Ghosts int
	// Removed: the instance's members it does not claim (their leave was
	// lost), taken out of the store.
	Removed int
	// Coming is, for each user, how many of its EventDone are in the
	// store's stream after After, still to be handled (none: left out).
	Coming map[string]int
}

// Any reports whether anything was repaired.
func (r Repairs) Any() bool {
	return r.Restored+r.Requeued+r.Ended+r.Ghosts+r.Removed > 0
}

// Reconciler is the part of a Store that repairs it after a failover.
type Reconciler interface {
	// Reconcile checks b against the store and repairs the store, in one
	// atomic step. A claim's partner counts as "" when fewer of its
	// EventDone than its Pending are still to come. For each claim whose
	// user is not held: a missing
	// profile is written back (its instance b.Instance) and the user is
	// one of b.Instance's members; a pairing the store keeps with
	// someone other than the claimed partner, announced at or before
	// b.After, is ended (the user was told of it, then of what the store
	// lost): both get EventPartnerLeft (ReasonDisconnect, Partner set to
	// the other) and are requeued; then, when the user is in no pairing,
	// a claimed partner gets it EventPartnerLeft (ReasonDisconnect,
	// Partner set to the claimed one), and the user is queued if it is
	// not. A member of b.Instance that is neither claimed nor kept nor
	// held leaves the store as at a takeover (its partner told, with
	// Partner set, and requeued). Then matching runs. ErrStoreFull.
	Reconcile(ctx context.Context, b Beliefs) (Repairs, error)
}

// reconciler runs an instance's reconciliations, one at a time. Each holds
// this instance's joins and own requests (a user who joined between the
// snapshot of the beliefs and the store's step would be taken for one
// whose leave was lost), and the handling of the store's events (the
// beliefs are then exactly those of the position After, and what Coming
// counts is still to come when it is applied).
type reconciler struct {
	// gate: state changes of this instance's users hold it shared, a
	// reconciliation exclusively.
	gate sync.RWMutex
	// handling is held while an event is handled, and by a
	// reconciliation; handled is the ID of the last event handled.
	handling sync.Mutex
	handled  string
}

// reconcileTimeout bounds one Reconcile, during which this instance's
// announcements wait; it is tried again at the next heartbeat when it
// fails.
const reconcileTimeout = 5 * time.Second

// reconcile checks what this instance believes of its users against the
// store after a failover (see Reconciler), and reports whether it did.
func (in *instance) reconcile(ctx context.Context, why string) error {
	in.rec.gate.Lock()
	defer in.rec.gate.Unlock()
	in.rec.handling.Lock()
	defer in.rec.handling.Unlock()
	b := Beliefs{Instance: in.name, After: in.rec.handled}
	in.users.mu.RLock()
	for id, sess := range in.users.byID {
		switch {
		case sess.holding || sess.resuming:
			b.Keep = append(b.Keep, id)
		case sess.profile != nil:
			p := *sess.profile
			p.Instance = in.name
			b.Claims = append(b.Claims, Claim{ID: id, Profile: p, Partner: sess.partner, Pending: sess.pending})
		}
	}
	in.users.mu.RUnlock()
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
	defer cancel()
	r, err := in.store.Reconcile(ctx, b)
	if err != nil {
		return fmt.Errorf("reconcile after %s: %w", why, err)
	}
	// Own requests whose EventDone the store lost would silence their
	// users for ever (a joined user's Next, or a leave): only those still
	// to come count, and a lost one ends the call as its EventDone would
	// have.
	in.users.mu.Lock()
	for id, sess := range in.users.byID {
		if sess.pending == 0 || sess.holding || sess.resuming {
			continue
		}
		if coming := r.Coming[id]; coming < sess.pending {
			sess.endCall()
			sess.pending = coming
		}
	}
	in.users.mu.Unlock()
	in.log.Warn("reconciled with the store", "after", why, "users", len(b.Claims),
		"restored", r.Restored, "requeued", r.Requeued, "calls_ended", r.Ended, "ghost_calls", r.Ghosts, "removed", r.Removed)
	if r.Any() {
		// The pairings ended keep their users apart for the window.
		in.rematch.afterWindow()
		in.rematch.schedule(time.Now())
	}
	return nil
}
