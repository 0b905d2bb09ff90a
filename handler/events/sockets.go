// Package events is the Socket.IO event protocol of the default namespace:
// it decodes and checks each event a connection sends, runs the commands
// (join, Next, report, block, leave) on the matchmaking service in the
// order they came, relays signals and chat messages to the partner, and
// answers acks. The Announcer sends the service's announcements. No
// matching rule lives here.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/internal/logtext"
	"github.com/zivro/zivro/queue"
)

// errTooManyCommands is the ack's error for a join, Next or leave over the
// connection's budget of state changes.
const errTooManyCommands = "too many state changes: wait a moment"

// Sockets handles the Socket.IO events of the default namespace.
type Sockets struct {
	out Sender
	svc Service
	log *slog.Logger
	cfg Config
	// base is cancelled at shutdown, ending store operations in flight.
	base context.Context
	// running counts connections whose commands are being run.
	running inFlight
}

// NewSockets returns the handler of the connections' events; it relays
// through out and runs commands on svc, with contexts derived from base.
func NewSockets(base context.Context, out Sender, svc Service, log *slog.Logger, cfg Config) *Sockets {
	return &Sockets{out: out, svc: svc, log: log, cfg: cfg.withDefaults(), base: base}
}

// Connect starts serving a new connection (socketio.Server.OnConnect).
func (h *Sockets) Connect(sc *socketio.Conn) socketio.Session { return h.open(sc) }

// Wait blocks until the commands of every connection have run (at shutdown,
// after the sockets were closed), or ctx is done.
func (h *Sockets) Wait(ctx context.Context) { h.running.wait(ctx) }

// conn is one client connection. Its events are handled one at a time, in
// the order they arrived, on the connection's reading goroutine (see
// socketio.Session): relays are done at once unless a command of the same
// connection is pending (they then wait behind it, see relay); commands
// queue behind each other (commands). Each part of its state has its own
// lock: the queue, the hold of relays, the refusal log's budget.
type conn struct {
	h    *Sockets
	conn Conn
	id   string
	// from is the start of every payload relayed from this connection:
	// {"from":"<id>",
	from string
	// addr is the client's address (Conn.Addr), never logged: its keys
	// (see clientaddr.AddressKeys), which blocks, cool-downs and reports
	// follow, are taken at each join.
	addr string
	// opened is when the connection was opened, for its disconnect line.
	opened time.Time

	limits   rateLimits
	commands *commands
	hold     *relayHold
	// refusalLog rate-limits refusal logs.
	refusalLog oncePerSecond
	// closed: the connection is closed (or being closed), later events
	// are dropped.
	closed atomic.Bool
	// disconnect runs the disconnect once (see Closed).
	disconnect func()
}

// open registers a new connection with the service.
func (h *Sockets) open(cn Conn) *conn {
	c := &conn{
		h:        h,
		conn:     cn,
		id:       cn.ID(),
		addr:     cn.Addr(),
		opened:   time.Now(),
		limits:   newRateLimits(h.cfg),
		commands: newCommands(&h.running),
	}
	c.hold = newRelayHold(h.cfg.SignalDelay, h.out.Send, c.pairing)
	// The address only as its key (a keyed hash), never as it is; not at
	// all while the key's secret is still to be loaded from the store.
	var addrKey string
	if keys, ok := h.cfg.Addresses.KnownKeys(c.addr); ok {
		addrKey = keys.Addr
	}
	h.log.Info("socket connected", "socket", c.id, "request_id", cn.RequestID(), "transport", cn.Transport(), "addr", addrKey, "resumed", cn.Resumed())
	id, _ := json.Marshal(c.id)
	c.from = `{"from":` + string(id) + ","
	h.svc.Connect(c.id)
	// Queued after the connection's pending commands, and never refused;
	// events still on their way are dropped: a join must not outlive the
	// connection.
	c.disconnect = sync.OnceFunc(func() {
		c.closed.Store(true)
		c.hold.stop()
		held := cn.Held()
		c.commands.close(func() {
			ctx, cancel := context.WithTimeout(h.base, h.cfg.OpTimeout)
			defer cancel()
			h.holdOrDisconnect(ctx, c.id, held)
		})
	})
	return c
}

