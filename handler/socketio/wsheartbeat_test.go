package socketio

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zishang520/engine.io/v2/utils"
	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/syncbuf"
)

// heartbeatPeer is what a wsHeartbeat drives, recorded: each ping, the
// "ping timeout" and the unasked pong's close.
type heartbeatPeer struct {
	pings    chan time.Time
	timedOut chan time.Time
	unasked  chan time.Time
}

func newHeartbeatPeer() *heartbeatPeer {
	return &heartbeatPeer{pings: make(chan time.Time, 100), timedOut: make(chan time.Time, 10), unasked: make(chan time.Time, 10)}
}

func (p *heartbeatPeer) start(interval, timeout time.Duration, answer func(*wsHeartbeat)) *wsHeartbeat {
	var h *wsHeartbeat
	var ready sync.WaitGroup
	ready.Add(1)
	h = startWSHeartbeat(interval, timeout,
		func() {
			ready.Wait()
			p.pings <- time.Now()
			if answer != nil {
				answer(h)
			}
		},
		func() { p.timedOut <- time.Now() },
		func() { p.unasked <- time.Now() })
	ready.Done()
	return h
}

// arrives returns when c delivers, or fails the test after d.
func arrives(t *testing.T, c <-chan time.Time, d time.Duration, what string) time.Time {
	t.Helper()
	select {
	case at := <-c:
		return at
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
		return time.Time{}
	}
}

// noneOf fails the test if c has delivered, or delivers within d.
func noneOf(t *testing.T, c <-chan time.Time, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
		t.Fatalf("%s, want none", what)
	default:
	}
	select {
	case <-c:
		t.Fatalf("%s, want none", what)
	case <-time.After(d):
	}
}

func TestWSHeartbeat(t *testing.T) {
	const (
		interval = 20 * time.Millisecond
		timeout  = 60 * time.Millisecond
		deadline = 5 * time.Second
	)
	tests := []struct {
		name string
		run  func(t *testing.T, p *heartbeatPeer)
	}{
		{"pings answered at once keep it going", func(t *testing.T, p *heartbeatPeer) {
			// The quickest pong there is: from inside the ping's write.
			last := time.Now()
			h := p.start(interval, timeout, func(h *wsHeartbeat) { h.ponged() })
			defer h.stop()
			for i := range 5 {
				at := arrives(t, p.pings, deadline, "ping")
				if gap := at.Sub(last); gap < interval {
					t.Fatalf("ping %d came %v after the last pong, want at least the interval %v", i, gap, interval)
				}
				last = at
			}
			noneOf(t, p.timedOut, 2*timeout, "the session timed out although every ping was answered")
			noneOf(t, p.unasked, 0, "answered pings were taken for unasked pongs")
		}},
		{"a ping not answered closes it after the timeout", func(t *testing.T, p *heartbeatPeer) {
			p.start(interval, timeout, nil)
			pinged := arrives(t, p.pings, deadline, "ping")
			closed := arrives(t, p.timedOut, deadline, "ping timeout")
			if waited := closed.Sub(pinged); waited < timeout {
				t.Fatalf("closed %v after the ping, want at least the timeout %v", waited, timeout)
			}
			noneOf(t, p.pings, 2*interval, "a ping after the timeout")
		}},
		{"a pong that answers no ping closes it", func(t *testing.T, p *heartbeatPeer) {
			h := p.start(interval, timeout, nil)
			h.ponged()
			arrives(t, p.unasked, deadline, "close for the unasked pong")
			noneOf(t, p.pings, 3*interval, "a ping after the close")
			noneOf(t, p.timedOut, 0, "a ping timeout after the close")
		}},
		{"a second pong to one ping closes it", func(t *testing.T, p *heartbeatPeer) {
			h := p.start(interval, timeout, nil)
			arrives(t, p.pings, deadline, "ping")
			h.ponged()
			h.ponged()
			arrives(t, p.unasked, deadline, "close for the unasked pong")
		}},
		{"a pong after the timeout changes nothing", func(t *testing.T, p *heartbeatPeer) {
			h := p.start(interval, timeout, nil)
			arrives(t, p.timedOut, deadline, "ping timeout")
			h.ponged()
			noneOf(t, p.unasked, 2*interval, "a close for the late pong")
			noneOf(t, p.timedOut, 0, "a second ping timeout")
		}},
		{"stopped before its first ping, it does nothing", func(t *testing.T, p *heartbeatPeer) {
			h := p.start(interval, timeout, nil)
			h.stop()
			noneOf(t, p.pings, 3*interval, "a ping after the stop")
			h.ponged()
			noneOf(t, p.unasked, 0, "a close for a pong after the stop")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newHeartbeatPeer()) })
	}
}

