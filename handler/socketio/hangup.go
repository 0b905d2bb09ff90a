package socketio

import (
	"bufio"
	"net"
	"net/http"
)

// The library's websocket transport, when its reader sees the client go (a
// close frame, or the TCP connection closed), marks itself closed before it
// tells the Engine.IO socket; the socket then asks the transport to close,
// and the transport, closed already, does nothing: the connection is never
// closed, and its descriptor stays open until the garbage collector
// finalizes it (1,621 at once from one address in 40 s). hangUpOnReadError
// closes a websocket's connection as soon as a read on it fails: the
// websocket library's read errors are final, so nothing is lost. To drop
// it: once the library's websocket transport closes its connection on the
// client's close, remove it from slimRequest;
// TestClosedWebsocketsGiveTheirDescriptorsBack shows whether it has.

// hangUpOnReadError returns w, whose Hijack hands out a connection that
// closes itself when a read fails.
func hangUpOnReadError(w http.ResponseWriter) http.ResponseWriter {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return w
	}
	return hangUpWriter{ResponseWriter: w, hijacker: hj}
}

type hangUpWriter struct {
	http.ResponseWriter
	hijacker http.Hijacker
}

func (w hangUpWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.hijacker.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return hangUpConn{Conn: conn}, rw, nil
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
