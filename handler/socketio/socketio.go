// Package socketio is the wall around the Socket.IO library
// (github.com/zishang520/socket.io and its engine and parser): the only
// package that imports it. It serves the Socket.IO
// endpoint as an http.Handler, hands each connection's events to the
// application in the order they were sent, and writes events and acks.
// Frames for a socket on another instance go through a Relay, which the
// caller provides (store/redisrelay over Redis): no Redis here.
//
// The library needs workarounds, each in this package with the defect it
// answers and how to drop it once the library fixes it:
//   - the event path that replaces the library's, and the client's auth
//     object carried beside it (wire.go);
//   - the read gate of new websockets and of upgrades (gate.go);
//   - the bounded and trimmed requests (boundRequests, slimRequest);
//   - a polling answer sealed when its handler returns (lateanswer.go);
//   - polling POSTs that do not decode refused with 400 (payload.go);
//   - pongs held until their ping's timeout is armed (heartbeat.go), on
//     the sessions that keep the library's heartbeat;
//   - the heartbeat of websocket sessions, a runtime timer in place of
//     the library's goroutines (wsheartbeat.go);
//   - the bound on what waits to be sent to a client, and what was sent
//     let go (outbox.go);
//   - the frames written straight to a connection (conn.go);
//   - the websocket transport: a batch in one write, an idle connection
//     waiting with no goroutine (internal/netwait) or read from a fresh
//     stack, and the engine's listeners in a slice (wstransport.go,
//     wsevents.go);
//   - the handshake request and its copies, and what else a connected
//     socket keeps that nothing reads, let go (leftover.go);
//   - the ids that would count the instance's sessions (ids.go);
//   - the websocket connections closed when their client leaves
//     (hangup.go);
//   - the sockets ended whose connection closed while the library
//     connected them, and a goodbye or a Drop heard as such whatever the
//     library reports first (Server.connect, link.sayGoodbye);
//   - the connection state recovery of the clients that opt in, with the
//     connect reply that names a resumed session (resume.go).
//
// New does the library's setup steps in the order they need.
package socketio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	eiotypes "github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io/v2/socket"

	"github.com/zivro/zivro/internal/netwait"
)

// Options configure the endpoint. The zero value of a field means its
// default.
type Options struct {
	// PingInterval and PingTimeout: a silent client is dropped after
	// PingInterval + PingTimeout. Defaults DefaultPingInterval and
	// DefaultPingTimeout.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// ConnectTimeout is how long a connection may stay without joining the
	// namespace, holding its memory; a client sends its connect right after
	// the open packet, and one on a slow network well within this. Default
	// defaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxMessageSize caps one client message on every transport; a larger
	// one closes the sender's connection. Default 48 KiB: below the 64 KiB
	// beyond which the library's polling parser drops the session (keep it
	// there), above what a capped signal (32 KB of data) needs.
	MaxMessageSize int64
	// MaxBacklog caps the bytes waiting to be sent to one client; a client
	// over it, or whose backlog has not been taken by the transport within
	// PingTimeout, is disconnected (outbox.go). Default DefaultMaxBacklog.
	MaxBacklog int64
	// Relay, when set, carries frames to sockets connected to other
	// instances (several instances); nil for one instance. Its Send keeps
	// a frame for a held socket (see Resumer) when a Resumer is set.
	Relay Relay
	// ResumeWait bounds how long a resume waits for the session's old
	// connection, still open somewhere, to be handed over. Default
	// DefaultResumeWait.
	ResumeWait time.Duration
	// Log receives the package's own warnings. Default: slog.Default().
	Log *slog.Logger

	// ids is the library's id counter, which New reseeds before each id
	// (ids.go); the zero value leaves it alone.
	ids idCounter
	// waitInReads: idle websockets wait for their next message on a
	// goroutine each, as without a poller (for the tests of that way).
	waitInReads bool
	// poller, made by New, watches idle websockets (internal/netwait).
	poller *netwait.Poller
}

// A silently dead client is noticed within DefaultPingInterval +
// DefaultPingTimeout: 20 s, where the original's 25 s + 60 s left it in the
// queue for 85 s.
const (
	DefaultPingInterval = 10 * time.Second
	DefaultPingTimeout  = 10 * time.Second
)

// DefaultMaxBacklog is MaxBacklog's default: a few seconds of a call's
// signalling and chat, and 20 full-size signals, at any speed a client that
// reads can take.
const DefaultMaxBacklog = 1 << 20

// DefaultMaxMessageSize is MaxMessageSize's default.
const DefaultMaxMessageSize = 48 << 10

// defaultConnectTimeout is ConnectTimeout's default.
const defaultConnectTimeout = 8 * time.Second