// A websocket session gets the wall's heartbeat, not the library's (whose
// goroutines TestWebsocketTransportIdleConnectionsHoldSmallStacks counts):
// it is pinged every interval, closed "ping timeout" when it stops
// answering, and closed at once, logged, when it pongs unasked.
func TestWebsocketSessionsHaveTheWallsHeartbeat(t *testing.T) {
	const (
		interval = 150 * time.Millisecond
		timeout  = 300 * time.Millisecond
	)
	var logs syncbuf.Buffer
	s := New(t.Context(), Options{
		PingInterval: interval,
		PingTimeout:  timeout,
		Log:          slog.New(slog.NewTextHandler(&logs, nil)),
	})
	reasons := &closeReasons{reasons: map[string]int{}}
	var librarys atomic.Int32 // sessions left with the library's heartbeat
	s.OnConnect(func(c *Conn) Session {
		if tr, ok := c.sock.Conn().Transport().(*wsTransport); !ok || tr.beat.Load() == nil {
			librarys.Add(1)
		}
		return reasons.connect(c)
	})
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
		if n := librarys.Load(); n != 0 {
			t.Errorf("%d websocket sessions kept the library's heartbeat", n)
		}
	})

	t.Run("pinged, then closed when it stops answering", func(t *testing.T) {
		c := rawConnect(t, srv.URL, "40")
		defer c.Close()
		for range 3 {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "2" {
				t.Fatalf("read %q (%v), want a ping", msg, err)
			}
			rawWrite(t, c, "3")
		}
		// Silent from now on.
		eventually.True(t, 10*time.Second, func() (bool, string) {
			_, timedOut, _ := reasons.count("ping timeout")
			return timedOut == 1, "the session that stopped answering was not closed \"ping timeout\""
		})
	})
	t.Run("closed for a pong that answers no ping", func(t *testing.T) {
		c := rawConnect(t, srv.URL, "40")
		defer c.Close()
		rawWrite(t, c, "3")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				break // closed
			}
			if string(msg) == "2" {
				t.Fatal("pinged after an unasked pong, want the connection closed")
			}
		}
		eventually.True(t, 5*time.Second, func() (bool, string) {
			return strings.Contains(logs.String(), `reason="pong that answers no ping"`), "no log line for the unasked pong:\n" + logs.String()
		})
	})
}

// The library's timer is stopped only before it fires: a ping the library
// sent already keeps its heartbeat (takeOverHeartbeat then leaves it).
func TestStopBeforeItFires(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration // the timer's
		fire  bool          // wait for it to fire first
		want  bool
	}{
		{"not fired yet", time.Hour, false, true},
		{"fired already", time.Millisecond, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fired := make(chan time.Time, 1)
			timer := utils.SetTimeout(func() { fired <- time.Now() }, tt.after)
			if tt.fire {
				arrives(t, fired, 5*time.Second, "the timer's function")
			}
			if stopped, found := stopBeforeItFires(timer); stopped != tt.want || !found {
				t.Fatalf("stopBeforeItFires = %v, %v; want %v, true", stopped, found, tt.want)
			}
			// The library's own Stop, at the session's close, must find
			// the timer stopped: had its goroutine been let go with the
			// timer still running, Stop would block on the stop channel.
			utils.ClearTimeout(timer)
		})
	}
	if stopped, _ := stopBeforeItFires(nil); stopped {
		t.Error("stopBeforeItFires(nil) stopped nothing, and said it did")
	}
}

// Sessions that have the wall's heartbeat share one inert timer where the
// library keeps its interval timer; refreshing it (should a pong ever
// reach the library) and stopping it (a session's close) leave nothing
// running, and never block.
func TestTakenOverSessionsShareAnInertTimer(t *testing.T) {
	url, conns := echoServer(t)
	var timers []*utils.Timer
	for range 2 {
		rawConnect(t, url, "40")
		c := nextConn(t, conns)
		interval, ok := libraryTimer(c.sock.Conn(), "pingIntervalTimer")
		if !ok {
			t.Fatal("the library's socket has no interval timer")
		}
		timers = append(timers, interval.Load())
	}
	if timers[0] == nil || timers[0] != timers[1] {
		t.Fatalf("interval timers %p, %p; want one shared", timers[0], timers[1])
	}
	inert := timers[0]
	goroutines := runtime.NumGoroutine()
	stops := make(chan struct{})
	go func() {
		defer close(stops)
		for range 2 {
			inert.Refresh()
			utils.ClearTimeout(inert)
			utils.ClearTimeout(inert) // another session's close
		}
	}()
	select {
	case <-stops:
	case <-time.After(5 * time.Second):
		t.Fatal("stopping the refreshed inert timer blocked")
	}
	eventually.True(t, 5*time.Second, func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= goroutines, fmt.Sprintf("%d goroutines after refreshing and stopping the inert timer, %d before", n, goroutines)
	})
}
