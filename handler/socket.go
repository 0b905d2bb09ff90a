// Package handler is the edge of the server: it decodes and checks what
// arrives over Socket.IO and HTTP, calls the matchmaking service, and turns
// the results into emits and responses. No matching rule lives here.
package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/time/rate"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/queue"
)

// SocketConfig tunes the per-connection guards.
type SocketConfig struct {
	// OpTimeout bounds one store operation (join, next, leave). Default 3 s.
	OpTimeout time.Duration
	// EventsPerSecond and EventBurst bound what one connection may send;
	// events beyond are dropped, unacknowledged (an error ack is a write
	// the client could make the server do as fast as it sends), and the
	// connection is closed once more than maxOverLimit of them have been
	// dropped (plus one a second). Defaults 500/s and twice the rate.
	EventsPerSecond float64
	EventBurst      int
	// Addresses keys the client addresses that blocks and cool-downs use.
	Addresses AddressKeys
	// CommandsPerSecond and CommandBurst bound the state changes (join,
	// Next, leave) within those: each costs a store call, and a person
	// presses Next a few times a second at most. Defaults 5/s and 10.
	CommandsPerSecond float64
	CommandBurst      int
	// SignalDelay holds the signals and chat messages a user sends in a
	// new pairing until this long after its matched was sent (see
	// deliver). 0: none.
	SignalDelay time.Duration
	// Observer counts relays, refusals and disconnects (metrics); nil:
	// nobody.
	Observer Observer
}

// Observer is told what the connections do (a *metrics.Metrics).
type Observer interface {
	SignalRelayed()
	ChatRelayed()
	// Refused: an event was refused for reason, one of the server's own
	// refusal messages (a bounded set).
	Refused(reason string)
	// Disconnected: a connection ended for reason (the library's).
	Disconnected(reason string)
}

// noObserver is the Observer of handlers given none.
type noObserver struct{}

func (noObserver) SignalRelayed()      {}
func (noObserver) ChatRelayed()        {}
func (noObserver) Refused(string)      {}
func (noObserver) Disconnected(string) {}

