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
//   - polling POSTs that do not decode refused with 400 (payload.go);
//   - pongs held until their ping's timeout is armed (heartbeat.go);
//   - the bound on what waits to be sent to a client (outbox.go);
//   - the frames written straight to a connection (conn.go);
//   - the ids that would count the instance's sessions (ids.go);
//   - the websocket connections closed when their client leaves
//     (hangup.go);
//   - the sockets ended whose connection closed while the library
//     connected them (Server.connect).
//
// New does the library's setup steps in the order they need.
package socketio

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	eiotypes "github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io/v2/socket"
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
	// instances (several instances); nil for one instance.
	Relay Relay
	// Log receives the package's own warnings. Default: slog.Default().
	Log *slog.Logger

	// ids is the library's id counter, which New reseeds before each id
	// (ids.go); the zero value leaves it alone.
	ids idCounter
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
	opts := serverOptions(o)
	io := socket.NewServer(nil, opts)
	// ServeHandler makes the engine: the read gates' listener must come
	// after Socket.IO's own on it.
	s := newServer(io, io.ServeHandler(opts), o)
	if o.Relay != nil {
		s.relay = o.Relay
		s.relay.Start(ctx, func(to string, frame []byte) { s.sendLocal(to, frame) })
	}
	watchOutboxes(io, outboxLimits{MaxBytes: o.MaxBacklog, MaxWait: o.PingTimeout}, o.Log)
	return s
}

// serverOptions are the library's options for o. The parser must be set
// before socket.NewServer, which takes its decoder from there.
func serverOptions(o Options) *socket.ServerOptions {
	opts := socket.DefaultServerOptions()
	opts.SetServeClient(false)
	opts.SetParser(newParser(o.ids))
	opts.SetConnectTimeout(o.ConnectTimeout)
	opts.SetPingInterval(o.PingInterval)
	opts.SetPingTimeout(o.PingTimeout)
	opts.SetMaxHttpBufferSize(o.MaxMessageSize)
	opts.SetTransports(eiotypes.NewSet("polling", "websocket"))
	return opts
}

// newServer wraps io, whose engine serves engine and already exists.
func newServer(io *socket.Server, engine http.Handler, o Options) *Server {
	s := &Server{io: io, handler: boundRequests(refuseUndecodable(io, o.Log, hangUp(io, slimRequest(engine))), o), log: o.Log, ids: o.ids}
	openReadGates(io)
	watchSessionEnds(io)
	closeAtSessionEnd(io)
	watchHeartbeats(io, o.PingTimeout, o.Log) // heartbeat.go
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
	if !ok || onConnect == nil {
		s.log.Error("socket without event link or connect callback", "socket", sock.Id())
		sock.Disconnect(true)
		return
	}
	id := string(sock.Id())
	if s.relay != nil {
		s.relay.Join(id)
	}
	sess := onConnect(&Conn{sock: sock, id: id, auth: l.auth})
	// Once, whichever of the two calls below comes first.
	var once sync.Once
	closed := func(reason string) {
		once.Do(func() {
			if s.relay != nil {
				s.relay.Leave(id)
			}
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
	return s.sendLocal(to, f.b)
}

func (s *Server) sendLocal(to string, frame []byte) bool {
	sock, ok := s.io.Sockets().Sockets().Load(socket.SocketId(to))
	if ok {
		write(sock, frame)
	}
	return ok
}

// DropLocal closes the connection of the socket id when it is connected to
// this instance (as Conn.Drop), and reports whether it was.
func (s *Server) DropLocal(to string) bool {
	sock, ok := s.io.Sockets().Sockets().Load(socket.SocketId(to))
	if ok {
		go sock.Conn().Close(true)
	}
	return ok
}

// Send writes f to the socket id: directly when it is connected here,
// through the relay (with several instances) when it is elsewhere.
// A socket connected nowhere gets nothing.
func (s *Server) Send(to string, f Frame) {
	if s.SendLocal(to, f) || s.relay == nil {
		return
	}
	s.relay.Send(to, f.b)
}

// Close closes every connection (each session hears Closed) and the
// endpoint.
func (s *Server) Close() { s.io.Close(nil) }
