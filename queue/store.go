package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Profile is what the store keeps about a user who joined: what the user
// tells strangers (name, gender, region, interests) and the key of the
// address it connects from. The handler has already cleaned it (trimmed,
// control characters removed, truncated; interests lower-cased, without
// duplicates).
type Profile struct {
	Name   string `json:"name"`
	Gender string `json:"gender"`
	Region string `json:"region"`
	// Interests are at most MaxInterests tags: the user is paired first
	// with someone sharing one (see Store).
	Interests []string `json:"interests,omitempty"`
	// Language is a BCP 47 primary language tag ("en", "es"; 2 or 3
	// lower-case letters) or "": the user is paired first with someone of
	// the same language (see Store).
	Language string `json:"lang,omitempty"`
	// TextOnly users chat by text without a camera: they are paired only
	// with each other, and video users (the original client's) only with
	// video users.
	TextOnly bool `json:"text,omitempty"`
	// Addr is the hashed client address: blocks and cool-downs key on it,
	// so that a reload does not escape them. Never shown to anyone.
	Addr string `json:"addr,omitempty"`
	// Net is the hashed network of the address (see Peer.Net), for the
	// user's reports. Not kept by the stores: the service keeps it with
	// its session.
	Net string `json:"-"`
	// Instance is the server instance the user joined through (the
	// service sets it): when that instance's presence lapses, the others
	// take its users over (see Store.Beat). Empty: not tracked.
	Instance string `json:"inst,omitempty"`
}

// MaxInterests bounds the tags of one profile.
const MaxInterests = 5

// HasPreferences reports whether p waits, up to the interest wait, for a
// partner sharing an interest or its language.
func (p Profile) HasPreferences() bool {
	return len(p.Interests) > 0 || p.Language != ""
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
	// EventPartnerLeft tells User that its partner left for Reason. When
	// Partner is set, it concerns the pairing with that partner only (a
	// Reconcile's word): a user no longer paired with it ignores it.
	EventPartnerLeft
	// EventDone marks where User's own next, leave or block took effect
	// in the stream. Nothing is sent to the client for it: it lets the
	// service drop announcements that the user's own action has already
	// made stale.
	EventDone
	// EventResumed marks where User's held session was taken back
	// (HeldSessions.Resume), before the matching that Resume runs:
	// announcements for User before it are stale (what they told is in
	// Reason). Partner, PartnerAddr and Reason are the Resumed's Partner,
	// PartnerAddr and Left: the user's state as the store has it there.
	EventResumed
	// EventBanned tells every instance that Addr was banned: each drops
	// its own users of that address (see Moderation.Ban). User is empty.
	EventBanned
	// EventGap is the listener's own word, never in the stream: events
	// before this point were lost (a replica promoted in place of a dead
	// primary had not received them), so what this instance believes of
	// its users must be checked against the store (see Reconciler). User
	// is empty.
	EventGap
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
	Reason      Reason // EventPartnerLeft; EventResumed: Resumed.Left
	// PartnerAddr is the partner's address key (EventMatched), for a
	// report or block after the partner has gone.
	PartnerAddr string
	// Common is the interests the two share (EventMatched), the same list
	// for both.
	Common []string
	// PartnerRegion is the region the partner gave in its join
	// (EventMatched).
	PartnerRegion string
	// TextOnly is the mode of the pairing (EventMatched): both text-only,
	// or both video.
	TextOnly bool
	// Addr is the banned address key (EventBanned).
	Addr string
	// At is when the store recorded the state change, zero when the store
	// does not say; the service's metrics take the event stream's lag
	// from it.
	At time.Time
	// ID is the event's position in the store's stream ("" when the store
	// has none): Reconcile is told up to where the instance has handled
	// events (see Beliefs.After).
	ID string
}

// Counts are the figures the public /stats reports, across every instance
// sharing the store.
type Counts struct {
	// Online is the number of connected users: the sum of the figures the
	// instances reported through Census, leaving out those that lapsed.
	Online int `json:"online"`
	// Waiting is the number of users in the queue.
	Waiting int `json:"waiting"`
	// InCall is the number of users in a call (twice the number of pairs).
	InCall int `json:"inCall"`
}