func (c SocketConfig) withDefaults() SocketConfig {
	if c.OpTimeout <= 0 {
		c.OpTimeout = 3 * time.Second
	}
	if c.EventsPerSecond <= 0 {
		c.EventsPerSecond = 500
	}
	if c.EventBurst <= 0 {
		c.EventBurst = int(2 * c.EventsPerSecond)
	}
	if c.CommandsPerSecond <= 0 {
		c.CommandsPerSecond = 5
	}
	if c.CommandBurst <= 0 {
		c.CommandBurst = max(10, int(2*c.CommandsPerSecond))
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	return c
}

// reasonOverLimit is the refusal of an event over the connection's rate
// limit (dropped, no ack).
const reasonOverLimit = "too many events"

// maxOverLimit is how many events over its rate limit a connection may send
// before it is closed; one a second more is forgiven. A person never
// reaches the limit at all.
const maxOverLimit = 100

// errTooManyCommands is the ack's error for a join, Next or leave over the
// connection's budget of state changes.
const errTooManyCommands = "too many state changes: wait a moment"

// maxPendingCommands bounds the work waiting on one connection: its
// join/next/leave requests and the relays queued behind them. A client
// sending faster than the store answers is refused beyond it.
const maxPendingCommands = 16

// Conn is one client connection as the handler uses it (a *socketio.Conn).
type Conn interface {
	ID() string
	// Addr is the client's address (see socketio.Conn.Addr).
	Addr() string
	// RequestID is the id of the HTTP request that opened the connection.
	RequestID() string
	// Transport is the connection's transport ("polling", "websocket").
	Transport() string
	// Ack answers the event whose ack id is id with payloads (JSON), one
	// per argument.
	Ack(id uint64, payloads ...[]byte)
	// Drop closes the connection at once, with whatever waits to be sent
	// to it (the client may not be reading).
	Drop()
}

// Sender writes events to sockets (a *socketio.Server).
type Sender interface {
	// Send writes f to the socket, wherever it is connected.
	Send(to string, f socketio.Frame)
	// SendLocal writes f to the socket if it is connected to this
	// instance, and reports whether it was.
	SendLocal(to string, f socketio.Frame) bool
}

// Service is the matchmaking service (a *queue.Service) as the handler uses
// it; see queue.Service for what each method promises.
type Service interface {
	Connect(id string)
	Join(ctx context.Context, id string, p queue.Profile) error
	Next(ctx context.Context, id string) error
	Leave(ctx context.Context, id string) error
	Disconnect(ctx context.Context, id string) error
	PartnerSince(id string) (partner string, matchedAt time.Time, ok bool)
	Report(ctx context.Context, id, reason string) error
	Block(ctx context.Context, id string) error
}

// Sockets handles the Socket.IO events of the default namespace.
type Sockets struct {
	out Sender
	svc Service
	log *slog.Logger
	cfg SocketConfig
	// base is cancelled at shutdown, ending store operations in flight.
	base context.Context
	// running counts connections whose commands are being run.
	running inFlight
}

// NewSockets returns the handler of the connections' events; it relays
// through out and runs commands on svc, with contexts derived from base.
func NewSockets(base context.Context, out Sender, svc Service, log *slog.Logger, cfg SocketConfig) *Sockets {
	return &Sockets{out: out, svc: svc, log: log, cfg: cfg.withDefaults(), base: base}
}

// Connect starts serving a new connection (socketio.Server.OnConnect).
func (h *Sockets) Connect(sc *socketio.Conn) socketio.Session { return h.open(sc) }

// conn is one client connection. Its events are handled one at a time, in
// the order they arrived, on the connection's reading goroutine (see
// socketio.Session): relays are done at once unless a command of the same
// connection is pending (they then wait behind it, see relay); commands
// queue behind each other on a goroutine of the connection's own, so that a
// slow store delays no reading and no other connection.
type conn struct {
	h       *Sockets
	conn    Conn
	id      string
	limiter *rate.Limiter
	// overLimit counts the events dropped by limiter, see maxOverLimit.
	overLimit *rate.Limiter
	// commandBudget bounds its state changes, within limiter's budget.
	commandBudget *rate.Limiter
	// from is the start of every payload relayed from this connection:
	// {"from":"<id>",
	from string
	// addr is the client's address (Conn.Addr), never logged: its keys
	// (see AddressKeys), which blocks, cool-downs and reports follow, are
	// taken at each join.
	addr string
	// disconnect runs the disconnect once (see Closed).
	disconnect func()
	// opened is when the connection was opened, for its disconnect line.
	opened time.Time

	mu       sync.Mutex
	closed   bool // disconnected: later events are dropped
	commands []func()
	busy     bool // a goroutine is draining commands
	// lastRefusalLog rate-limits refusal logs, so a flood is not also a log flood.
	lastRefusalLog time.Time
	// held are the relays waiting for the start of a pairing (see
	// deliver), all to heldFor's pairing, in the order they came.
	held      []socketio.Frame
	heldFor   pairing
	holdTimer *time.Timer
	releasing bool // releaseHeld is sending; later relays queue behind it
	// holding is set while anything is held or being released.
	holding atomic.Bool
}

// pairing names one pairing of a user: its partner, and when matched was
// sent (the same two users may meet again later).
type pairing struct {
	partner   string
	matchedAt time.Time
}

// open registers a new connection with the service.
func (h *Sockets) open(cn Conn) *conn {
	c := &conn{
		h:             h,
		conn:          cn,
		id:            cn.ID(),
		addr:          cn.Addr(),
		limiter:       rate.NewLimiter(rate.Limit(h.cfg.EventsPerSecond), h.cfg.EventBurst),
		overLimit:     rate.NewLimiter(1, maxOverLimit),
		commandBudget: rate.NewLimiter(rate.Limit(h.cfg.CommandsPerSecond), h.cfg.CommandBurst),
		opened:        time.Now(),
	}
	// The address only as its key (a keyed hash), never as it is; not at
	// all while the key's secret is still to be loaded from the store.
	var addrKey string
	if keys, ok := h.cfg.Addresses.KnownKeys(c.addr); ok {
		addrKey = keys.Addr
	}
	h.log.Info("socket connected", "socket", c.id, "request_id", cn.RequestID(), "transport", cn.Transport(), "addr", addrKey)
	id, _ := json.Marshal(c.id)
	c.from = `{"from":` + string(id) + ","
	h.svc.Connect(c.id)
	// Queued after the connection's pending commands, and never refused;
	// events still on their way are dropped: a join must not outlive the
	// connection.
	c.disconnect = sync.OnceFunc(func() {
		c.mu.Lock()
		c.closed = true
		c.dropHeld()
		c.mu.Unlock()
		c.enqueue(func() {
			ctx, cancel := context.WithTimeout(h.base, h.cfg.OpTimeout)
			defer cancel()
			if err := h.svc.Disconnect(ctx, c.id); err != nil {
				h.log.Error("disconnect cleanup failed", "socket", c.id, "err", err)
			}
		}, false)
	})
	return c
}

// Event handles one of the connection's events.
func (c *conn) Event(ev socketio.Event) { c.h.onEvent(c, ev) }

// Closed ends the connection: later events are dropped, and the user
// leaves the queue and its call once the pending commands have run.
func (c *conn) Closed(reason string) {
	c.h.cfg.Observer.Disconnected(reason)
	c.h.log.Info("socket disconnected", "socket", c.id, "reason", reason, "duration_s", time.Since(c.opened).Round(time.Millisecond).Seconds())
	c.disconnect()
}

func (h *Sockets) onEvent(c *conn, ev socketio.Event) {
	if c.isClosed() {
		return
	}
	if ev.Refused != "" {
		h.refuse(c, ev, refusal{reason: ev.Refused})
		return
	}
	if !c.limiter.Allow() {
		h.overLimit(c, ev)
		return
	}
	switch ev.Name {
	case "join-queue":
		p, err := decodeProfile(ev.Args)
		if err != nil {
			h.refuse(c, ev, err)
			return
		}
		h.command(c, ev, func(ctx context.Context) error {
			keys, err := h.cfg.Addresses.Keys(ctx, c.addr)
			if err != nil {
				return fmt.Errorf("join %s: %w", c.id, err)
			}
			p.Addr, p.Net = keys.Addr, keys.Net
			return h.svc.Join(ctx, c.id, p)
		})
	case "next":
		h.command(c, ev, func(ctx context.Context) error { return h.svc.Next(ctx, c.id) })
	case "report":
		reason, err := decodeReport(ev.Args)
		if err != nil {
			h.refuse(c, ev, err)
			return
		}
		h.command(c, ev, func(ctx context.Context) error { return h.svc.Report(ctx, c.id, reason) })
	case "block":
		h.command(c, ev, func(ctx context.Context) error { return h.svc.Block(ctx, c.id) })
	case "leave-queue":
		h.command(c, ev, func(ctx context.Context) error { return h.svc.Leave(ctx, c.id) })
	case "signal":
		h.relay(c, ev, h.relaySignal)
	case "chat-message":
		h.relay(c, ev, h.relayChat)
	default:
		h.refuse(c, ev, refuse("unknown event"))
	}
}

// overLimit drops an event over the connection's rate limit, and closes
// the connection when it keeps sending them.
func (h *Sockets) overLimit(c *conn, ev socketio.Event) {
	if c.overLimit.Allow() {
		h.cfg.Observer.Refused(reasonOverLimit)
		h.logRefusal(c, ev, reasonOverLimit)
		return
	}
	c.mu.Lock()
	closed := c.closed
	c.closed = true // later events are dropped; the disconnect follows
	c.mu.Unlock()
	if !closed {
		h.log.Warn("connection closed", "socket", c.id, "reason", "events over the rate limit")
		c.conn.Drop()
	}
}

// command runs a store command after the connection's earlier ones, or
// refuses it when the connection has used its budget of state changes.
func (h *Sockets) command(c *conn, ev socketio.Event, run func(context.Context) error) {
	if !c.commandBudget.Allow() {
		h.refuse(c, ev, refuse(errTooManyCommands))
		return
	}
	h.behind(c, ev, func() {
		ctx, cancel := context.WithTimeout(h.base, h.cfg.OpTimeout)
		defer cancel()
		h.reply(c, ev, run(ctx))
	})
}

// relay runs a relay at once when no store command of the connection is
// queued or running, which is nearly always, and otherwise behind them: one
// connection's events take effect in the order they were sent, so a signal
// or message sent after a join or a Next is checked against the partner
// that the join or Next left, and an acked relay acknowledges every earlier
// event of its sender. No command can slip in between the check and the
// run: only onEvent queues commands, and a connection's events reach it
// one at a time.
func (h *Sockets) relay(c *conn, ev socketio.Event, send func(*conn, []gjson.Result) error) {
	run := func() { h.reply(c, ev, send(c, ev.Args)) }
	if c.idle() {
		run()
		return
	}
	h.behind(c, ev, run)
}

// behind queues work after the connection's earlier commands, or refuses
// ev when too many wait.
func (h *Sockets) behind(c *conn, ev socketio.Event, work func()) {
	if !c.enqueue(work, true) {
		h.refuse(c, ev, refuse("too many pending requests"))
	}
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// enqueue adds a command. A bounded one is refused beyond
// maxPendingCommands, and dropped (reported as taken) once the connection
// is closed: the disconnect already queued ends everything.
func (c *conn) enqueue(cmd func(), bounded bool) bool {
	c.mu.Lock()
	if bounded && c.closed {
		c.mu.Unlock()
		return true
	}
	if bounded && len(c.commands) >= maxPendingCommands {
		c.mu.Unlock()
		return false
	}
	c.commands = append(c.commands, cmd)
	if c.busy {
		c.mu.Unlock()
		return true
	}
	c.busy = true
	c.h.running.add()
	c.mu.Unlock()
	// A goroutine only while there is work: idle connections cost none.
	go c.drain()
	return true
}

// idle reports whether no command of the open connection is queued or
// running.
func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.busy && !c.closed
}

func (c *conn) drain() {
	for {
		c.mu.Lock()
		if len(c.commands) == 0 {
			c.busy = false
			c.mu.Unlock()
			c.h.running.done()
			return
		}
		cmd := c.commands[0]
		c.commands[0] = nil
		c.commands = c.commands[1:]
		c.mu.Unlock()
		cmd()
	}
}

func (h *Sockets) relaySignal(c *conn, args []gjson.Result) error {
	sig, err := decodeSignal(args)
	if err != nil {
		return err
	}
	p, ok := h.pairing(c)
	if !ok || p.partner != sig.to {
		return refuse("not your partner")
	}
	// {"from":"<id>","data":<data as sent>}
	err = h.deliver(c, p, socketio.NewFrame("signal", c.from, `"data":`, sig.data, "}"))
	if err == nil {
		h.cfg.Observer.SignalRelayed()
	}
	return err
}

func (h *Sockets) relayChat(c *conn, args []gjson.Result) error {
	msg, err := decodeChat(args)
	if err != nil {
		return err
	}
	p, ok := h.pairing(c)
	if !ok {
		return refuse("no partner")
	}
	text, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode chat message: %w", err)
	}
	// {"from":"<id>","message":"<message>","timestamp":<ms>}
	err = h.deliver(c, p, socketio.NewFrame("chat-message",
		c.from, `"message":`, string(text), `,"timestamp":`, strconv.FormatInt(time.Now().UnixMilli(), 10), "}"))
	if err == nil {
		h.cfg.Observer.ChatRelayed()
	}
	return err
}

