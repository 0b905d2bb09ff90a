package socketio

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zivro/zivro/internal/eventually"
)

// echoSession acks every event with the event's own arguments, and hands
// its Conn over once connected.
type echoSession struct{ conn *Conn }

func (e echoSession) Event(ev Event) {
	if !ev.WantsAck {
		return
	}
	args := make([][]byte, len(ev.Args))
	for i, a := range ev.Args {
		args[i] = []byte(a.Raw)
	}
	e.conn.Ack(ev.AckID, args...)
}

func (echoSession) Closed(string) {}

// echoServer serves a Server whose sessions are echoSessions; conns gets
// each new Conn.
func echoServer(t *testing.T) (url string, conns <-chan *Conn) {
	t.Helper()
	url, conns, _ = echoServerWith(t, Options{})
	return url, conns
}

// echoServerWith is echoServer with options o (its log discarded), and
// the Server.
func echoServerWith(t *testing.T, o Options) (url string, conns <-chan *Conn, s *Server) {
	t.Helper()
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s = New(t.Context(), o)
	ch := make(chan *Conn, 8)
	s.OnConnect(func(c *Conn) Session {
		ch <- c
		return echoSession{conn: c}
	})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return srv.URL, ch, s
}

// rawConnect opens a websocket session and sends connect, the namespace
// connect packet ("40..."); it waits for the connect reply.
func rawConnect(t *testing.T, base, connect string) *websocket.Conn {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if open := rawRead(t, conn); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	rawWrite(t, conn, connect)
	if reply := rawRead(t, conn); !strings.HasPrefix(reply, "40{") {
		t.Fatalf("connect reply %q", reply)
	}
	return conn
}

// rawRead reads the next message that is not a ping (answered), within 5 s.
func rawRead(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(msg) == "2" {
			rawWrite(t, conn, "3")
			continue
		}
		return string(msg)
	}
}

func rawWrite(t *testing.T, conn *websocket.Conn, msg string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
}

func nextConn(t *testing.T, conns <-chan *Conn) *Conn {
	t.Helper()
	select {
	case c := <-conns:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection within 5 s")
		return nil
	}
}

// The CONNECT packet's auth object (socket.io-client's auth option) is read
// back on the Conn, the client's fields as it sent them; the wall's own
// link, which travels in the same object, is not among them, and the
// connection's events still reach its session.
func TestConnAuthIsTheClientsConnectPayload(t *testing.T) {
	tests := []struct {
		name, connect, want string
	}{
		{"resume", `40{"resume":true,"x":"y"}`, `{"resume":true,"x":"y"}`},
		{"nested", `40{"a":{"b":[1,"two",null]}}`, `{"a":{"b":[1,"two",null]}}`},
		{"none", `40`, `{}`},
		{"empty", `40{}`, `{}`},
		{"spelled-out namespace", `40/,{"resume":false}`, `{"resume":false}`},
		{"the link's key, sent by the client", "40{\"\\u0000zivro.link\":\"forged\",\"x\":1}", "{\"\\u0000zivro.link\":\"forged\",\"x\":1}"},
	}
	url, conns := echoServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := rawConnect(t, url, tt.connect)
			c := nextConn(t, conns)
			if got := c.Auth().Raw; got != tt.want {
				t.Fatalf("Auth() = %s, want %s", got, tt.want)
			}
			rawWrite(t, ws, `421["ping"]`)
			if got := rawRead(t, ws); got != `431[]` {
				t.Fatalf("ack %q: the session did not get the event", got)
			}
		})
	}
	t.Run("typed", func(t *testing.T) {
		rawConnect(t, url, `40{"resume":true,"x":"y"}`)
		auth := nextConn(t, conns).Auth()
		if !auth.Get("resume").Bool() || auth.Get("x").String() != "y" {
			t.Fatalf("resume %v, x %q in %s", auth.Get("resume"), auth.Get("x"), auth.Raw)
		}
	})
}

// Conn.Ack writes every argument it is given, in order, and none when it
// is given none: what the client's ack callback receives.
func TestConnAckWithSeveralArguments(t *testing.T) {
	url, conns := echoServer(t)
	ws := rawConnect(t, url, `40`)
	nextConn(t, conns)
	tests := []struct{ event, ack string }{
		{`["echo",{"ok":true}]`, `[{"ok":true}]`},
		{`["echo",{"ok":true},"two",3,null]`, `[{"ok":true},"two",3,null]`},
		{`["echo"]`, `[]`},
	}
	for i, tt := range tests {
		id := i + 1
		rawWrite(t, ws, fmt.Sprintf("42%d%s", id, tt.event))
		if got, want := rawRead(t, ws), fmt.Sprintf("43%d%s", id, tt.ack); got != want {
			t.Errorf("%s: ack %s, want %s", tt.event, got, want)
		}
	}
}

// hub is an in-process Relay between servers: what a deployment's Redis
// (store/redisrelay) does between instances.
type hub struct {
	mu      sync.Mutex
	sockets map[string]func(to string, frame []byte) // joined socket → its server's delivery
}

type hubRelay struct {
	h       *hub
	deliver func(to string, frame []byte)
}

func (r *hubRelay) Start(_ context.Context, deliver func(to string, frame []byte)) {
	r.deliver = deliver
}

func (r *hubRelay) Join(id string) {
	r.h.mu.Lock()
	r.h.sockets[id] = r.deliver
	r.h.mu.Unlock()
}

func (r *hubRelay) Leave(id string) {
	r.h.mu.Lock()
	delete(r.h.sockets, id)
	r.h.mu.Unlock()
}

func (r *hubRelay) Send(to string, frame []byte) {
	r.h.mu.Lock()
	deliver := r.h.sockets[to]
	r.h.mu.Unlock()
	if deliver != nil {
		deliver(to, frame)
	}
}

func (h *hub) joined() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sockets)
}

// A server joins its sockets to the relay while they are connected, sends
// through it what is for a socket elsewhere, and writes what it delivers
// to the socket.
func TestServerSendsThroughTheRelayToSocketsElsewhere(t *testing.T) {
	h := &hub{sockets: map[string]func(string, []byte){}}
	conns := make(chan *Conn, 1)
	newInstance := func() (*Server, string) {
		s := New(t.Context(), Options{Log: slog.New(slog.DiscardHandler), Relay: &hubRelay{h: h}})
		s.OnConnect(func(c *Conn) Session { conns <- c; return echoSession{conn: c} })
		srv := httptest.NewServer(s)
		t.Cleanup(func() { srv.Close(); s.Close() })
		return s, srv.URL
	}
	_, urlA := newInstance()
	b, _ := newInstance()
	ws := rawConnect(t, urlA, `40`)
	id := nextConn(t, conns).ID()
	if h.joined() != 1 {
		t.Fatalf("%d sockets joined the relay, want 1", h.joined())
	}

	b.Send("nobody", NewFrame("lost"))
	b.Send(id, NewFrame("partner-left", `{"reason":"next"}`))
	if got := rawRead(t, ws); got != `42["partner-left",{"reason":"next"}]` {
		t.Fatalf("the socket on A got %q", got)
	}

	_ = ws.Close()
	eventually.True(t, 5*time.Second, func() (bool, string) {
		return h.joined() == 0, "the socket that left is still joined to the relay"
	})
}