// Errors for requests that are refused; the state is unchanged. A Store
// returns ErrBusy, ErrNotJoined, ErrStoreFull, ErrInstanceGone and
// *CoolDownError (see each method); the Service adds ErrNotReady,
// ErrNoPartner and ErrDraining.
var (
	// ErrBusy: a join from a user who is already queued or in a call.
	ErrBusy = errors.New("already queued or in a call")
	// ErrNotJoined: next, leave or block from a user who never joined (or
	// has left).
	ErrNotJoined = errors.New("not in the queue or a call")
	// ErrNotReady: the service is not listening to the store's events yet,
	// so a state change now could go unannounced.
	ErrNotReady = errors.New("not listening to the store yet")
	// ErrNoPartner: a report or block from a user with no current or
	// recent partner.
	ErrNoPartner = errors.New("no partner to report or block")
	// ErrStoreFull: the store is out of memory and refused the change
	// before applying any of it (Redis's OOM refusal of a script; the
	// memory store never returns it).
	ErrStoreFull = errors.New("store out of memory, nothing changed")
	// ErrInstanceGone: a join through an instance whose presence is gone
	// (taken over by the others, or retired at shutdown).
	ErrInstanceGone = errors.New("server instance taken over or retired")
	// ErrDraining: a join while this instance shuts down.
	ErrDraining = errors.New("server shutting down")
)

// Presence is what a Beat found.
type Presence struct {
	// Kept: the instance's presence was still in the store (maybe lapsed,
	// but nobody had taken it over). False for a new instance, and for one
	// that was taken over or whose store lost its data: its users are gone
	// from the store.
	Kept bool
	// TakenOver is how many other instances this beat took over.
	TakenOver int
	// Switched: another server answers for the store than at the last
	// beat (a replica promoted after its primary died): the last state
	// changes before the switch may be lost, and what this instance
	// believes of its users must be checked against the store (see
	// Reconciler). Never set by a store that cannot lose writes.
	Switched bool
}

// CoolDownError refuses a join from an address that several users reported
// (see Store.Report); Is(ErrCoolDown) holds for it.
type CoolDownError struct {
	// Remaining is how long the cool-down still lasts.
	Remaining time.Duration
}

// ErrCoolDown is what every CoolDownError is.
var ErrCoolDown = errors.New("cooling down after reports")

func (e *CoolDownError) Error() string {
	return fmt.Sprintf("%v: try again in %d s", ErrCoolDown, int((e.Remaining+time.Second-1)/time.Second))
}

// Is makes errors.Is(err, ErrCoolDown) hold.
func (e *CoolDownError) Is(target error) bool { return target == ErrCoolDown }

// Peer names a user for a block or a report: its socket id, its address
// key and, for a reporter, its network key: the hashed network that one
// subscriber may hold whole (an IPv6 /48; an IPv4 address), by which
// distinct reporters are counted (see Store.Report). An empty Net is Addr's.
type Peer struct {
	ID, Addr, Net string
}

// ReporterNet is the key a reporter is counted under: its Net, or its Addr
// when it has none.
func (p Peer) ReporterNet() string {
	if p.Net != "" {
		return p.Net
	}
	return p.Addr
}

// Report is one user's report about a partner, kept for moderators.
type Report struct {
	Reporter, Reported Peer
	Reason             string
	At                 time.Time
	// Evidence is what the reporter chose to attach, nil when nothing.
	Evidence *Evidence
}