// pairing returns the connection's current pairing.
func (h *Sockets) pairing(c *conn) (pairing, bool) {
	partner, matchedAt, ok := h.svc.PartnerSince(c.id)
	return pairing{partner: partner, matchedAt: matchedAt}, ok
}

// maxHeld bounds the relays one connection may have held at the start of
// a pairing: an offer and its ICE candidates are a dozen.
const maxHeld = 64

// errTooManyHeld is the ack's error for a relay over maxHeld.
const errTooManyHeld = "too many messages before the call has started"

// deliver relays f to p's partner: at once, or, when it comes less than
// SignalDelay after p's matched was sent to the sender or while earlier
// ones are held, once the delay is over, in order (see hold).
//
// Why: the original client listens for signals (and chat) only once its
// call view has mounted after matched, and drops what comes earlier; the
// call then never connects. The responder is told of a pairing before the
// initiator (see docs/ordering.md), so holding the initiator's first
// relays for a moment after its own matched gives the other side that
// moment. Relays sent later go at once, as before.
func (h *Sockets) deliver(c *conn, p pairing, f socketio.Frame) error {
	// Only this connection's event path adds held relays, and it is
	// here: nothing held now means nothing can be held behind.
	if !c.holding.Load() && !time.Now().Before(p.matchedAt.Add(h.cfg.SignalDelay)) {
		h.out.Send(p.partner, f)
		return nil
	}
	return h.hold(c, p, f)
}

