package queue

import (
	"context"
	"errors"
)

// Profile is what a user tells strangers about themselves. The handler has
// already cleaned it (trimmed, control characters removed, truncated).
type Profile struct {
	Name   string `json:"name"`
	Gender string `json:"gender"`
	Region string `json:"region"`
}

// Reason says why a partner left a call; its string is what the wire carries.
type Reason string

// The reasons a pairing ends, as the client sees them in partner-left.
const (
	ReasonNext       Reason = "next"
	ReasonLeave      Reason = "leave"
	ReasonDisconnect Reason = "disconnect"
)

// EventKind tells what an Event announces.
type EventKind uint8

const (
	// EventMatched tells User that it is paired with Partner in Room.
	EventMatched EventKind = iota + 1
	// EventPartnerLeft tells User that its partner left for Reason.
	EventPartnerLeft
	// EventDone marks where User's own next or leave took effect in the
	// stream. Nothing is sent to the client for it: it lets the service drop
	// announcements that the user's own action has already made stale.
	EventDone
)

// Event is one announcement produced by a state change. Stores deliver
// events to Listen in exactly the order of the state changes that made them,
// across every server instance sharing the store.
type Event struct {
	Kind        EventKind
	User        string // the socket id the event is for
	Partner     string // EventMatched: the partner's socket id
	PartnerName string // EventMatched: the partner's name, "Stranger" when unknown
	Room        string // EventMatched: unique for every pairing
	Initiator   bool   // EventMatched: User creates the WebRTC offer
	Reason      Reason // EventPartnerLeft
}

// Errors a Store returns for requests it refuses; the state is unchanged.
var (
	// ErrBusy: a join from a user who is already queued or in a call.
	ErrBusy = errors.New("already queued or in a call")
	// ErrNotJoined: next or leave from a user who never joined (or has left).
	ErrNotJoined = errors.New("not in the queue or a call")
	// ErrNotReady: the service is not listening to the store's events yet,
	// so a state change now could go unannounced.
	ErrNotReady = errors.New("not listening to the store yet")
)

// Store keeps the queue, the rooms and the profiles. Every method that changes
// state is one atomic step, also when several server instances share the
// store, and every step that pairs users runs the matching rules to the end:
// FIFO, never pairing a user with its last partner inside the rematch window
// (checked in both directions), never pairing a user whose profile is gone,
// until fewer than two eligible users wait. When a step pairs two users it
// emits EventMatched to the responder first, then to the initiator (the one who
// waited longer), both with the same fresh Room.
type Store interface {
	// Join saves the profile (kept for the profile TTL), enqueues id at the
	// back of the queue and runs matching. ErrBusy when id is already queued
	// or paired.
	Join(ctx context.Context, id string, p Profile) error

	// Next ends id's call, if any: EventDone for id, then EventPartnerLeft
	// (ReasonNext) for the partner; both remember each other as last partner
	// for the rematch window; id is requeued, then the partner; then matching
	// runs. Without a partner, id stays queued (or is requeued) with EventDone.
	// ErrNotJoined when id has no profile, no queue place and no call.
	Next(ctx context.Context, id string) error

	// Leave removes id from the queue, its call and its profile: EventDone for
	// id, then EventPartnerLeft (reason) for the partner, who is requeued and
	// remembers id as last partner; then matching runs. ErrNotJoined when id
	// has no profile, no queue place and no call.
	Leave(ctx context.Context, id string, reason Reason) error

	// Match runs matching alone (for example when a rematch window expires).
	Match(ctx context.Context) error

	// Refresh rewrites the given users' profiles with a fresh TTL: connected
	// users never expire, and profiles lost with the store come back.
	Refresh(ctx context.Context, profiles map[string]Profile) error

	// Sweep removes users whose profile has expired (their server instance
	// died without saying goodbye) from the queue and from calls, announcing
	// EventPartnerLeft (ReasonDisconnect) to their partners, who are requeued;
	// then matching runs.
	Sweep(ctx context.Context) error

	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error

	// Incarnation identifies the store's current life. It changes when the
	// store may have lost its data (a restarted Redis), however briefly it
	// was away, so that the users who were waiting can join again.
	Incarnation(ctx context.Context) (string, error)

	// Listen calls ready once it is listening, then handle for every event of
	// every state change made after that, in order, from one goroutine, until
	// ctx is done. It rides out store outages by itself (ready may wait for
	// the store to be reachable) and returns ctx.Err().
	Listen(ctx context.Context, ready func(), handle func(Event)) error
}
