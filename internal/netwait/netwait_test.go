//go:build linux

package netwait

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zivro/zivro/internal/eventually"
)

// tcpPair is a connected pair of loopback TCP connections: server is the
// watched one, client writes to it.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// waitQueued returns once conn has a byte queued to be read, or (end) once
// its peer's end has come.
func waitQueued(t *testing.T, conn *net.TCPConn, end bool) {
	t.Helper()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 5*time.Second, func() (bool, string) {
		var ready bool
		_ = rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
			n, _ := unix.Poll(fds, 0)
			ready = n == 1 && (!end || fds[0].Revents&unix.POLLRDHUP != 0)
		})
		return ready, "nothing queued on the connection"
	})
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func watch(t *testing.T, p *Poller, conn *net.TCPConn) *Waiter {
	t.Helper()
	w, err := p.Watch(conn)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// awaitNotice arms w and returns the channel its ready closes.
func awaitNotice(t *testing.T, w *Waiter) <-chan struct{} {
	t.Helper()
	ready := make(chan struct{})
	if err := w.Await(func() { close(ready) }); err != nil {
		t.Fatalf("Await: %v", err)
	}
	return ready
}

func noticed(t *testing.T, ready <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatalf("not told within 5 s: %s", what)
	}
}

// Each way a connection becomes readable is told: bytes that come while it
// waits, bytes that came before, the peer's end; and again after each
// re-arm.
func TestAwaitTellsWhenTheConnectionHasSomethingToRead(t *testing.T) {
	tests := []struct {
		name   string
		before bool // the client writes before the wait is armed
		end    bool // the client closes instead of writing
	}{
		{name: "bytes while waiting"},
		{name: "bytes before the wait", before: true},
		{name: "the peer's end", end: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(t)
			server, client := tcpPair(t)
			w := watch(t, p, server)
			for round := range 3 { // the first wait adds the descriptor, the next re-arm it
				act := func() {
					if tt.end && round == 2 {
						_ = client.Close()
					} else if _, err := client.Write([]byte{byte(round)}); err != nil {
						t.Fatal(err)
					}
				}
				if tt.before {
					act()
					waitQueued(t, server, tt.end && round == 2)
				}
				ready := awaitNotice(t, w)
				if !tt.before {
					act()
				}
				noticed(t, ready, "round "+string(rune('0'+round)))
				buf := make([]byte, 1)
				n, err := server.Read(buf)
				switch {
				case tt.end && round == 2:
					if !errors.Is(err, io.EOF) {
						t.Fatalf("read after the end: %d, %v; want EOF", n, err)
					}
				case err != nil || n != 1 || buf[0] != byte(round):
					t.Fatalf("read %d %v %v; want the byte %d", n, buf, err, round)
				}
			}
			if n := p.Armed(); n != 0 {
				t.Errorf("%d waits armed after each was told", n)
			}
		})
	}
}

// A wait ended by Close is never told, holds nothing, and no wait can be
// armed after it; neither on a closed connection, nor on a closed Poller.
func TestClosedWaitsAreNeverTold(t *testing.T) {
	p := newPoller(t)
	server, client := tcpPair(t)
	w := watch(t, p, server)
	var told atomic.Bool
	if err := w.Await(func() { told.Store(true) }); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if n := p.Armed(); n != 0 {
		t.Fatalf("%d waits armed after Close", n)
	}
	if err := w.Await(func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Await after Close: %v, want ErrClosed", err)
	}
	// Another connection's wait is told after the closed one's bytes came:
	// the poller has seen the closed one's event by then, if any.
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	other, otherClient := tcpPair(t)
	ready := awaitNotice(t, watch(t, p, other))
	if _, err := otherClient.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	noticed(t, ready, "the other connection")
	if told.Load() {
		t.Error("a closed wait was told")
	}

	closedConn, _ := tcpPair(t)
	cw := watch(t, p, closedConn)
	_ = closedConn.Close()
	if err := cw.Await(func() {}); err == nil {
		t.Error("Await on a closed connection: no error")
	}
	if n := p.Armed(); n != 0 {
		t.Errorf("%d waits armed after a refused one", n)
	}

	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third, _ := tcpPair(t)
	if err := watch(t, p, third).Await(func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Await on a closed Poller: %v, want ErrClosed", err)
	}
}

// Many connections waiting at once hold no goroutine, and each is told
// once, with its own function, when its bytes come.
func TestManyWaitsHoldNoGoroutine(t *testing.T) {
	const n = 200
	p := newPoller(t)
	goroutines := runtime.NumGoroutine()
	clients := make([]*net.TCPConn, n)
	var told [n]atomic.Int32
	all := make(chan int, n)
	for i := range n {
		server, client := tcpPair(t)
		clients[i] = client
		if err := watch(t, p, server).Await(func() {
			told[i].Add(1)
			all <- i
		}); err != nil {
			t.Fatal(err)
		}
	}
	if grown := runtime.NumGoroutine() - goroutines; grown > 0 {
		t.Errorf("%d more goroutines for %d waits", grown, n)
	}
	if armed := p.Armed(); armed != n {
		t.Errorf("%d waits armed, want %d", armed, n)
	}
	for _, c := range clients {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(5 * time.Second)
	for range n {
		select {
		case <-all:
		case <-deadline:
			t.Fatalf("%d waits still armed after 5 s", p.Armed())
		}
	}
	for i := range n {
		if c := told[i].Load(); c != 1 {
			t.Errorf("wait %d told %d times", i, c)
		}
	}
}