func (o Options) withDefaults() Options {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxBacklog <= 0 {
		o.MaxBacklog = DefaultMaxBacklog
	}
	if o.ResumeWait <= 0 {
		o.ResumeWait = DefaultResumeWait
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Server is the Socket.IO endpoint. It is an http.Handler for the
// /socket.io/ path.
type Server struct {
	io      *socket.Server
	handler http.Handler // the library's, behind slimRequest
	log     *slog.Logger

	// onConnect is set once by OnConnect, before the server is served.
	mu        sync.Mutex
	onConnect func(*Conn) Session
	// draining is set by Drain: new sessions are refused.
	draining atomic.Bool
	// relay carries frames to sockets on other instances; nil for one
	// instance.
	relay Relay
	// ids is reseeded before each handshake (ids.go).
	ids idCounter

	// conns are the sessions connected here (or being claimed, dropped),
	// by the socket id their client knows: *liveConn.
	conns sync.Map
	// resumer holds dropped resumable sessions; nil: resuming is off.
	resumer    Resumer
	resumeWait time.Duration
	// base bounds the store calls of claims and keeps.
	base context.Context
	// leftovers replaces the handshake requests of connected sockets.
	leftovers leftovers
	// poller watches idle websockets; nil: each waits on a goroutine.
	poller *netwait.Poller
}

// liveConn is a session's connection on this instance: a plain socket, or
// a resumable one's recovery (which holds its socket).
type liveConn struct {
	sock *socket.Socket
	rec  *recovery
}

// New builds the endpoint. ctx bounds the relay's deliveries (Relay.Start);
// the endpoint serves nothing until OnConnect is called.
func New(ctx context.Context, o Options) *Server {
	o = o.withDefaults()
	ids, err := newIDCounter()
	if err != nil {
		o.Log.Error("socket ids reveal the instance's count of sessions", "err", err)
	}
	o.ids = ids
	if !o.waitInReads {
		poller, err := netwait.New()
		switch {
		case err == nil:
			o.poller = poller
		case !errors.Is(err, netwait.ErrUnsupported):
			o.Log.Error("idle websockets wait on a goroutine each", "err", err)
		}
	}
	ref := &serverRef{}
	opts := serverOptions(o, ref)
	io := socket.NewServer(nil, opts)
	// ServeHandler makes the engine: the read gates' listener must come
	// after Socket.IO's own on it.
	s := newServer(io, io.ServeHandler(opts), o)
	s.resumeWait, s.base = o.ResumeWait, ctx
	ref.mu.Lock()
	ref.s = s
	ref.mu.Unlock()
	if o.Relay != nil {
		s.relay = o.Relay
		s.relay.Start(ctx, func(to string, frame []byte) { s.sendFrom(to, frame, true) })
	}
	watchOutboxes(io, outboxLimits{MaxBytes: o.MaxBacklog, MaxWait: o.PingTimeout}, o.Log)
	return s
}

// serverOptions are the library's options for o. The parser must be set
// before socket.NewServer, which takes its decoder from there.
func serverOptions(o Options, ref *serverRef) *socket.ServerOptions {
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetParser(newParser(o.ids, ref))
	opts.SetConnectTimeout(o.ConnectTimeout)
	opts.SetPingInterval(o.PingInterval)
	opts.SetPingTimeout(o.PingTimeout)
	opts.SetMaxHttpBufferSize(o.MaxMessageSize)
	opts.SetTransports(eiotypes.NewSet("polling", "websocket"))
	return opts
}

// newServer wraps io, whose engine serves engine and already exists.
func newServer(io *socket.Server, engine http.Handler, o Options) *Server {
	s := &Server{io: io, handler: boundRequests(refuseUndecodable(io, o.Log, hangUp(io, slimRequest(engine, o.poller))), o), log: o.Log, ids: o.ids, base: context.Background(), leftovers: newLeftovers(), poller: o.poller}
	watchSessionEnds(io)
	closeAtSessionEnd(io)
	// Before the read gate opens: the first pong goes to the heartbeat
	// in place.
	watchHeartbeats(io, o) // heartbeat.go, wsheartbeat.go
	// Last of the listeners that read the handshake request: the client's
	// namespace connect, read once the gate opens, lets it go (leftover.go).
	openReadGates(io)
	_ = io.On("connection", func(args ...any) {
		if sock, ok := args[0].(*socket.Socket); ok {
			s.connect(sock)
		}
	})
	return s
}

// OnConnect sets the callback for every new connection; call it once,
// before the server is served. The returned session receives the
// connection's events.
func (s *Server) OnConnect(fn func(*Conn) Session) {
	s.mu.Lock()
	s.onConnect = fn
	s.mu.Unlock()
}

// ResumeWith lets the clients that opt in resume their session after a
// drop, held by r (resume.go); call it once, before the server is served.
// Without it nobody resumes: every client is treated as the original one.
func (s *Server) ResumeWith(r Resumer) {
	s.mu.Lock()
	s.resumer = r
	s.mu.Unlock()
}

func (s *Server) resumerOf() Resumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumer
}

// ServeHTTP serves the Socket.IO endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if IsHandshake(r) {
		if s.draining.Load() {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "server shutting down", http.StatusServiceUnavailable)
			return
		}
		s.ids.reseed() // the engine makes the session's id
	}
	serveEnded(s.handler, w, r)
}

