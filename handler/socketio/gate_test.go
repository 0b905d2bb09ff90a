package socketio

import (
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
