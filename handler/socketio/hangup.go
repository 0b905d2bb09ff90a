package socketio

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"

	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/socket.io/v2/socket"
)

// The library's websocket transport never closes the connection of a
// client that leaves. When its reader sees the client go (a close frame,
// or the TCP connection closed), it marks itself closed before it tells
// the Engine.IO socket; the socket then asks the transport to close, and
// the transport, closed already, does nothing. The connection's descriptor
// then stays open until the garbage collector finalizes it (1,621 at once
// from one address in 40 s; 3,000 of 3,000 sessions that sent a close
// frame). The wall closes a websocket's connection itself:
//   - at its first failed read (the peer's TCP close): the websocket
//     library's read errors are final, so nothing is lost;
//   - when its Engine.IO session ends (a close frame, after which nobody
//     reads the connection again; a ping timeout; the server's own close):
//     for a websocket that opened the session, from the engine's
//     "connection" event (closeAtSessionEnd), for one that upgraded a
//     polling session, once the upgrade has been served (hangUp).
//
// To drop it: once the library's websocket transport closes its connection
// when the client leaves, remove hangUp from newServer and
// closeAtSessionEnd from it; TestClosedWebsocketsGiveTheirDescriptorsBack
// shows whether it has.

// hangup is the connection a websocket request took over, to be closed at
// the end of its session.
type hangup struct {
	mu    sync.Mutex
	conn  net.Conn
	ended bool
}

// take keeps the connection; one taken after the session ended is closed.
func (h *hangup) take(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		_ = c.Close()
		return
	}
	h.conn = c
}

// close closes the connection, now or once it is taken.
func (h *hangup) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	if h.conn != nil {
		_ = h.conn.Close()
	}
}

type hangupKey struct{}

func hangupOf(ctx context.Context) *hangup {
	h, _ := ctx.Value(hangupKey{}).(*hangup)
	return h
}

// hangUp serves next with every websocket request's connection closed at
// its first failed read and when its session ends. A websocket that opens
// a session is tied to it by closeAtSessionEnd; one that upgrades a
// polling session is tied to it here, once the upgrade has been served.
func hangUp(io *socket.Server, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok || !isWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		h := &hangup{}
		r = r.WithContext(context.WithValue(r.Context(), hangupKey{}, h))
		next.ServeHTTP(hangUpWriter{ResponseWriter: w, hijacker: hj, hangup: h}, r)
		if IsHandshake(r) {
			return
		}
		session, ok := io.Engine().Clients().Load(sessionID(r.URL.Query()))
		if !ok {
			h.close() // the session is gone (or never was): nothing to upgrade
			return
		}
		_ = session.Once("close", func(...any) { h.close() })
		// The session's state changes before its "close" event: one that
		// closed before the listener was in place is seen here.
		if session.ReadyState() == "closed" {
			h.close()
		}
	})
}

// closeAtSessionEnd ties the connection of each websocket that opens an
// Engine.IO session to the session's end. Like watchSessionEnds, it runs
// during the handshake request, after the connection was taken over.
func closeAtSessionEnd(io *socket.Server) {
	_ = io.Engine().On("connection", func(args ...any) {
		conn, ok := args[0].(engine.Socket)
		if !ok {
			return
		}
		if h := hangupOf(conn.Request().Request().Context()); h != nil {
			_ = conn.Once("close", func(...any) { h.close() })
			// The read gate may open before this listener runs: a session
			// the client closed at once may have closed already.
			if conn.ReadyState() == "closed" {
				h.close()
			}
		}
	})
}

type hangUpWriter struct {
	http.ResponseWriter
	hijacker http.Hijacker
	hangup   *hangup
}

func (w hangUpWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.hijacker.Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := hangUpConn{Conn: conn}
	w.hangup.take(c)
	return c, rw, nil
}

// hangUpConn closes its connection when a read fails.
type hangUpConn struct{ net.Conn }

func (c hangUpConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		_ = c.Conn.Close()
	}
	return n, err
}

// SyscallConn is the connection's own, so that an idle websocket can wait
// for its bytes with no goroutine (gatedConn.awaitReadable); the reads
// that follow still go through Read.
func (c hangUpConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