// Store keeps the queue, the rooms and the profiles, the blocks, reports and
// cool-downs, and the instances' presence and census figures. Every method
// that changes state is one atomic step, also when several server instances
// share the store, and every step that pairs users runs the matching rules
// to the end, until no eligible pair is left:
//   - text-only users are paired only with text-only users, video users
//     (every user who did not ask for text, the original client's too)
//     only with video users; within each, the rules below;
//   - the user who has waited longest is paired first: with the earliest
//     later user of the same language, if it has one; failing that, with
//     the earliest later user who shares an interest with it; failing
//     that, if it is open, with the earliest later user who is open. A user
//     is open when it has neither interests nor a language, or has waited
//     the interest wait since it was last queued: nobody waits long for a
//     rare tag or language, and users without either pair FIFO at once, as
//     in the original;
//   - never with its last partner inside the rematch window (checked in both
//     directions), nor with a user it blocked or that blocked it, while both
//     keep their addresses;
//   - never with a user whose profile is gone.
//
// When a step pairs two users it emits EventMatched to the responder first,
// then to the initiator (the one who waited longer), both with the same
// fresh Room, their common interests and the pairing's mode (TextOnly),
// each with its partner's region.
//
// Besides the errors each method names, any method may fail to reach the
// store; such an error is wrapped with what was asked, and the state
// change may or may not have happened (its events tell).
type Store interface {
	// Join saves the profile (kept for the profile TTL), enqueues id at the
	// back of the queue and runs matching. ErrBusy when id is already queued
	// or paired; a *CoolDownError when p.Addr is cooling down;
	// ErrInstanceGone when p.Instance is set and its presence is gone;
	// ErrStoreFull.
	Join(ctx context.Context, id string, p Profile) error

	// Next ends id's call, if any: EventDone for id, then EventPartnerLeft
	// (ReasonNext) for the partner; both remember each other as last partner
	// for the rematch window; id is requeued, then the partner; then matching
	// runs. Without a partner, id stays queued (or is requeued) with EventDone.
	// ErrNotJoined when id has no profile, no queue place and no call;
	// ErrStoreFull.
	Next(ctx context.Context, id string) error

	// Leave removes id from the queue, its call and its profile: EventDone for
	// id, then EventPartnerLeft (reason) for the partner, who is requeued and
	// remembers id as last partner; then matching runs. ErrNotJoined when id
	// has no profile, no queue place and no call; ErrStoreFull.
	Leave(ctx context.Context, id string, reason Reason) error

	// Block is Next for by.ID, and keeps by and target apart from then on,
	// in both directions, for as long as both keep their addresses (the
	// block TTL bounds how long a block is kept, and each address keeps a
	// bounded number). Users of one address are told apart by socket id.
	// ErrNotJoined and ErrStoreFull as for Next.
	Block(ctx context.Context, by, target Peer) error

	// Report keeps r for moderators and counts it: when reporters from
	// the report threshold's number of distinct networks
	// (r.Reporter.ReporterNet) reported r.Reported.Addr within the report
	// window, that address cools down (its joins are refused) for the
	// cool-down time, and Report returns true. A reporter's network counts
	// once however often, and from however many of its addresses, it
	// reports: one subscriber is one reporter. No refusal of its own.
	Report(ctx context.Context, r Report) (coolingDown bool, err error)

	// Match runs matching alone (for example when a rematch window
	// expires). ErrStoreFull.
	Match(ctx context.Context) error

	// Refresh rewrites the given users' profiles with a fresh TTL: connected
	// users never expire, and profiles lost with the store come back.
	// ErrStoreFull.
	Refresh(ctx context.Context, profiles map[string]Profile) error

	// Sweep removes users whose profile has expired (their server instance
	// died without saying goodbye) from the queue and from calls, announcing
	// EventPartnerLeft (ReasonDisconnect) to their partners, who are requeued;
	// then matching runs. ErrStoreFull.
	Sweep(ctx context.Context) error

	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error

	// Windows returns the windows this store enforces, after which a
	// matching run may pair users it could not pair before.
	Windows() Windows

	// Beat renews instance's presence for ttl and takes over every other
	// instance whose presence has lapsed, each in one atomic step that
	// exactly one caller does: the users who joined through it leave the
	// queue, their calls and the store; their partners elsewhere get
	// EventPartnerLeft (ReasonDisconnect) and are requeued; then matching
	// runs. A taken-over instance's joins are refused with
	// ErrInstanceGone until its next Beat, which reports it. ErrStoreFull.
	Beat(ctx context.Context, instance string, ttl time.Duration) (Presence, error)

	// Retire takes instance over at once, as Beat does for a lapsed one,
	// at its shutdown: nothing of it is left in the store. ErrStoreFull.
	Retire(ctx context.Context, instance string) error

	// Census records that instance has online users connected, a figure
	// that lapses after ttl unless recorded again, and returns the Counts
	// across every instance, this report included. One round trip.
	Census(ctx context.Context, instance string, online int, ttl time.Duration) (Counts, error)

	// Listen calls ready once it is listening, then handle for every event of
	// every state change made after that, in order, from one goroutine, until
	// ctx is done. It rides out store outages by itself (ready may wait for
	// the store to be reachable) and returns ctx.Err().
	Listen(ctx context.Context, ready func(), handle func(Event)) error

	HeldSessions
	Moderation
	Reconciler
}

// Windows are the store's timed matching rules that the service must know
// of, to run matching when one lapses (nobody else may act then).
type Windows struct {
	// RematchWindow: two users who were paired are kept apart this long.
	RematchWindow time.Duration
	// InterestWait: a user with interests or a language waits this long
	// for someone sharing one, then is paired with anyone.
	InterestWait time.Duration
}

// Held sessions: a client that opted in to resuming (auth {resume: true})
// and whose connection dropped without a goodbye keeps its queue place or
// its pairing for the resume window, on whichever instance it comes back
// to. The store holds what such a session leaves behind: the user stays in
// the queue and in its room, but is never paired while held; the frames
// sent to it meanwhile are kept, bounded, with their offsets; the first
// resume that knows its private id takes it; the window lapsing makes it a
// disconnect.

