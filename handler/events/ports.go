package events

import (
	"context"
	"time"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/queue"
)

// Conn is one client connection as the handler uses it (a *socketio.Conn).
type Conn interface {
	ID() string
	// Addr is the client's address (see socketio.Conn.Addr).
	Addr() string
	// RequestID is the id of the HTTP request that opened the connection.
	RequestID() string
	// Transport is the connection's transport ("polling", "websocket").
	Transport() string
	// Ack answers the event whose ack id is id with payloads (JSON
	// values, its arguments).
	Ack(id uint64, payloads ...[]byte)
	// Drop closes the connection at once, with whatever waits to be sent
	// to it (the client may not be reading); it is not held.
	Drop()
	// Resumed reports whether the connection took back a held session.
	Resumed() bool
	// Held is what the connection's drop left to hold (read in Closed),
	// nil when the session ends; see socketio.Conn.Held.
	Held() *socketio.Held
}

// Sender writes events to sockets (a *socketio.Server).
type Sender interface {
	// Send writes f to the socket, wherever it is connected.
	Send(to string, f socketio.Frame)
	// SendLocal writes f to the socket if it is connected to this
	// instance, and reports whether it was.
	SendLocal(to string, f socketio.Frame) bool
	// DropLocal closes the socket's connection if it is connected to this
	// instance, and reports whether it was.
	DropLocal(to string) bool
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
	Report(ctx context.Context, id, reason string, evidence *queue.Evidence) error
	Block(ctx context.Context, id string) error
	Hold(ctx context.Context, id string, h queue.HeldSession) error
	Resume(ctx context.Context, id, pidHash string, after uint64) (queue.Resumed, error)
	Keep(ctx context.Context, id string, frame []byte) (bool, error)
}