// Drain refuses new sessions (503 to their handshakes) from now on; the
// sessions already open go on until Close. The client retries, and a load
// balancer sends it to another instance.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) connect(sock *socket.Socket) {
	s.mu.Lock()
	onConnect := s.onConnect
	s.mu.Unlock()
	l, ok := takeLink(sock.Handshake().Auth)
	addr, requestID := handshakeAddr(sock), handshakeRequestID(sock)
	s.leftovers.drop(sock) // leftover.go
	if !ok || onConnect == nil {
		s.log.Error("socket without event link or connect callback", "socket", sock.Id())
		sock.Disconnect(true)
		return
	}
	id := string(sock.Id())
	entry := &liveConn{sock: sock}
	rec := l.rec
	if rec != nil {
		// A resumed session is in conns since its claim, with its relay
		// joined; a new one is named by its connect reply.
		if !rec.connected(sock) {
			sock.Disconnect(true) // abandoned: held again already
			return
		}
		rec.mu.Lock()
		if rec.id == "" { // its connect reply was never encoded
			rec.id, rec.pid = id, newPID(id)
			rec.pidHash = PIDHash(rec.pid)
		}
		if rec.entry == nil { // a new session
			rec.entry = &liveConn{rec: rec}
		}
		id, entry = rec.id, rec.entry
		resumed := rec.resumed
		rec.mu.Unlock()
		if !resumed {
			s.conns.Store(id, entry)
			if s.relay != nil {
				s.relay.Join(id)
			}
		}
	} else {
		s.conns.Store(id, entry)
		if s.relay != nil {
			s.relay.Join(id)
		}
	}
	conn := &Conn{sock: sock, id: id, auth: l.auth, rec: rec, addr: addr, requestID: requestID}
	sess := onConnect(conn)
	// Once, whichever of the two calls below comes first.
	var once sync.Once
	closed := func(reason string) {
		// Whatever the library saw first: the client's goodbye (wire.go),
		// or the server's drop.
		switch {
		case l.saidGoodbye():
			reason = clientGoodbye
		case conn.dropped.Load():
			reason = serverDrop
		}
		once.Do(func() {
			var held *Held
			if rec != nil {
				held = rec.drop(reason)
			}
			if held == nil {
				s.forget(id, entry)
			}
			conn.held = held
			sess.Closed(reason)
		})
	}
	_ = sock.On("disconnect", func(args ...any) {
		reason, _ := firstString(args)
		closed(reason)
	})
	// end ends a socket the library may never report: the session hears
	// Closed, and the library's namespace lets the socket go.
	end := func(reason string) {
		closed(reason)
		sock.Disconnect(false) // nothing when the library has let it go
	}
	// The library's namespace connect runs on a goroutine of its own, which
	// writes the connect reply and only then stores the socket in its
	// client; a client's namespace disconnect ("41") or the connection's
	// close handled in that gap finds no socket to end, and the socket
	// stayed connected for ever, with no connection behind it (7 of 124,949
	// connect-then-leave sessions). Whatever the client sent, the connection
	// has begun closing by now, or will close later: the listener ends the
	// socket when the connection closes, the check when it closed before
	// the listener was in place (the connection's state changes before its
	// "close" event). To drop it: once the library stores the socket before
	// it answers the connect, or ends the sockets it stores after the close,
	// TestSessionsThatLeaveDuringTheConnectEnd shows it without these lines.
	_ = sock.Conn().Once("close", func(args ...any) {
		reason, _ := firstString(args)
		end(reason)
	})
	if !sock.Connected() || sock.Conn().ReadyState() != "open" {
		// Gone before the listeners above were in place.
		end("transport close")
		return
	}
	l.attach(sess.Event)
	s.leftovers.settle(sock) // leftover.go
}

// The library's close reasons for a client's namespace disconnect and for
// Conn.Drop.
const (
	clientGoodbye = "client namespace disconnect"
	serverDrop    = "forced close"
)

