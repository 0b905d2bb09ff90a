package bench

import (
	"context"
	"time"
)

// Names of the churn checks.
const (
	ckPayload  = "matched payload (partner, name, one initiator)"
	ckRoomID   = "roomId unique per pairing"
	ckTwoRooms = "never matched while paired (two partners at once)"
	ckOrder    = "partner-left only for a told, open pairing"
	ckOnePL    = "at most one partner-left per pairing"
	ckReason   = "partner-left reason next"
	ckStuck    = "nobody stuck in a call its partner left"
	ckHalf     = "both members told of a pairing"
	ckWaiting  = "nobody left waiting with an eligible stranger"
	ckAnswered = "every next answered"
)

// checkAnswered waits, briefly, for the ack of every next. A next the
// server dropped unanswered (its per-connection event limit, which the
// bench lifts) leaves its client waiting for a partner-left, so that the
// run would measure the limit instead of the server.
func (cr *churnRun) checkAnswered(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for cr.nextsAcked.Load() < cr.nextsSent.Load() {
		select {
		case <-ctx.Done():
			cr.ck.Failf(ckAnswered, "%d of %d nexts never answered", cr.nextsSent.Load()-cr.nextsAcked.Load(), cr.nextsSent.Load())
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// finalChecks runs once everything is quiet and nobody presses next.
func (cr *churnRun) finalChecks() {
	for _, cc := range cr.cl {
		cc.mu.Lock()
	}
	defer func() {
		for _, cc := range cr.cl {
			cc.mu.Unlock()
		}
	}()
	cr.mu.Lock()
	defer cr.mu.Unlock()
	half := map[int]bool{}
	for id, r := range cr.rooms {
		for s := range 2 {
			if !r.told[s] {
				half[r.members[s]] = true
				// A correct server may drop a matched that the member's own
				// next made stale; then that member must have pressed next.
				if cr.cl[r.members[s]].nexts == 0 {
					cr.ck.Failf(ckHalf, "room %s: client %d never told, and it never pressed next", id, r.members[s])
				}
			}
		}
	}
	for _, cc := range cr.cl {
		if cc.uiRoom == "" {
			continue
		}
		// The UI shows a call: the partner must show the same call, unless
		// a pending next of ours ended it.
		p := cr.cl[cc.evPartner]
		if p.uiRoom == cc.uiRoom || cc.pendingStale > 0 {
			continue
		}
		cr.ck.Failf(ckStuck, "client %d shows call %s, but partner %d shows %q (its last room %s, open %v)", cc.i, cc.uiRoom, p.i, p.uiRoom, p.evRoom, p.evOpen)
	}
	// Users in the queue with an eligible stranger must have been paired:
	// the only excuse is the no-rematch rule (the last partner).
	// The queue view means: got partner-left, or pressed next after its
	// last matched (all quiet now, so that next has been processed).
	var waiting []*churnClient
	for _, cc := range cr.cl {
		if cc.uiRoom == "" && !half[cc.i] {
			waiting = append(waiting, cc)
		}
	}
	for a := range waiting {
		for b := a + 1; b < len(waiting); b++ {
			x, y := waiting[a], waiting[b]
			if x.evPartner == y.i || y.evPartner == x.i {
				continue
			}
			cr.ck.Failf(ckWaiting, "clients %d and %d both wait, and were not each other's last partner", x.i, y.i)
		}
	}
}
