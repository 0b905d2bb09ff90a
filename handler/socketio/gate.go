package socketio

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/socket.io/v2/socket"

	"github.com/zivro/zivro/internal/netwait"
)

// The library's websocket handshake starts reading the connection and sends
// the open packet before Socket.IO has attached to the new engine socket
// (engine.io announces the connection only afterwards). A client that
// answers the open packet at once, as every client does, now and then has
// its namespace connect read in that gap, where nobody listens for it: the
// packet is dropped and the client waits for the connect timeout. The read
// gate closes the gap without touching the library: a new websocket
// connection's reads wait until Socket.IO has taken the engine socket. A
// websocket that upgrades a polling session has the same gap before the
// library listens for its probe (see gateReads).
//
// To drop it: once the library's engine announces a websocket connection,
// and listens for an upgrade's probe, before it starts reading it, remove
// gateReads from slimRequest and openReadGates from New;
// TestNamespaceConnectSentBeforeSocketIOListensIsKept and the upgrade cases
// of TestClosedWebsocketsGiveTheirDescriptorsBack, run without the gate,
// show whether the gaps are closed.

// readGate is opened once Socket.IO listens to a new connection. opened
// spares every later read a channel receive.
type readGate struct {
	opened atomic.Bool
	open   chan struct{}
}

func newReadGate() *readGate { return &readGate{open: make(chan struct{})} }

func (g *readGate) release() {
	if g.opened.CompareAndSwap(false, true) {
		close(g.open)
	}
}

type readGateKey struct{}

// gateReads makes the connection of a websocket request wait with its
// reads until the library listens to it; it returns the writer to upgrade
// with, the request context that carries the gate, and what to call once
// the library has served the request. A handshake's gate opens when
// openReadGates sees Socket.IO take the new connection. An upgrade of a
// polling session (it carries the session's sid) has the same gap: the
// library starts reading the new websocket before it listens for the probe
// ("2probe", which socket.io-client sends the moment the websocket opens),
// and a probe read in that gap is dropped: the upgrade then fails after the
// upgrade timeout (10 s), with the client's websocket closed. The library
// listens by the time it has served the upgrade request, so that is when
// an upgrade's gate opens.
//
// poller, when not nil, lets the connection wait for its next message with
// no goroutine (gatedConn.awaitReadable).
func gateReads(w http.ResponseWriter, r *http.Request, poller *netwait.Poller) (http.ResponseWriter, context.Context, func()) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return w, r.Context(), func() {}
	}
	g := newReadGate()
	gated := gatedWriter{ResponseWriter: w, hijacker: hj, gate: g, poller: poller}
	if !IsHandshake(r) {
		return gated, r.Context(), g.release
	}
	return gated, context.WithValue(r.Context(), readGateKey{}, g), func() {}
}

// openReadGates opens a new connection's read gate once Socket.IO has
// taken it. It must be called after io's engine exists (io.ServeHandler), so
// that this listener runs after Socket.IO's own.
func openReadGates(io *socket.Server) {
	_ = io.Engine().On("connection", func(args ...any) {
		conn, ok := args[0].(engine.Socket)
		if !ok {
			return
		}
		if g, ok := conn.Request().Request().Context().Value(readGateKey{}).(*readGate); ok {
			g.release()
		}
	})
}

// gatedWriter hands the websocket library a connection behind the gate.
type gatedWriter struct {
	http.ResponseWriter
	hijacker http.Hijacker
	gate     *readGate
	poller   *netwait.Poller
}

func (w gatedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.hijacker.Hijack()
	if err != nil {
		return nil, nil, err
	}
	gated := &gatedConn{Conn: conn, gate: w.gate}
	if sc, ok := conn.(syscall.Conn); ok && w.poller != nil {
		// Without a waiter (an error), the connection waits in a read.
		gated.waiter, _ = w.poller.Watch(sc)
	}
	return gated, rw, nil
}

// gatedConn's reads wait for the gate. Closing it opens the gate too (a
// handshake refused after the upgrade never would), and the waiting read
// then fails on the closed connection. It is the connection gorilla reads
// from, and lets the websocket transport wait for the next message before
// gorilla reads (awaitReadable, or waitReadable).
type gatedConn struct {
	net.Conn
	gate *readGate
	// waiter, when the server has a poller, waits for the connection's
	// next bytes with no goroutine, and writes without waiting.
	waiter *netwait.Waiter
	// wmu keeps every frame whole on the wire, gorilla's control frames
	// and the transport's alike: each write holds it, and a frame that
	// startWrite could write only in part holds it until finishWrite has
	// written the rest.
	wmu sync.Mutex

	// The byte waitReadable read, or the error it got, for the next Read.
	// Only the connection's reading goroutine of the moment touches them
	// (one at a time: each starts the next).
	early    [1]byte
	hasEarly bool
	earlyErr error
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if c.hasEarly && len(p) > 0 {
		c.hasEarly = false
		p[0] = c.early[0]
		return 1, nil
	}
	if c.earlyErr != nil {
		return 0, c.earlyErr
	}
	if !c.gate.opened.Load() {
		<-c.gate.open
	}
	return c.Conn.Read(p)
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.Write(p)
}

// startWrite writes what of p the connection takes now, without waiting,
// on the caller's goroutine. started is false, with nothing written, when
// it cannot (no poller, another write under way): the caller then writes
// p with Write. When n < len(p) the write stays open, no other starts,
// and the caller must write p[n:] with finishWrite (which may wait for a
// client that does not read: on a goroutine of its own).
func (c *gatedConn) startWrite(p []byte) (n int, started bool) {
	if c.waiter == nil || !c.wmu.TryLock() {
		return 0, false
	}
	n, err := c.waiter.WriteNow(p)
	switch {
	case n == 0 && err != nil:
		c.wmu.Unlock()
		return 0, false // Write will meet the error again, and report it
	case n == len(p):
		c.wmu.Unlock()
	}
	return n, true
}

// finishWrite writes the rest of a frame startWrite began, and closes
// the write.
func (c *gatedConn) finishWrite(rest []byte) (int, error) {
	defer c.wmu.Unlock()
	return c.Conn.Write(rest)
}

// canAwait reports whether the connection can wait with no goroutine.
func (c *gatedConn) canAwait() bool { return c.waiter != nil }

// awaitReadable arranges for resume to be called once the connection has
// bytes to read, has ended or has failed, and reports whether it did:
// the caller's goroutine may then end, and resume (which must not block)
// starts the reading again. When it cannot (no poller, the connection
// closed), the caller waits with waitReadable.
func (c *gatedConn) awaitReadable(resume func()) bool {
	if c.waiter == nil || c.hasEarly || c.earlyErr != nil {
		return false
	}
	return c.waiter.Await(resume) == nil
}

// waitReadable returns once the connection has a byte to read, or has
// failed: the byte (or the error) is what the next Read returns. It waits
// with the few frames of a read, where a reader inside gorilla would wait
// with gorilla's (wstransport.go).
func (c *gatedConn) waitReadable() {
	if c.hasEarly || c.earlyErr != nil {
		return
	}
	n, err := c.Read(c.early[:])
	switch {
	case n == 1:
		c.hasEarly = true
	case err != nil:
		c.earlyErr = err
	}
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.gate.release()
	if c.waiter != nil {
		c.waiter.Close() // a wait armed now would never end
	}
	return err
}
