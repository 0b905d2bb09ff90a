package socketio

import (
	"context"
	"net/http"
	"net/url"

	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io/v2/socket"
)

// The library keeps what a connection's handshake brought for as long as
// the connection lasts: the Engine.IO socket its first request (the
// request, its context and the values in it, the engine's copies of its
// headers, query and response headers), the Socket.IO handshake copies of
// the headers and query. Nothing reads them once the namespace connect
// has built the Socket.IO handshake (the engine reads the request when it
// makes the socket, Socket.IO when it builds the handshake of the one
// namespace the client may join); they were 4 kB of an idle connection's
// heap. leftovers.drop lets them go once the socket is connected: the
// request is replaced by an empty one, shared by every connection
// (Conn.Addr and Conn.RequestID read what they need before), the
// engine's listener that holds it too is removed from the transport, and
// the handshake's copies are emptied, its auth object too (the map the
// wall's decoder made to pass the connection's link, empty once the link
// is taken: 0.6 kB). The engine socket's field is found by
// reflection and checked for its type; a library without it keeps the
// request, which costs only memory.
//
// The wall's own readers of the request (the read gate, the session end,
// the hang-up) read it while the engine announces the connection, before
// the client can send its namespace connect: a websocket's reads wait for
// the read gate, which opens last (newServer); a polling handshake's
// answer is sent once the engine has announced the connection.
//
// The same goes for two things the library keeps for the connection's
// life that nothing here reads: the room of the socket's own id, and the
// second copies of its event maps (leftovers.settle, once the listeners
// are in place).
//
// To drop it: once the library lets the handshake request go after
// connecting (and keeps only the headers and query it uses), remove
// leftovers from Server; TestConnectedSocketsLetTheHandshakeRequestGo
// shows whether it does.

// leftovers replaces the handshake requests of connected sockets.
type leftovers struct {
	empty *types.HttpContext
}

func newLeftovers() leftovers {
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{}, Header: http.Header{}}).WithContext(context.Background())
	empty := types.NewHttpContext(emptyResponse{}, r)
	empty.Flush() // ends the goroutine that waits for the request to be answered
	return leftovers{empty: empty}
}

// drop lets go of what sock's handshake left, and reports whether the
// engine's request could be replaced.
func (l leftovers) drop(sock *socket.Socket) bool {
	hs := sock.Handshake()
	hs.Headers, hs.Query, hs.Auth = nil, nil, nil
	if t := sock.Conn().Transport(); t != nil {
		// The engine's listener of the handshake's transport holds the
		// request too; it only sets the session cookie (none here) and
		// passes the polling transport's headers on to the server's own
		// "headers" events, which nobody here listens to. The websocket
		// transport never emits them.
		t.RemoveAllListeners("headers")
	}
	// The room of the socket's own id, which the library joins every
	// socket to: only a broadcast to that id (io.to(id)) would read it, and
	// the application sends to a socket directly. The adapter kept two
	// sets and two map entries a socket for it (with settle's maps, 0.7 kB
	// a connection).
	sock.Nsp().Adapter().DelAll(sock.Id())
	return l.replaceRequest(sock.Conn())
}

// settle makes each of the connection's event maps keep one copy of its
// entries, once its listeners are in place. The library's maps are
// sync.Map's design: storing a new key copies the read-only map into a
// second, writable one, which replaces the first only after as many
// lookups of missing keys as it holds entries; a connection that goes
// idle once connected makes none, and kept both copies of the engine
// socket's, its polling transport's, the Socket.IO socket's and client's
// maps (the wall's websocket transport keeps its listeners in a slice,
// wsevents.go). Listing a map's keys promotes the copy at once (Range).
func (l leftovers) settle(sock *socket.Socket) {
	sock.EventNames()
	conn := sock.Conn()
	conn.EventNames()
	if t := conn.Transport(); t != nil {
		t.EventNames()
	}
	if nsps, ok := fieldOf[*types.Map[string, *socket.Socket]](sock.Client(), "nsps"); ok {
		(*nsps).Len()
	}
}

func (l leftovers) replaceRequest(conn engine.Socket) bool {
	request, ok := fieldOf[*types.HttpContext](conn, "request")
	if ok {
		*request = l.empty
	}
	return ok
}

// emptyResponse is the response writer of the empty request: nobody
// writes to it.
type emptyResponse struct{}

func (emptyResponse) Header() http.Header         { return http.Header{} }
func (emptyResponse) Write(b []byte) (int, error) { return len(b), nil }
func (emptyResponse) WriteHeader(int)             {}
