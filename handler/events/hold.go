package events

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/zivro/zivro/handler/socketio"
)

// maxHeld bounds the relays one connection may have held at the start of
// a pairing: an offer and its ICE candidates are a dozen.
const maxHeld = 64

// errTooManyHeld is the ack's error for a relay over maxHeld.
const errTooManyHeld = "too many messages before the call has started"

// pairing names one pairing of a user: its partner, and when matched was
// sent (the same two users may meet again later).
type pairing struct {
	partner   string
	matchedAt time.Time
}

// relayHold holds one connection's relays (signals, chat messages) that
// come less than delay after its pairing's matched was sent, and sends
// them, in order, once the delay is over.
//
// Why: the original client listens for signals (and chat) only once its
// call view has mounted after matched, and drops what comes earlier; the
// call then never connects. The responder is told of a pairing before the
// initiator (see docs/ordering.md), so holding the initiator's first
// relays for a moment after its own matched gives the other side that
// moment. Relays sent later go at once, as before.
type relayHold struct {
	delay time.Duration
	// send writes a frame to a socket (Sender.Send).
	send func(to string, f socketio.Frame)
	// current is the connection's pairing now: held relays go out only
	// if the pairing they were sent in still stands.
	current func() (pairing, bool)

	mu sync.Mutex
	// held are the relays waiting for the start of a pairing, all to
	// heldFor's pairing, in the order they came.
	held    []socketio.Frame
	heldFor pairing
	timer   *time.Timer
	// releasing is set while release sends a batch without the lock; a
	// relay that comes meanwhile waits on released for it to end.
	releasing bool
	released  *sync.Cond // on mu
	stopped   bool       // the connection is closed: nothing more is sent
	// holding is set while anything is held or being released; the event
	// path reads it without the lock.
	holding atomic.Bool
}

// newRelayHold holds the relays of one connection for delay after each of
// its pairings' matched.
func newRelayHold(delay time.Duration, send func(to string, f socketio.Frame), current func() (pairing, bool)) *relayHold {
	r := &relayHold{delay: delay, send: send, current: current}
	r.released = sync.NewCond(&r.mu)
	return r
}

// deliver relays f to p's partner: at once, or, when it comes less than
// delay after p's matched was sent or while earlier ones are held, once
// the delay is over, in order. The error is a refusal beyond maxHeld.
func (r *relayHold) deliver(p pairing, f socketio.Frame) error {
	// Only the connection's event path adds held relays, and it is
	// here: nothing held now means nothing can be held behind.
	if !r.holding.Load() && !time.Now().Before(p.matchedAt.Add(r.delay)) {
		r.send(p.partner, f)
		return nil
	}
	return r.hold(p, f)
}

// hold keeps f until p's delay is over, behind the relays already held.
//
// A relay that comes while a release is sending waits for it to end, and
// is then sent or held in its turn. Why: its sender's later events (a Next)
// wait for it, so it reaches the partner while the pairing still stands and
// before anything those events send. Queued behind the release instead, it
// was checked against the pairing of when the release got to it, and a Next
// sent just after it could end the pairing first: a relay sent after the
// delay, never delivered.
func (r *relayHold) hold(p pairing, f socketio.Frame) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.releasing && !r.stopped {
		r.released.Wait()
	}
	if r.stopped {
		return nil // the connection is gone: nothing is delivered for it
	}
	if r.heldFor != p {
		// Relays held for a pairing that has ended are never delivered.
		r.drop()
	}
	wait := time.Until(p.matchedAt.Add(r.delay))
	if wait <= 0 && len(r.held) == 0 {
		r.holding.Store(false)
		r.send(p.partner, f)
		return nil
	}
	if len(r.held) >= maxHeld {
		return refuse(codeTooManyHeld, errTooManyHeld)
	}
	r.holding.Store(true)
	r.heldFor = p
	r.held = append(r.held, f)
	if r.timer == nil {
		r.timer = time.AfterFunc(max(wait, 0), r.release)
	}
	return nil
}

// release sends the held relays, in order, to the partner they were sent
// to if the pairing still stands.
func (r *relayHold) release() {
	r.mu.Lock()
	if r.stopped || len(r.held) == 0 || time.Now().Before(r.heldFor.matchedAt.Add(r.delay)) {
		// Nothing to send yet: a timer of a pairing whose relays were
		// dropped, firing as a new pairing's were held (their own timer
		// is set).
		r.mu.Unlock()
		return
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	batch, p := r.held, r.heldFor
	r.held, r.heldFor = nil, pairing{}
	// Sent without the lock: stop (the connection's close) must not wait
	// for a send, which may wait for the store's relay.
	r.releasing = true
	r.mu.Unlock()
	if now, ok := r.current(); ok && now == p {
		for _, f := range batch {
			r.send(p.partner, f)
		}
	}
	r.mu.Lock()
	r.releasing = false
	r.holding.Store(len(r.held) > 0)
	r.released.Broadcast()
	r.mu.Unlock()
}

// stop drops what is held, and holds nothing more: the connection is
// closed.
func (r *relayHold) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.drop()
	r.released.Broadcast()
}

// drop forgets the held relays; r.mu is held.
func (r *relayHold) drop() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.held = nil
	r.heldFor = pairing{}
	r.holding.Store(r.releasing)
}
