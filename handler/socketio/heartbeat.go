package socketio

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/engine.io/v2/utils"
	"github.com/zishang520/socket.io/v2/socket"
)

// The library's heartbeat (engine.io/v2 v2.5.0, engine/socket.go) sends a
// ping before it arms the ping's timeout: schedulePing's timer goroutine
// calls sendPacket(PING), whose write goes out on a goroutine of its own
// (the websocket transport's Send) or at once (a waiting long poll), and
// only then resetPingTimeout. A client that answers at once can have its
// pong handled (onPacket's PONG case clears the timeout armed at that
// moment: none yet, or the last ping's, spent) before the timeout is armed;
// that timeout then fires although the ping was answered, and the session
// is closed "ping timeout" (9 of 132 sessions that answered every ping,
// with a 300/200 ms heartbeat; none on the Node reference, which arms the
// timeout before it sends). A pong restarts the ping interval, so with an
// interval longer than the timeout (Socket.IO's own defaults, 25 s and
// 20 s) the next ping comes too late to replace the stray timeout; with
// equal ones (ours) it comes just in time, by a hair.
//
// The pong gate holds each pong, before the library handles it, until the
// timeout of the ping it answers is armed: the library's timeout timer is
// read, as nothing public tells when it is armed, through its field
// (pingTimeoutTimer, an atomic pointer: reading it is safe), found once by
// reflection and checked for its type; a library whose socket has no such
// field leaves the gate off, with an error logged, and
// TestAnsweredPingsKeepTheSession fails. The wait is the few instructions
// between the ping's write and its timeout; it gives up once the session
// closes, or after the ping timeout.
//
// Sessions on the wall's websocket transport have the wall's heartbeat
// instead (wsheartbeat.go), which arms the timeout first; the gate is on
// the others (polling, upgraded or not; protocol 3).
//
// To drop it: once the library arms the ping timeout before it sends the
// ping (as the Node reference does), remove the gate from watchHeartbeats;
// TestAnsweredPingsKeepTheSession's polling case, run without it, shows
// whether it has.

// watchHeartbeats gives every new websocket session the wall's heartbeat
// (wsheartbeat.go), and every other one a pong gate on the library's.
func watchHeartbeats(io *socket.Server, o Options) {
	var warned sync.Once
	warn := func(what string) {
		warned.Do(func() { o.Log.Error(what) })
	}
	inert := newInertTimer() // wsheartbeat.go
	_ = io.Engine().On("connection", func(args ...any) {
		conn, ok := args[0].(engine.Socket)
		if !ok {
			return
		}
		if takeOverHeartbeat(conn, o, inert, warn) {
			return
		}
		timeout, ok := libraryTimer(conn, "pingTimeoutTimer")
		if !ok {
			warn("the library's ping timeout cannot be read: sessions that answer a ping at once may be closed \"ping timeout\" (heartbeat.go)")
			return
		}
		g := &pongGate{timeout: timeout, limit: o.PingTimeout, open: func() bool { return conn.ReadyState() == "open" }}
		// packetCreate is emitted by sendPacket on the ping timer's
		// goroutine, before the write; packet by onPacket, before the
		// library handles what came.
		_ = conn.On("packetCreate", func(args ...any) {
			if p, ok := args[0].(*packet.Packet); ok && p.Type == packet.PING {
				g.pinged()
			}
		})
		_ = conn.On("packet", func(args ...any) {
			if p, ok := args[0].(*packet.Packet); ok && p.Type == packet.PONG {
				g.ponged()
			}
		})
	})
}

// takeOverHeartbeat stops the library's heartbeat of a protocol 4
// session on the wall's websocket transport and starts the wall's; it
// reports false, with the library's left to run, for any other session,
// or when the library's timer cannot be stopped before its first ping.
// The stopped timer is replaced by inert, when not nil (newInertTimer).
func takeOverHeartbeat(conn engine.Socket, o Options, inert *utils.Timer, warn func(string)) bool {
	w, ok := conn.Transport().(*wsTransport)
	if !ok || conn.Protocol() < 4 {
		return false
	}
	const cannot = "the library's heartbeat cannot be taken over: each websocket session holds its timer's goroutine (wsheartbeat.go)"
	interval, ok := libraryTimer(conn, "pingIntervalTimer")
	closer, closes := conn.(interface{ OnClose(string, ...error) })
	if !ok || !closes {
		warn(cannot)
		return false
	}
	stopped, found := stopBeforeItFires(interval.Load())
	if !found {
		warn(cannot)
	}
	if !stopped {
		return false
	}
	if inert != nil {
		interval.Store(inert)
	}
	log := o.Log // not o: the closures would keep all of it
	beat := startWSHeartbeat(o.PingInterval, o.PingTimeout, w.ping,
		func() { closer.OnClose("ping timeout") },
		func() { dropConn(conn, log, unaskedPong) })
	w.beat.Store(beat)
	if conn.ReadyState() == "closed" {
		// Closed before the heartbeat was in place (the transport's
		// close reads it after closing the session).
		beat.stop()
	}
	return true
}

// atomicTimer is how the library's socket holds a heartbeat timer.
type atomicTimer = atomic.Pointer[utils.Timer]

// pongGate holds a session's pong until its ping's timeout is armed.
type pongGate struct {
	timeout *atomicTimer  // the library's
	limit   time.Duration // the longest a pong waits
	open    func() bool   // whether the session is open

	mu sync.Mutex
	// waiting: a ping went out whose pong has not come. before is the
	// timeout timer that was in place when it went out: the ping's own
	// replaces it (a new timer each time, and before, held here, cannot
	// be reused for it).
	waiting bool
	before  *utils.Timer
}

// pinged records a ping about to be written.
func (g *pongGate) pinged() {
	g.mu.Lock()
	g.waiting, g.before = true, g.timeout.Load()
	g.mu.Unlock()
}

// ponged returns once the timeout of the ping a pong answers is armed, so
// that the library's handling of the pong clears that timeout. A pong that
// answers no ping passes at once.
func (g *pongGate) ponged() {
	g.mu.Lock()
	waiting, before := g.waiting, g.before
	g.waiting, g.before = false, nil
	g.mu.Unlock()
	if !waiting {
		return
	}
	deadline := time.Now().Add(g.limit)
	for i := 0; g.timeout.Load() == before; i++ {
		if !g.open() || time.Now().After(deadline) {
			return
		}
		// The timeout is normally armed within microseconds: yield
		// first, then sleep for the case its goroutine is descheduled.
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(100 * time.Microsecond)
		}
	}
}
