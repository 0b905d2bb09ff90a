package socketio

import (
	"sync"
	"time"

	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/engine.io/v2/utils"
)

// The library's heartbeat (engine.io/v2 v2.5.0, engine/socket.go) arms
// each of its timers with utils.SetTimeout, which parks a goroutine on a
// select for every timer: an idle session holds one goroutine (2 kB of
// stack and its descriptor) for its ping interval, and each ping and pong
// starts another. And it sends a ping before it arms the ping's timeout
// (heartbeat.go).
//
// A session that opens on the wall's websocket transport (wstransport.go),
// as every client that tries websocket first does, gets the wall's
// heartbeat instead: the library's interval timer is stopped, found by
// reflection as the pong gate finds its timeout timer, before the
// session's first read (the read gate opens after it); the transport
// writes the pings itself and hands the pongs here, never to the library,
// so nothing restarts the library's timer. One runtime timer a session
// (time.AfterFunc: the runtime keeps them in its own per-processor heaps,
// no goroutine while it waits) does what the library's two goroutines did;
// its function runs only when a ping is due or its pong is late. The wire
// is the same: a ping PingInterval after the last pong (or after the
// open), the session closed "ping timeout" when the pong is not in within
// PingTimeout, and one closed when a pong answers no ping (outbox.go
// closes those of the library's heartbeat). The timeout is armed before
// the ping is written, so a pong, however quick, finds it.
//
// The runtime's timer heaps are the one heartbeat wheel an instance has:
// a wheel of our own would hold the same entry a session and need a
// goroutine of its own to turn it.
//
// Sessions that open on polling (upgraded or not) and protocol 3 clients
// keep the library's heartbeat, with the pong gate; so does a session
// whose first ping the library sent before it could be stopped (its
// interval elapsed during the handshake), and every session when the
// library's fields are not found (an error is logged once).
//
// To drop it: once the library's heartbeat holds no goroutine while it
// waits (make bench: idle kB/conn), remove this file and the pong hand-off
// in wsTransport.read; TestWebsocketTransportIdleConnectionsHoldSmallStacks
// then counts the library's goroutines.

// wsHeartbeat is a websocket session's heartbeat.
type wsHeartbeat struct {
	interval, timeout time.Duration
	// ping writes a ping packet.
	ping func()
	// timedOut closes the session "ping timeout"; unasked closes it for a
	// pong that answers no ping. Each runs at most once, on a goroutine
	// of its own.
	timedOut, unasked func()

	mu    sync.Mutex
	timer *time.Timer
	// due is when the timer's work is due: a run of the timer's function
	// before it was reset (it had started when the reset came) finds it
	// in the future and does nothing.
	due time.Time
	// waiting: a ping went out whose pong has not come.
	waiting bool
	stopped bool
}

// startWSHeartbeat schedules the first ping one interval from now.
func startWSHeartbeat(interval, timeout time.Duration, ping, timedOut, unasked func()) *wsHeartbeat {
	h := &wsHeartbeat{interval: interval, timeout: timeout, ping: ping, timedOut: timedOut, unasked: unasked}
	h.mu.Lock()
	h.due = time.Now().Add(interval)
	h.timer = time.AfterFunc(interval, h.fire)
	h.mu.Unlock()
	return h
}

// fire pings, or closes the session whose pong is late.
func (h *wsHeartbeat) fire() {
	h.mu.Lock()
	if h.stopped || time.Now().Before(h.due) {
		h.mu.Unlock()
		return
	}
	if h.waiting {
		h.stopped = true
		h.mu.Unlock()
		h.timedOut()
		return
	}
	h.waiting = true
	h.due = time.Now().Add(h.timeout)
	h.timer.Reset(h.timeout)
	h.mu.Unlock()
	// On this run's own goroutine: a client that does not read blocks
	// it until the timeout closes the connection.
	h.ping()
}

// ponged takes a pong: the next ping is due one interval from now.
func (h *wsHeartbeat) ponged() {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	if !h.waiting {
		h.stopped = true
		h.timer.Stop()
		h.mu.Unlock()
		go h.unasked()
		return
	}
	h.waiting = false
	h.due = time.Now().Add(h.interval)
	h.timer.Reset(h.interval)
	h.mu.Unlock()
}

// stop ends the heartbeat: its session closed.
func (h *wsHeartbeat) stop() {
	h.mu.Lock()
	h.stopped = true
	h.timer.Stop()
	h.mu.Unlock()
}

// libraryTimer is one of the library socket's heartbeat timers, by the
// name of its field; ok is false when the socket has no such field.
func libraryTimer(conn engine.Socket, field string) (timer *atomicTimer, ok bool) {
	return fieldOf[atomicTimer](conn, field)
}

// newInertTimer makes a stopped utils.Timer whose function does nothing.
// Once the wall runs a session's heartbeat, the library reads its
// interval timer only to stop it when the session closes (and would
// refresh it on a pong, which the wall's transport never hands it): one
// inert timer shared by all the sessions of a server stands in for each
// session's stopped one, which held 0.4 kB (the timer, its runtime timer
// and channels, and the closures). Should the library refresh it after
// all, it runs as the library's own timer would, with nothing to do: its
// goroutine waits until the next stop (a session's close) or an hour.
// Nil when the timer cannot be stopped (its fields not found): each
// session keeps its own.
func newInertTimer() *utils.Timer {
	t := utils.SetTimeout(func() {}, time.Hour)
	if stopped, _ := stopBeforeItFires(t); !stopped {
		return nil
	}
	return t
}

// stopBeforeItFires stops a utils.Timer whose function has not run, and
// lets its goroutine go. stopped is false, and the timer left alone, when
// the function has run or is running; found is false when the timer's
// fields (its time.Timer and its stop channel) are not found.
func stopBeforeItFires(t *utils.Timer) (stopped, found bool) {
	if t == nil {
		return false, true
	}
	timer, hasTimer := fieldOf[*time.Timer](t, "timer")
	stopCh, hasStop := fieldOf[chan struct{}](t, "stopCh")
	if !hasTimer || !hasStop {
		return false, false
	}
	if !(*timer).Stop() {
		return false, true
	}
	// What the library's own Stop does after a successful stop: its
	// goroutine waits on this channel or on the timer, which now never
	// fires.
	*stopCh <- struct{}{}
	return true, true
}
