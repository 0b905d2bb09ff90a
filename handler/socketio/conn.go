package socketio

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/tidwall/gjson"
	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io-go-parser/v2/parser"
	"github.com/zishang520/socket.io/v2/socket"
)

// Session is what the application does with one connection's events.
type Session interface {
	// Event receives the connection's events one at a time, in the order
	// they were sent, on the connection's reading goroutine: it should not
	// block for long.
	Event(Event)
	// Closed is called once when the connection is gone. It may run while
	// an Event call is still under way; no Event call starts after it
	// returns, but one already handed over may follow it. reason is the
	// library's ("transport close", "ping timeout", ...).
	Closed(reason string)
}

// Conn is one client connection to the default namespace.
type Conn struct {
	sock *socket.Socket
	id   string
	auth []byte // JSON object
	// rec is the session's recovery when it is resumable; held what its
	// drop left to hold, set before Session.Closed.
	rec  *recovery
	held *Held
	// addr and requestID, read from the handshake request before the
	// library lets it go (leftover.go).
	addr, requestID string
	// dropped: Drop was called. The connection it closes fails its read
	// too, and that "transport close" may reach the session before the
	// library's "forced close": the session hears the drop either way.
	dropped atomic.Bool
}

// Resumable reports whether the client opted in to resuming its session
// after a drop (auth {resume: true}) and may.
func (c *Conn) Resumable() bool { return c.rec != nil }

// Resumed reports whether this connection took back a held session: the
// socket id is that session's, and the client got what it missed.
func (c *Conn) Resumed() bool {
	if c.rec == nil {
		return false
	}
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	return c.rec.resumed
}

// Held is what the connection's drop left to hold for the resume window,
// read in Session.Closed: nil when the session ends (not resumable, a
// goodbye, Drop). The session must call its Release.
func (c *Conn) Held() *Held { return c.held }

// ID is the connection's socket id, unique across instances.
func (c *Conn) ID() string { return c.id }

// Auth is the auth object the client sent with its namespace connect
// (socket.io-client's auth option: io(url, {auth: {...}})), an empty
// object when it sent none: c.Auth().Get("resume").Bool(). It was decoded
// and encoded again: keys in sorted order, numbers as float64.
func (c *Conn) Auth() gjson.Result { return gjson.ParseBytes(c.auth) }

// Addr is the client's address as the Socket.IO handshake request carried
// it (its RemoteAddr), where the library's own notion of the address, for
// a websocket, is the TCP peer's.
func (c *Conn) Addr() string { return c.addr }

// handshakeAddr is the address Conn.Addr reports for sock, read before the
// handshake request is let go.
func handshakeAddr(sock *socket.Socket) string {
	if req := sock.Conn().Request(); req != nil && req.Request() != nil {
		return req.Request().RemoteAddr
	}
	return sock.Handshake().Address
}

// requestIDKey is the context key of WithRequestID.
type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the HTTP request it serves,
// for the connection that request opens (Conn.RequestID).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the id of the HTTP request that opened the connection (see
// WithRequestID), "" when it had none.
func (c *Conn) RequestID() string { return c.requestID }

// handshakeRequestID is the id Conn.RequestID reports for sock, read before
// the handshake request is let go.
func handshakeRequestID(sock *socket.Socket) string {
	if req := sock.Conn().Request(); req != nil && req.Request() != nil {
		id, _ := req.Request().Context().Value(requestIDKey{}).(string)
		return id
	}
	return ""
}

// Transport is the connection's current transport: "polling" or
// "websocket" (after an upgrade).
func (c *Conn) Transport() string { return transportOf(c.sock) }

func transportOf(sock *socket.Socket) string {
	if t := sock.Conn().Transport(); t != nil {
		return t.Name()
	}
	return ""
}

// Ack answers the event whose ack id is id with the arguments payloads,
// each one JSON value: the client's callback gets them in that order, and
// none at all when there are none.
func (c *Conn) Ack(id uint64, payloads ...[]byte) { write(c.sock, ackFrame(id, payloads...)) }

// Drop closes the connection at once, its transport discarded with
// whatever waits to be sent to it (a graceful close would wait for that to
// be written, and a client that does not read would hold it); the session
// hears Closed.
func (c *Conn) Drop() {
	c.dropped.Store(true)
	if c.rec != nil {
		c.rec.mu.Lock()
		c.rec.noHold = true
		c.rec.mu.Unlock()
	}
	go c.sock.Conn().Close(true)
}

// write sends one encoded Socket.IO packet to the socket's connection. The
// library's Emit would encode the payload again through reflection, and
// copy it once more on its way to the connection. To drop it: once the
// library can emit a payload encoded already (or its Emit costs what a
// write does in make bench), emit through Socket.Emit and drop Frame's
// encoding.
func write(sock *socket.Socket, frame []byte) {
	sock.Conn().Write(types.NewStringBuffer(frame), &packet.Options{}, nil)
}

// Frame is an event encoded once, for any number of writes.
type Frame struct {
	name string
	b    []byte
}

// NewFrame encodes an event of the default namespace as the client decodes
// it: 2["name",payload], the payload (JSON) given as parts that are
// concatenated (one copy of a relayed payload, not two); an event without
// a payload (no parts, or only empty ones) is 2["name"]. Names are the
// server's own, plain ASCII.
func NewFrame(name string, payload ...string) Frame {
	size := 0
	for _, part := range payload {
		size += len(part)
	}
	b := make([]byte, 0, len(name)+6+size)
	b = append(b, byte(parser.EVENT), '[', '"')
	b = append(b, name...)
	b = append(b, '"')
	if size > 0 {
		b = append(b, ',')
		for _, part := range payload {
			b = append(b, part...)
		}
	}
	return Frame{name: name, b: append(b, ']')}
}

// Name is the event's name.
func (f Frame) Name() string { return f.name }

// Payload is the event's payload, as JSON; empty for an event without one.
func (f Frame) Payload() []byte {
	// 2["name"] is len(name)+5 bytes; a payload starts after its comma.
	start := len(f.name) + 5
	if len(f.b) <= start {
		return nil
	}
	return f.b[start : len(f.b)-1]
}

// ackFrame encodes the acknowledgement id of an event with its arguments
// payloads (each JSON): 3<id>[a,b,...], 3<id>[] without arguments.
func ackFrame(id uint64, payloads ...[]byte) []byte {
	size := 24
	for _, p := range payloads {
		size += len(p) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, byte(parser.ACK))
	b = strconv.AppendUint(b, id, 10)
	b = append(b, '[')
	for i, p := range payloads {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p...)
	}
	return append(b, ']')
}
