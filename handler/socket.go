// Package handler is the edge of the server: it decodes and checks what
// arrives over Socket.IO and HTTP, calls the matchmaking service, and turns
// the results into emits and responses. No matching rule lives here.
package handler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/zishang520/socket.io/v2/socket"
	"golang.org/x/time/rate"

	"github.com/zivro/zivro/queue"
)

// SocketConfig tunes the per-connection guards.
type SocketConfig struct {
	// OpTimeout bounds one store operation (join, next, leave). Default 3 s.
	OpTimeout time.Duration
	// EventsPerSecond and EventBurst bound what one connection may send;
	// events beyond are refused. Defaults 500/s and 1000.
	EventsPerSecond float64
	EventBurst      int
}

func (c SocketConfig) withDefaults() SocketConfig {
	if c.OpTimeout <= 0 {
		c.OpTimeout = 3 * time.Second
	}
	if c.EventsPerSecond <= 0 {
		c.EventsPerSecond = 500
	}
	if c.EventBurst <= 0 {
		c.EventBurst = 1000
	}
	return c
}

// maxPendingCommands bounds the join/next/leave requests waiting for the
// store on one connection; a client pressing faster than that is refused.
const maxPendingCommands = 16

// Sockets handles the Socket.IO events of the default namespace.
type Sockets struct {
	out *Announcer
	svc *queue.Service
	log *slog.Logger
	cfg SocketConfig
	// base is cancelled at shutdown, ending store operations in flight.
	base context.Context
	// running counts connections whose commands are being run.
	running sync.WaitGroup
}

// ServeSockets registers the event handlers on io.
func ServeSockets(base context.Context, out *Announcer, svc *queue.Service, log *slog.Logger, cfg SocketConfig) *Sockets {
	h := &Sockets{out: out, svc: svc, log: log, cfg: cfg.withDefaults(), base: base}
	_ = out.io.On("connection", func(args ...any) {
		if sock, ok := args[0].(*socket.Socket); ok {
			h.connect(sock)
		}
	})
	return h
}

// conn is one client connection. Its events are handled one at a time in
// arrival order (an offer before its ICE candidates, a join before a leave);
// relays are done at once, store commands queue behind each other so that
// a slow store delays no relay.
type conn struct {
	running *sync.WaitGroup
	id      string
	limiter *rate.Limiter

	// order takes events in the order they arrived (see wire.go).
	order    sync.Mutex
	next     seq           // the stamp of the next event to handle
	overtook map[seq][]any // events that arrived before an earlier one
	taking   bool          // a goroutine is handling events in order

	mu       sync.Mutex
	closed   bool // disconnected: later events are dropped
	commands []func()
	busy     bool // a goroutine is draining commands
	// lastRefusalLog rate-limits refusal logs, so a flood is not also a log flood.
	lastRefusalLog time.Time
}

func (h *Sockets) connect(sock *socket.Socket) {
	c := &conn{
		running: &h.running,
		id:      string(sock.Id()),
		limiter: rate.NewLimiter(rate.Limit(h.cfg.EventsPerSecond), h.cfg.EventBurst),
		next:    1,
	}
	h.svc.Connect(c.id)
	sock.OnAny(func(args ...any) { h.arrive(c, args) })
	_ = sock.On("disconnect", func(...any) {
		// Queued after the connection's pending commands, and never refused;
		// events still on their way are dropped: a join must not outlive
		// the connection.
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.enqueue(func() {
			ctx, cancel := context.WithTimeout(h.base, h.cfg.OpTimeout)
			defer cancel()
			if err := h.svc.Disconnect(ctx, c.id); err != nil {
				h.log.Error("disconnect cleanup failed", "socket", c.id, "err", err)
			}
		}, false)
	})
}

// arrive takes an event from the library, which may deliver the events of
// one connection in any order, and handles the events in their stamps' order.
func (h *Sockets) arrive(c *conn, args []any) {
	n, args, ok := takeSeq(args)
	if !ok {
		h.log.Error("event without sequence stamp: is handler.Parser installed?", "socket", c.id)
		return
	}
	c.order.Lock()
	if c.taking || n != c.next {
		// Another goroutine is handling events, or an earlier event is
		// still on its way: whoever handles that one takes this one next.
		if c.overtook == nil {
			c.overtook = make(map[seq][]any)
		}
		c.overtook[n] = args
		c.order.Unlock()
		return
	}
	c.taking = true
	for {
		c.next++
		c.order.Unlock()
		h.onEvent(c, args)
		c.order.Lock()
		var ok bool
		if args, ok = c.overtook[c.next]; !ok {
			c.taking = false
			c.order.Unlock()
			return
		}
		delete(c.overtook, c.next)
	}
}

func (h *Sockets) onEvent(c *conn, args []any) {
	if len(args) == 0 || c.isClosed() {
		return
	}
	name, _ := args[0].(string)
	args = args[1:]
	var ack socket.Ack
	if n := len(args); n > 0 {
		if a, ok := args[n-1].(socket.Ack); ok {
			ack, args = a, args[:n-1]
		}
	}
	if !c.limiter.Allow() {
		h.refuse(c, name, ack, refuse("too many events"))
		return
	}
	switch name {
	case "join-queue":
		p, err := decodeProfile(args)
		if err != nil {
			h.refuse(c, name, ack, err)
			return
		}
		h.command(c, name, ack, func(ctx context.Context) error { return h.svc.Join(ctx, c.id, p) })
	case "next":
		h.command(c, name, ack, func(ctx context.Context) error { return h.svc.Next(ctx, c.id) })
	case "leave-queue":
		h.command(c, name, ack, func(ctx context.Context) error { return h.svc.Leave(ctx, c.id) })
	case "signal":
		h.reply(c, name, ack, h.relaySignal(c, args))
	case "chat-message":
		h.reply(c, name, ack, h.relayChat(c, args))
	default:
		h.refuse(c, name, ack, refuse("unknown event"))
	}
}