// hold keeps f until p's delay is over, behind the relays already held.
func (h *Sockets) hold(c *conn, p pairing, f socketio.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.heldFor != p {
		// Relays held for a pairing that has ended are never delivered.
		c.dropHeld()
	}
	wait := time.Until(p.matchedAt.Add(h.cfg.SignalDelay))
	if wait <= 0 && len(c.held) == 0 && !c.releasing {
		c.holding.Store(false)
		h.out.Send(p.partner, f)
		return nil
	}
	if len(c.held) >= maxHeld {
		return refuse(errTooManyHeld)
	}
	c.holding.Store(true)
	c.heldFor = p
	c.held = append(c.held, f)
	if c.holdTimer == nil && !c.releasing {
		c.holdTimer = time.AfterFunc(max(wait, 0), func() { h.releaseHeld(c) })
	}
	return nil
}

// releaseHeld sends the held relays, in order, to the partner they were
// sent to if the pairing still stands; relays held while it sends go out
// after them.
func (h *Sockets) releaseHeld(c *conn) {
	c.mu.Lock()
	c.holdTimer = nil
	c.releasing = true
	for len(c.held) > 0 && !c.closed {
		if wait := time.Until(c.heldFor.matchedAt.Add(h.cfg.SignalDelay)); wait > 0 {
			// A new pairing's relays, held while the last ones went out.
			c.holdTimer = time.AfterFunc(wait, func() { h.releaseHeld(c) })
			break
		}
		batch, p := c.held, c.heldFor
		c.held = nil
		c.mu.Unlock()
		if now, ok := h.pairing(c); ok && now == p {
			for _, f := range batch {
				h.out.Send(p.partner, f)
			}
		}
		c.mu.Lock()
	}
	c.releasing = false
	c.holding.Store(len(c.held) > 0)
	c.mu.Unlock()
}

