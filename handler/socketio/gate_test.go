package socketio

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/socket.io/v2/socket"
	"github.com/zivro/zivro/internal/netwait"
)

func TestNamespaceConnectSentBeforeSocketIOListensIsKept(t *testing.T) {
	// The library reads a new websocket before Socket.IO listens to it. A
	// listener placed ahead of Socket.IO's holds that gap open for 200 ms,
	// so that every client's connect lands in it: without the read gate,
	// each one would be dropped.
	opts := serverOptions(Options{}.withDefaults(), &serverRef{})
	eio := engine.NewServer(opts)
	_ = eio.On("connection", func(...any) { time.Sleep(200 * time.Millisecond) })
	sio := socket.NewServer(nil, opts)
	sio.Bind(eio)
	s := newServer(sio, eio, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}.withDefaults())
	s.OnConnect(func(*Conn) Session { return discard{} })
	defer s.Close()

	srv := httptest.NewServer(s)
	defer srv.Close()
	base := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	// Every spelling of a handshake is gated (IsHandshake), an empty sid
	// too.
	for i := range 6 {
		url := base + []string{"", "&sid", "&sid="}[i%3]
		conn, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, open, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(open), "0") {
			t.Fatalf("client %d: open packet %q, %v", i, open, err)
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
			t.Fatalf("client %d: send connect: %v", i, err)
		}
		if _, reply, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(reply), "40{") {
			t.Fatalf("client %d: connect reply %q, %v; want 40{...}", i, reply, err)
		}
		_ = conn.Close()
	}
}

// discard is a session that ignores its connection's events.
type discard struct{}

func (discard) Event(Event)   {}
func (discard) Closed(string) {}

func TestGatedConnReadsWaitForTheGateOrTheClose(t *testing.T) {
	tests := []struct {
		name    string
		open    func(c *gatedConn)
		wantErr bool
	}{
		{"gate opened", func(c *gatedConn) { c.gate.release() }, false},
		{"closed before the gate opened", func(c *gatedConn) { _ = c.Close() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server, client := net.Pipe()
			defer client.Close()
			c := &gatedConn{Conn: server, gate: newReadGate()}
			defer c.Close()
			go func() { _, _ = client.Write([]byte("40")) }()
			read := make(chan error, 1)
			go func() {
				buf := make([]byte, 2)
				_, err := io.ReadFull(c, buf)
				read <- err
			}()
			select {
			case err := <-read:
				t.Fatalf("read returned (%v) before the gate opened", err)
			case <-time.After(50 * time.Millisecond): // a read that waits shows only as time passing
			}
			tt.open(c)
			select {
			case err := <-read:
				if (err != nil) != tt.wantErr {
					t.Fatalf("read error %v, want error: %v", err, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("read still waiting 5 s after the gate opened or the conn closed")
			}
		})
	}
}

// tcpPair is a loopback TCP connection: the server's side watched by a
// poller (as the server's connections are), and the client's.
func tcpPair(t *testing.T) (server *gatedConn, client net.Conn) {
	t.Helper()
	needPoller(t)
	p, err := netwait.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	conn := <-accepted
	if conn == nil {
		t.Fatal("accept failed")
	}
	server = &gatedConn{Conn: hangUpConn{conn}, gate: newReadGate()}
	if server.waiter, err = p.Watch(hangUpConn{conn}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	return server, client
}

// startWrite writes what the connection takes at once and never waits: a
// frame the client has room for is written whole and the write closed; a
// frame larger than the socket's buffers is written in part and the write
// left open, so that another write (gorilla's control frame, the
// transport's ping) waits until finishWrite has written the rest and the
// client reads the frame whole, then the other; a write under way makes
// startWrite decline, as does a connection with no poller.
func TestGatedConnStartWriteNeverWaitsAndKeepsFramesWhole(t *testing.T) {
	t.Run("taken whole", func(t *testing.T) {
		server, client := tcpPair(t)
		frame := []byte("\x81\x0542[1]")
		n, started := server.startWrite(frame)
		if !started || n != len(frame) {
			t.Fatalf("startWrite: %d of %d bytes, started %v; want all of it, at once", n, len(frame), started)
		}
		if !server.wmu.TryLock() {
			t.Fatal("the write is still open after a whole frame")
		}
		server.wmu.Unlock()
		got := make([]byte, len(frame))
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(client, got); err != nil || string(got) != string(frame) {
			t.Fatalf("client read %q, %v", got, err)
		}
	})
	t.Run("taken in part, the rest written before any other write", func(t *testing.T) {
		server, client := tcpPair(t)
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MB: more than both sockets' buffers
		n, started := server.startWrite(big)
		if !started || n <= 0 || n >= len(big) {
			t.Fatalf("startWrite: %d of %d bytes, started %v; want a part, and the write left open", n, len(big), started)
		}
		if _, started := server.startWrite([]byte("x")); started {
			t.Fatal("a second write started while the first frame was open")
		}
		finished := make(chan error, 1)
		go func() {
			_, err := server.finishWrite(big[n:])
			finished <- err
		}()
		other := make(chan error, 1)
		go func() {
			_, err := server.Write([]byte("PING"))
			other <- err
		}()
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, len(big)+4)
		if _, err := io.ReadFull(client, got); err != nil {
			t.Fatalf("client read: %v", err)
		}
		if !bytes.Equal(got[:len(big)], big) || string(got[len(big):]) != "PING" {
			t.Fatal("the other write came inside the open frame")
		}
		for _, ch := range []chan error{finished, other} {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("no poller", func(t *testing.T) {
		server, _ := tcpPair(t)
		server.waiter = nil
		if n, started := server.startWrite([]byte("x")); started || n != 0 {
			t.Fatalf("startWrite without a poller: %d bytes, started %v", n, started)
		}
	})
}
