package socketio

import (
	"log/slog"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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
// To drop it: once the library arms the ping timeout before it sends the
// ping (as the Node reference does), remove watchHeartbeats from newServer;
// TestAnsweredPingsKeepTheSession, run without it, shows whether it has.

// watchHeartbeats puts a pong gate on every new Engine.IO session.
func watchHeartbeats(io *socket.Server, pingTimeout time.Duration, log *slog.Logger) {
	var warned sync.Once
	_ = io.Engine().On("connection", func(args ...any) {
		conn, ok := args[0].(engine.Socket)
		if !ok {
			return
		}
		timeout, ok := pingTimeoutOf(conn)
		if !ok {
			warned.Do(func() {
				log.Error("the library's ping timeout cannot be read: sessions that answer a ping at once may be closed \"ping timeout\" (heartbeat.go)")
			})
			return
		}
		g := &pongGate{timeout: timeout, limit: pingTimeout, open: func() bool { return conn.ReadyState() == "open" }}
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

// pingTimeoutOf is the library socket's ping timeout timer, as the
// library's own field holds it.
func pingTimeoutOf(conn engine.Socket) (*atomic.Pointer[utils.Timer], bool) {
	v := reflect.ValueOf(conn)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName("pingTimeoutTimer")
	if !f.IsValid() || f.Type() != reflect.TypeFor[atomic.Pointer[utils.Timer]]() {
		return nil, false
	}
	return (*atomic.Pointer[utils.Timer])(unsafe.Pointer(f.UnsafeAddr())), true
}

// pongGate holds a session's pong until its ping's timeout is armed.
type pongGate struct {
	timeout *atomic.Pointer[utils.Timer] // the library's
	limit   time.Duration                // the longest a pong waits
	open    func() bool                  // whether the session is open

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
