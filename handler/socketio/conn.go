package socketio

import (
	"context"
	"strconv"

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
}

// ID is the connection's socket id, unique across instances.
func (c *Conn) ID() string { return c.id }

// Addr is the client's address as the Socket.IO handshake request carried
// it (its RemoteAddr): the library keeps that request for the connection's
// life, for a websocket too, where its own notion of the address is the TCP
// peer's.
func (c *Conn) Addr() string {
	if req := c.sock.Conn().Request(); req != nil && req.Request() != nil {
		return req.Request().RemoteAddr
	}
	return c.sock.Handshake().Address
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
func (c *Conn) RequestID() string {
	if req := c.sock.Conn().Request(); req != nil && req.Request() != nil {
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

// Send writes an event to the connection.
func (c *Conn) Send(f Frame) { write(c.sock, f.b) }

// Ack answers the event whose ack id is id with one argument, payload (JSON).
func (c *Conn) Ack(id uint64, payload []byte) { write(c.sock, ackFrame(id, payload)) }

// Close disconnects the client; the session hears Closed.
func (c *Conn) Close() { c.sock.Disconnect(true) }

// Drop closes the connection at once, its transport discarded with
// whatever waits to be sent to it (Close waits for that to be written, and
// a client that does not read would hold it); the session hears Closed.
func (c *Conn) Drop() { go c.sock.Conn().Close(true) }

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
// concatenated (one copy of a relayed payload, not two). Names are the
// server's own, plain ASCII.
func NewFrame(name string, payload ...string) Frame {
	n := len(name) + 6
	for _, part := range payload {
		n += len(part)
	}
	b := make([]byte, 0, n)
	b = append(b, byte(parser.EVENT), '[', '"')
	b = append(b, name...)
	b = append(b, '"', ',')
	for _, part := range payload {
		b = append(b, part...)
	}
	return Frame{name: name, b: append(b, ']')}
}

// Name is the event's name.
func (f Frame) Name() string { return f.name }

// Payload is the event's payload, as JSON.
func (f Frame) Payload() []byte { return f.b[len(f.name)+5 : len(f.b)-1] }

// ackFrame encodes the acknowledgement id of an event: 3<id>[payload].
func ackFrame(id uint64, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+24)
	b = append(b, byte(parser.ACK))
	b = strconv.AppendUint(b, id, 10)
	b = append(b, '[')
	b = append(b, payload...)
	return append(b, ']')
}