// command runs a store command after the connection's earlier ones.
func (h *Sockets) command(c *conn, name string, ack socket.Ack, run func(context.Context) error) {
	ok := c.enqueue(func() {
		ctx, cancel := context.WithTimeout(h.base, h.cfg.OpTimeout)
		defer cancel()
		h.reply(c, name, ack, run(ctx))
	}, true)
	if !ok {
		h.refuse(c, name, ack, refuse("too many pending requests"))
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
	c.running.Add(1)
	c.mu.Unlock()
	// A goroutine only while there is work: idle connections cost none.
	go c.drain()
	return true
}

func (c *conn) drain() {
	for {
		c.mu.Lock()
		if len(c.commands) == 0 {
			c.busy = false
			c.mu.Unlock()
			c.running.Done()
			return
		}
		cmd := c.commands[0]
		c.commands[0] = nil
		c.commands = c.commands[1:]
		c.mu.Unlock()
		cmd()
	}
}

func (h *Sockets) relaySignal(c *conn, args []any) error {
	sig, err := decodeSignal(args)
	if err != nil {
		return err
	}
	if partner, ok := h.svc.Partner(c.id); !ok || partner != sig.to {
		return refuse("not your partner")
	}
	h.out.deliver(sig.to, "signal", signalPayload{From: c.id, Data: sig.data})
	return nil
}

func (h *Sockets) relayChat(c *conn, args []any) error {
	msg, err := decodeChat(args)
	if err != nil {
		return err
	}
	partner, ok := h.svc.Partner(c.id)
	if !ok {
		return refuse("no partner")
	}
	h.out.deliver(partner, "chat-message", chatPayload{From: c.id, Message: msg, Timestamp: time.Now().UnixMilli()})
	return nil
}

// reply answers the client's ack, if it asked for one, and logs refusals.
func (h *Sockets) reply(c *conn, name string, ack socket.Ack, err error) {
	if err == nil {
		if ack != nil {
			ack([]any{map[string]any{"ok": true}}, nil)
		}
		return
	}
	h.refuse(c, name, ack, err)
}

func (h *Sockets) refuse(c *conn, name string, ack socket.Ack, err error) {
	msg := "temporarily unavailable"
	var r refusal
	switch {
	case errors.As(err, &r):
		msg = r.reason
	case errors.Is(err, queue.ErrBusy):
		msg = queue.ErrBusy.Error()
	case errors.Is(err, queue.ErrNotJoined):
		msg = queue.ErrNotJoined.Error()
	default:
		h.log.Error("request failed", "socket", c.id, "event", name, "err", err)
	}
	if ack != nil {
		ack([]any{map[string]any{"ok": false, "error": msg}}, nil)
	}
	c.mu.Lock()
	now := time.Now()
	logIt := now.Sub(c.lastRefusalLog) >= time.Second
	if logIt {
		c.lastRefusalLog = now
	}
	c.mu.Unlock()
	if logIt {
		h.log.Warn("input refused", "socket", c.id, "event", name, "reason", msg)
	}
}

// The payloads the server emits. Structs, not maps: encoding/json sorts a
// map's keys and reflects on every value, which made map payloads the
// relay's largest cost. The msgpack tags name the fields for the Redis
// adapter, which carries relays to sockets on other instances.
type (
	matchedPayload struct {
		RoomID      string `json:"roomId" msgpack:"roomId"`
		PartnerID   string `json:"partnerId" msgpack:"partnerId"`
		PartnerName string `json:"partnerName" msgpack:"partnerName"`
		IsInitiator bool   `json:"isInitiator" msgpack:"isInitiator"`
	}
	partnerLeftPayload struct {
		Reason string `json:"reason" msgpack:"reason"`
	}
	signalPayload struct {
		From string `json:"from" msgpack:"from"`
		Data any    `json:"data" msgpack:"data"`
	}
	chatPayload struct {
		From      string `json:"from" msgpack:"from"`
		Message   string `json:"message" msgpack:"message"`
		Timestamp int64  `json:"timestamp" msgpack:"timestamp"`
	}
)

// Announcer delivers the matchmaking service's announcements as Socket.IO
// events; it implements queue.Notifier.
type Announcer struct {
	io *socket.Server
}

// NewAnnouncer returns an announcer emitting through io.
func NewAnnouncer(io *socket.Server) *Announcer { return &Announcer{io: io} }

// Matched emits "matched" to the user.
func (a *Announcer) Matched(to string, m queue.Match) {
	a.emit(to, "matched", matchedPayload{RoomID: m.RoomID, PartnerID: m.PartnerID, PartnerName: m.PartnerName, IsInitiator: m.Initiator})
}

// PartnerLeft emits "partner-left" to the user.
func (a *Announcer) PartnerLeft(to string, reason queue.Reason) {
	a.emit(to, "partner-left", partnerLeftPayload{Reason: string(reason)})
}

// emit sends to a socket connected here; announcements only concern those.
func (a *Announcer) emit(to, event string, payload any) bool {
	sock, ok := a.io.Sockets().Sockets().Load(socket.SocketId(to))
	if ok {
		_ = sock.Emit(event, payload)
	}
	return ok
}

// deliver emits to a socket: directly when it is connected here, through
// the adapter (Redis, with several instances) when it is elsewhere.
func (a *Announcer) deliver(to, event string, payload any) {
	if !a.emit(to, event, payload) {
		_ = a.io.To(socket.Room(to)).Emit(event, payload)
	}
}

// Wait blocks until the commands of every connection have run (at shutdown,
// after the sockets were closed), or ctx is done.
func (h *Sockets) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		h.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