// forget removes a session's place here, when it is still entry's, and
// stops its relay.
func (s *Server) forget(id string, entry *liveConn) {
	if v, ok := s.conns.Load(id); entry == nil || !ok || v != entry {
		return
	}
	// Unsubscribed before the place is free: a claim of the same session
	// that takes the place subscribes after this, never before.
	if s.relay != nil {
		s.relay.Leave(id)
	}
	s.conns.CompareAndDelete(id, entry)
}

// firstString is args[0] when it is a string.
func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// Transports counts the connections to this instance by their current
// transport ("polling", "websocket").
func (s *Server) Transports() map[string]int {
	counts := make(map[string]int, 2)
	s.io.Sockets().Sockets().Range(func(_ socket.SocketId, sock *socket.Socket) bool {
		counts[transportOf(sock)]++
		return true
	})
	return counts
}

// SendLocal writes f to the socket id when it is connected to this
// instance, and reports whether it was.
func (s *Server) SendLocal(to string, f Frame) bool {
	return s.sendFrom(to, f.b, false)
}

// sendFrom handles a frame for socket to, sent on this instance or relayed
// from another (relayed): written, or kept for a resuming or dropping
// session; false when the socket is not here.
func (s *Server) sendFrom(to string, frame []byte, relayed bool) bool {
	v, ok := s.conns.Load(to)
	if !ok {
		return false
	}
	lc := v.(*liveConn)
	if isControl(frame) {
		if lc.rec != nil && strings.HasPrefix(string(frame), takeoverPrefix) {
			lc.rec.requestClose(string(frame[len(takeoverPrefix):]))
		}
		return true
	}
	if lc.rec == nil {
		write(lc.sock, frame)
		return true
	}
	return lc.rec.send(frame, relayed)
}

// DropLocal closes the connection of the socket id when it is connected to
// this instance (as Conn.Drop), and reports whether it was.
func (s *Server) DropLocal(to string) bool {
	v, ok := s.conns.Load(to)
	if !ok {
		return false
	}
	lc := v.(*liveConn)
	sock := lc.sock
	if r := lc.rec; r != nil {
		// Dropped for good: its session is not held for a resume.
		r.mu.Lock()
		r.noHold, sock = true, r.sock
		r.mu.Unlock()
	}
	if sock == nil {
		return false // being claimed or dropped: not connected here
	}
	go sock.Conn().Close(true)
	return true
}

// Send writes f to the socket id: directly when it is connected here,
// through the relay (with several instances) when it is elsewhere, kept
// when its session is held. A socket connected nowhere gets nothing.
func (s *Server) Send(to string, f Frame) {
	if s.sendFrom(to, f.b, false) {
		return
	}
	if !s.keepElsewhere(to, f.b) {
		// Claimed meanwhile: the claim holds its place here now.
		s.sendFrom(to, f.b, false)
	}
}

// keepElsewhere sends frame to a socket not connected here: the relay
// publishes it or keeps it for the held session; without a relay, the
// Resumer keeps it when it is held. It reports false only when the
// Resumer found no held session (nobody has the frame).
func (s *Server) keepElsewhere(to string, frame []byte) bool {
	if s.relay != nil {
		s.relay.Send(to, frame)
		return true
	}
	resumer := s.resumerOf()
	if resumer == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(s.base, s.resumeWait)
	defer cancel()
	kept, err := resumer.Keep(ctx, to, frame)
	if err != nil {
		s.log.Warn("frame for a held session lost", "socket", to, "err", err)
		return true
	}
	return kept
}

// Handover closes the connections of the resumable clients (at shutdown,
// after Drain) and waits, until ctx is done, for their sessions to be held:
// their clients reconnect, through the load balancer, to another instance
// and resume there. It returns how many it handed over.
func (s *Server) Handover(ctx context.Context) int {
	var handed []*recovery
	s.conns.Range(func(_, v any) bool {
		r := v.(*liveConn).rec
		if r == nil {
			return true
		}
		r.mu.Lock()
		if r.state == live && r.sock != nil {
			r.holdClose = true
			// A close, not a namespace disconnect: the client reconnects.
			go r.sock.Conn().Close(true)
			handed = append(handed, r)
		}
		r.mu.Unlock()
		return true
	})
	for _, r := range handed {
		for !r.ended() {
			select {
			case <-ctx.Done():
				return len(handed)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return len(handed)
}

// Close closes every connection (each session hears Closed) and the
// endpoint.
func (s *Server) Close() {
	s.io.Close(nil)
	if s.poller != nil {
		_ = s.poller.Close()
	}
}
