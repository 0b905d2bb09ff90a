package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/queue"
)

// code is the stable name of a refusal in an ack ({ok:false, code, error}):
// a client may branch on it, where the error text is for people and may
// carry figures (a cool-down's seconds). The set is documented in the
// README (Socket.IO contract); a new refusal gets a code there too.
type code string

const (
	codeInvalid        code = "invalid"          // a malformed payload
	codeUnknownEvent   code = "unknown-event"    // an event the server does not know
	codeTooLarge       code = "too-large"        // a signal's data over maxSignalSize
	codeRateLimited    code = "rate-limited"     // too many state changes
	codeTooManyPending code = "too-many-pending" // maxPendingCommands wait
	codeTooManyHeld    code = "too-many-held"    // maxHeld relays before the call started
	codeBusy           code = "busy"             // queue.ErrBusy
	codeNotJoined      code = "not-joined"       // queue.ErrNotJoined
	codeNoPartner      code = "no-partner"       // queue.ErrNoPartner, or a relay with no partner
	codeNotYourPartner code = "not-your-partner" // a signal to someone else
	codeDraining       code = "draining"         // queue.ErrDraining, queue.ErrInstanceGone
	codeCoolingDown    code = "cooling-down"     // a *queue.CoolDownError
	codeBanned         code = "banned"           // a *queue.BannedError
	codeUnavailable    code = "unavailable"      // anything the server did not expect
)

// refusal is client input the server will not act on: code and reason
// are what the client's ack carries.
type refusal struct {
	code   code
	reason string
}

func (r refusal) Error() string { return r.reason }

// refuse is a refusal of code, saying reason.
func refuse(c code, reason string) error { return refusal{code: c, reason: reason} }

// invalid is the refusal of a malformed payload.
func invalid(format string, args ...any) error {
	return refusal{code: codeInvalid, reason: fmt.Sprintf(format, args...)}
}

// ackReply is what an acknowledgement carries.
type ackReply struct {
	OK    bool   `json:"ok"`
	Code  code   `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// refusalOf maps why an event was refused to the ack that says so, and
// the reason the metrics count: the ack's text without what varies (a
// cool-down's seconds). expected is false for an error that is no refusal
// (a store that failed): the ack then says only "temporarily unavailable",
// and the caller logs the error.
func refusalOf(err error) (reply ackReply, reason string, expected bool) {
	var r refusal
	var coolDown *queue.CoolDownError
	switch {
	case errors.As(err, &r):
		reply = ackReply{Code: r.code, Error: r.reason}
	case errors.Is(err, queue.ErrBusy):
		reply = ackReply{Code: codeBusy, Error: queue.ErrBusy.Error()}
	case errors.Is(err, queue.ErrNotJoined):
		reply = ackReply{Code: codeNotJoined, Error: queue.ErrNotJoined.Error()}
	case errors.Is(err, queue.ErrNoPartner):
		reply = ackReply{Code: codeNoPartner, Error: queue.ErrNoPartner.Error()}
	case errors.Is(err, queue.ErrDraining), errors.Is(err, queue.ErrInstanceGone):
		// The client reconnects, to another instance.
		reply = ackReply{Code: codeDraining, Error: queue.ErrDraining.Error()}
	case errors.Is(err, queue.ErrBanned):
		// Not the ban's end: the text stays the same for every ban.
		reply = ackReply{Code: codeBanned, Error: "this address is banned by the moderators"}
	case errors.As(err, &coolDown):
		// The text says when to try again.
		return ackReply{Code: codeCoolingDown, Error: coolDown.Error()}, queue.ErrCoolDown.Error(), true
	default:
		reply = ackReply{Code: codeUnavailable, Error: "temporarily unavailable"}
		return reply, reply.Error, false
	}
	return reply, reply.Error, true
}

// ack answers ev's acknowledgement with r, if the client asked for one.
func ack(cn Conn, ev socketio.Event, r ackReply) {
	if !ev.WantsAck {
		return
	}
	payload := []byte(`{"ok":true}`)
	if !r.OK {
		payload, _ = json.Marshal(r) // a struct of a bool and strings: never fails
	}
	cn.Ack(ev.AckID, payload)
}

// oncePerSecond lets one thing happen at most once a second: a refusal's
// log line, so that a flood is not also a log flood.
type oncePerSecond struct {
	mu   sync.Mutex
	last time.Time
}

// allow reports whether a second has passed since it last reported true.
func (o *oncePerSecond) allow(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if now.Sub(o.last) < time.Second {
		return false
	}
	o.last = now
	return true
}