// KeptFrame is one Socket.IO event frame sent to a held user, as encoded
// for the wire without its offset (2["name",payload]), with the offset it
// was given: the client's socket.io-client reports the last offset it
// received when it resumes.
type KeptFrame struct {
	Offset uint64
	Frame  []byte
}

// HeldSession is what Hold keeps of a dropped resumable session.
type HeldSession struct {
	// PIDHash is the hex SHA-256 of the session's private id: only a
	// Resume that gives it takes the session.
	PIDHash string
	// Announced is the partner the client was last told of ("" when none):
	// a pairing the client was never told of is ended at Hold, one that
	// ended since is announced at Resume (Resumed.Left).
	Announced string
	// Kept are the frames the client may not have received (sent on the
	// connection that dropped), oldest first, with consecutive offsets;
	// Next is the offset of the next frame (Keep numbers from it).
	Kept []KeptFrame
	Next uint64
	// Addr is the user's address key: an address holds at most
	// StoreOptions.MaxHeldPerAddr sessions at once.
	Addr string
	// Instance is the instance the connection was on: the user leaves its
	// members (its retirement or takeover no longer ends the user), and
	// joins the resuming instance's at Resume.
	Instance string
}

// Resumed is what Resume hands back.
type Resumed struct {
	// Frames are the kept frames after the client's offset, in order.
	Frames []KeptFrame
	// Next is the offset of the next frame sent to the resumed client.
	Next uint64
	// Profile is the user's profile (nil when it never joined, or left);
	// Partner and PartnerAddr its current partner and that partner's
	// address key ("" when none).
	Profile     *Profile
	Partner     string
	PartnerAddr string
	// Left is set when the partner the client was told of (Announced) is
	// no longer its partner: the reason to announce in partner-left,
	// ReasonDisconnect when the store does not know it.
	Left Reason
}

// Errors of the held sessions.
var (
	// ErrNotHeld: no held session of that id with that private id (never
	// held, resumed already, lapsed, or another pid).
	ErrNotHeld = errors.New("no held session to resume")
	// ErrResumeGap: the kept frames do not reach back to the client's
	// offset (more were sent than the bounds keep): the session was ended
	// as a lapse does, and the client starts a new one.
	ErrResumeGap = errors.New("held session lost frames the client missed")
	// ErrTooManyHeld: the address holds StoreOptions.MaxHeldPerAddr
	// sessions already: the drop is a disconnect.
	ErrTooManyHeld = errors.New("too many held sessions for one address")
)

// HeldSessions is the part of a Store that keeps held sessions. Each
// method is one atomic step, as the Store's are.
type HeldSessions interface {
	// Hold keeps id's session for window: id leaves h.Instance's members;
	// it stays in the queue (never paired while held) or in its room; a
	// room the client was not told of (its partner is not h.Announced) is
	// dissolved: EventDone for id (an EventMatched of that room still on
	// its way is stale), the partner told (EventPartnerLeft,
	// ReasonDisconnect) and requeued, and id requeued; its profile lives
	// at least the window.
	// ErrTooManyHeld. A second Hold of the same id replaces the first.
	Hold(ctx context.Context, id string, h HeldSession, window time.Duration) error

	// Keep appends frame to id's held session with the next offset, and
	// reports whether id is held. Past StoreOptions.MaxKeptFrames or
	// MaxKeptBytes the session is marked lost: its Resume gets
	// ErrResumeGap.
	Keep(ctx context.Context, id string, frame []byte) (bool, error)

	// Resume takes id's held session when pidHash is its own (ErrNotHeld
	// otherwise, the session left alone): the session is gone from the
	// store; when id has a profile, id joins instance's members and its
	// profile names instance, with a fresh profile TTL; the frames after
	// offset after come back; then matching runs (id may be paired at
	// once). ErrResumeGap when the kept frames start after after+1 or the
	// session was marked lost: the session is then ended as Lapse ends it.
	Resume(ctx context.Context, id, pidHash string, after uint64, instance string) (Resumed, error)

	// Lapse ends id's held session once its window is over, as a
	// disconnect: id leaves the queue, its room (the partner is told,
	// ReasonDisconnect, and requeued) and its profile. It reports whether
	// it ended one (false: none held, or its window is not over yet).
	// Sweep lapses every held session whose window is over.
	Lapse(ctx context.Context, id string) (bool, error)
}