// holdOrDisconnect holds the session a resumable connection's drop left
// (held), or, when there is none or the store refuses it, disconnects the
// user: it leaves the queue and its call.
func (h *Sockets) holdOrDisconnect(ctx context.Context, id string, held *socketio.Held) {
	if held != nil {
		err := h.svc.Hold(ctx, id, queue.HeldSession{PIDHash: held.PIDHash, Kept: keptFrames(held.Kept), Next: held.Next})
		held.Release(err == nil)
		if err == nil {
			h.cfg.Observer.Resume("held")
			h.log.Info("session held", "socket", id, "kept", len(held.Kept))
			return
		}
		h.cfg.Observer.Resume("refused")
		h.log.Warn("session not held", "socket", id, "err", err)
	}
	if err := h.svc.Disconnect(ctx, id); err != nil {
		h.log.Error("disconnect cleanup failed", "socket", id, "err", err)
	}
}

// Closed ends the connection: later events are dropped, and the user
// leaves the queue and its call once the pending commands have run, or,
// when its drop is held (Conn.Held), waits for it to resume.
func (c *conn) Closed(reason string) {
	c.h.cfg.Observer.Disconnected(reason)
	c.h.log.Info("socket disconnected", "socket", c.id, "reason", reason, "duration_s", time.Since(c.opened).Round(time.Millisecond).Seconds())
	c.disconnect()
}

// Event handles one of the connection's events.
func (c *conn) Event(ev socketio.Event) {
	if c.closed.Load() {
		return
	}
	if ev.Refused != "" {
		c.refuse(ev, invalid("%s", ev.Refused))
		return
	}
	if !c.limits.allowEvent() {
		c.overLimit(ev)
		return
	}
	svc := c.h.svc
	switch ev.Name {
	case "join-queue":
		p, err := decodeProfile(ev.Args)
		if err != nil {
			c.refuse(ev, err)
			return
		}
		c.command(ev, func(ctx context.Context) error {
			keys, err := c.h.cfg.Addresses.Keys(ctx, c.addr)
			if err != nil {
				return fmt.Errorf("join %s: %w", c.id, err)
			}
			p.Addr, p.Net = keys.Addr, keys.Net
			return svc.Join(ctx, c.id, p)
		})
	case "next":
		c.command(ev, func(ctx context.Context) error { return svc.Next(ctx, c.id) })
	case "report":
		r, err := decodeReport(ev.Args)
		if err != nil {
			c.refuse(ev, err)
			return
		}
		c.command(ev, func(ctx context.Context) error { return svc.Report(ctx, c.id, r.reason, r.evidence) })
	case "block":
		c.command(ev, func(ctx context.Context) error { return svc.Block(ctx, c.id) })
	case "leave-queue":
		c.command(ev, func(ctx context.Context) error { return svc.Leave(ctx, c.id) })
	case "signal":
		c.relay(ev, c.relaySignal)
	case "chat-message":
		c.relay(ev, c.relayChat)
	default:
		c.refuse(ev, refuse(codeUnknownEvent, "unknown event"))
	}
}

// overLimit drops an event over the connection's rate limit, and closes
// the connection when it keeps sending them.
func (c *conn) overLimit(ev socketio.Event) {
	if c.limits.forgive() {
		c.h.cfg.Observer.Refused(reasonOverLimit)
		c.logRefusal(ev, reasonOverLimit)
		return
	}
	// Later events are dropped, held relays too; the disconnect follows.
	if c.closed.CompareAndSwap(false, true) {
		c.hold.stop()
		c.h.log.Warn("connection closed", "socket", c.id, "reason", "events over the rate limit")
		c.conn.Drop()
	}
}