// dropHeld forgets the held relays; c.mu is held.
func (c *conn) dropHeld() {
	if c.holdTimer != nil {
		c.holdTimer.Stop()
		c.holdTimer = nil
	}
	c.held = nil
	c.heldFor = pairing{}
	c.holding.Store(c.releasing)
}

// ackReply is what an acknowledgement carries.
type ackReply struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// reply answers the client's ack, if it asked for one, and logs refusals.
func (h *Sockets) reply(c *conn, ev socketio.Event, err error) {
	if err == nil {
		c.ack(ev, ackReply{OK: true})
		return
	}
	h.refuse(c, ev, err)
}

func (h *Sockets) refuse(c *conn, ev socketio.Event, err error) {
	// msg is what the client reads; reason, what the metrics count: msg
	// without what varies (a cool-down's seconds).
	msg, reason := "temporarily unavailable", ""
	var r refusal
	var coolDown *queue.CoolDownError
	switch {
	case errors.As(err, &r):
		msg = r.reason
	case errors.Is(err, queue.ErrBusy):
		msg = queue.ErrBusy.Error()
	case errors.Is(err, queue.ErrNotJoined):
		msg = queue.ErrNotJoined.Error()
	case errors.Is(err, queue.ErrNoPartner):
		msg = queue.ErrNoPartner.Error()
	case errors.Is(err, queue.ErrDraining), errors.Is(err, queue.ErrInstanceGone):
		// The client reconnects, to another instance.
		msg = queue.ErrDraining.Error()
	case errors.As(err, &coolDown):
		msg = coolDown.Error() // says when to try again
		reason = queue.ErrCoolDown.Error()
	default:
		h.log.Error("request failed", "socket", c.id, "event", logText(ev.Name), "err", err)
	}
	if reason == "" {
		reason = msg
	}
	h.cfg.Observer.Refused(reason)
	c.ack(ev, ackReply{Error: msg})
	h.logRefusal(c, ev, msg)
}

// logRefusal logs a refused event, at most once a second per connection.
func (h *Sockets) logRefusal(c *conn, ev socketio.Event, reason string) {
	c.mu.Lock()
	now := time.Now()
	logIt := now.Sub(c.lastRefusalLog) >= time.Second
	if logIt {
		c.lastRefusalLog = now
	}
	c.mu.Unlock()
	if logIt {
		// The name is the client's: an unknown one of any length.
		h.log.Warn("input refused", "socket", c.id, "event", logText(ev.Name), "reason", reason)
	}
}

// ack answers ev's acknowledgement, if the client asked for one.
func (c *conn) ack(ev socketio.Event, r ackReply) {
	if !ev.WantsAck {
		return
	}
	payload := []byte(`{"ok":true}`)
	if !r.OK {
		payload, _ = json.Marshal(r) // a struct of a bool and a string: never fails
	}
	c.conn.Ack(ev.AckID, payload)
}

// The payloads the server announces. Structs, not maps: encoding/json sorts
// a map's keys and reflects on every value.
type (
	matchedPayload struct {
		RoomID      string `json:"roomId"`
		PartnerID   string `json:"partnerId"`
		PartnerName string `json:"partnerName"`
		IsInitiator bool   `json:"isInitiator"`
		// Always an array: [] when the two share no interest.
		CommonInterests []string `json:"commonInterests"`
	}
	partnerLeftPayload struct {
		Reason string `json:"reason"`
	}
)

// Announcer delivers the matchmaking service's announcements as Socket.IO
// events; it implements queue.Notifier.
type Announcer struct {
	out Sender
}

// NewAnnouncer returns an announcer writing through out.
func NewAnnouncer(out Sender) *Announcer { return &Announcer{out: out} }

// Matched emits "matched" to the user.
func (a *Announcer) Matched(to string, m queue.Match) {
	common := m.CommonInterests
	if common == nil {
		common = []string{}
	}
	a.announce(to, "matched", matchedPayload{RoomID: m.RoomID, PartnerID: m.PartnerID, PartnerName: m.PartnerName, IsInitiator: m.Initiator, CommonInterests: common})
}

// PartnerLeft emits "partner-left" to the user.
func (a *Announcer) PartnerLeft(to string, reason queue.Reason) {
	a.announce(to, "partner-left", partnerLeftPayload{Reason: string(reason)})
}

// announce emits to a socket connected here; announcements only concern those.
func (a *Announcer) announce(to, event string, payload any) {
	b, _ := json.Marshal(payload) // structs of strings and bools: never fails
	a.out.SendLocal(to, socketio.NewFrame(event, string(b)))
}

// Wait blocks until the commands of every connection have run (at shutdown,
// after the sockets were closed), or ctx is done.
func (h *Sockets) Wait(ctx context.Context) { h.running.wait(ctx) }