// command runs a store command after the connection's earlier ones, or
// refuses it when the connection has used its budget of state changes.
func (c *conn) command(ev socketio.Event, run func(context.Context) error) {
	if !c.limits.allowCommand() {
		c.refuse(ev, refuse(codeRateLimited, errTooManyCommands))
		return
	}
	c.behind(ev, func() {
		ctx, cancel := context.WithTimeout(c.h.base, c.h.cfg.OpTimeout)
		defer cancel()
		c.reply(ev, run(ctx))
	})
}

// relay runs a relay at once when no store command of the connection is
// queued or running, which is nearly always, and otherwise behind them: one
// connection's events take effect in the order they were sent, so a signal
// or message sent after a join or a Next is checked against the partner
// that the join or Next left, and an acked relay acknowledges every earlier
// event of its sender. No command can slip in between the check and the
// run: only Event queues commands, and a connection's events reach it
// one at a time.
func (c *conn) relay(ev socketio.Event, send func([]gjson.Result) error) {
	run := func() { c.reply(ev, send(ev.Args)) }
	if c.commands.idle() {
		run()
		return
	}
	c.behind(ev, run)
}

// behind queues work after the connection's earlier commands, or refuses
// ev when too many wait.
func (c *conn) behind(ev socketio.Event, work func()) {
	if !c.commands.push(work) {
		c.refuse(ev, refuse(codeTooManyPending, "too many pending requests"))
	}
}

func (c *conn) relaySignal(args []gjson.Result) error {
	sig, err := decodeSignal(args)
	if err != nil {
		return err
	}
	p, ok := c.pairing()
	if !ok || p.partner != sig.to {
		return refuse(codeNotYourPartner, "not your partner")
	}
	// {"from":"<id>","data":<data as sent>}
	err = c.hold.deliver(p, socketio.NewFrame("signal", c.from, `"data":`, sig.data, "}"))
	if err == nil {
		c.h.cfg.Observer.SignalRelayed()
	}
	return err
}

func (c *conn) relayChat(args []gjson.Result) error {
	msg, err := decodeChat(args)
	if err != nil {
		return err
	}
	p, ok := c.pairing()
	if !ok {
		return refuse(codeNoPartner, "no partner")
	}
	text, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode chat message: %w", err)
	}
	// {"from":"<id>","message":"<message>","timestamp":<ms>}
	err = c.hold.deliver(p, socketio.NewFrame("chat-message",
		c.from, `"message":`, string(text), `,"timestamp":`, strconv.FormatInt(time.Now().UnixMilli(), 10), "}"))
	if err == nil {
		c.h.cfg.Observer.ChatRelayed()
	}
	return err
}

// pairing returns the connection's current pairing.
func (c *conn) pairing() (pairing, bool) {
	partner, matchedAt, ok := c.h.svc.PartnerSince(c.id)
	return pairing{partner: partner, matchedAt: matchedAt}, ok
}

// reply answers the client's ack, if it asked for one, and logs refusals.
func (c *conn) reply(ev socketio.Event, err error) {
	if err == nil {
		ack(c.conn, ev, ackReply{OK: true})
		return
	}
	c.refuse(ev, err)
}

// refuse answers ev's ack with the refusal err maps to (refusalOf), counts
// and logs it.
func (c *conn) refuse(ev socketio.Event, err error) {
	reply, reason, expected := refusalOf(err)
	if !expected {
		c.h.log.Error("request failed", "socket", c.id, "event", logtext.Of(ev.Name), "err", err)
	}
	c.h.cfg.Observer.Refused(reason)
	ack(c.conn, ev, reply)
	c.logRefusal(ev, reply.Error)
}

// logRefusal logs a refused event, at most once a second per connection.
func (c *conn) logRefusal(ev socketio.Event, reason string) {
	if c.refusalLog.allow(time.Now()) {
		// The name is the client's: an unknown one of any length.
		c.h.log.Warn("input refused", "socket", c.id, "event", logtext.Of(ev.Name), "reason", reason)
	}
}
