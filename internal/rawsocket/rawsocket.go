// Package rawsocket is a Socket.IO client for tests that speaks the frames
// itself over one websocket, so that a test sees exactly what the server
// writes (the official client is used by the contract tests in e2e/). The
// server module's tests and the deploy module's share it.
package rawsocket

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zivro/zivro/internal/eventually"
)

// Socket is one client connected to the default namespace.
type Socket struct {
	t    testing.TB
	conn *websocket.Conn
	ack  int
}

// Dial opens a websocket to the server at url (http://host:port) and
// connects to the default namespace; header is sent with the handshake. It
// returns the handshake's response when the server refuses it. The
// connection is closed when the test ends.
func Dial(t testing.TB, url string, header http.Header) (*Socket, *http.Response, error) {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, res, err := websocket.DefaultDialer.Dial(ws, header)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := &Socket{t: t, conn: conn}
	if open := s.Read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	s.Write("40")
	if connect := s.Read(); !strings.HasPrefix(connect, "40") {
		t.Fatalf("connect packet %q", connect)
	}
	return s, res, nil
}

// Write sends one frame as it is.
func (s *Socket) Write(frame string) {
	s.t.Helper()
	if err := s.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		s.t.Fatalf("write %q: %v", frame, err)
	}
}

// Read returns the next frame other than a ping, answering pings; it fails
// the test when none comes within 10 s.
func (s *Socket) Read() string {
	s.t.Helper()
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if string(msg) == "2" {
			s.Write("3")
			continue
		}
		return string(msg)
	}
}

// Call emits an event with an ack and returns the ack's argument, skipping
// other events.
func (s *Socket) Call(event, payload string) map[string]any {
	s.t.Helper()
	return s.Await(s.Send(event, payload))
}

// Send emits an event (payload "" for none) with an ack and returns the
// ack's id.
func (s *Socket) Send(event, payload string) string {
	s.t.Helper()
	s.ack++
	id := fmt.Sprint(s.ack)
	args := `"` + event + `"`
	if payload != "" {
		args += "," + payload
	}
	s.Write("42" + id + "[" + args + "]")
	return id
}

// Await returns the argument of ack id, skipping other events (and acks
// sent before it: a connection's acks come in the order of its events).
func (s *Socket) Await(id string) map[string]any {
	s.t.Helper()
	for {
		frame := s.Read()
		if rest, ok := strings.CutPrefix(frame, "43"+id+"["); ok {
			var reply map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &reply); err != nil {
				s.t.Fatalf("ack %q: %v", frame, err)
			}
			return reply
		}
	}
}

// Join joins the queue, waiting (with a deadline) for a server that has
// just started to listen to its store: until then it refuses state
// changes as temporarily unavailable.
func (s *Socket) Join(profile string) {
	s.t.Helper()
	eventually.True(s.t, 10*time.Second, func() (bool, string) {
		reply := s.Call("join-queue", profile)
		if reply["ok"] == true {
			return true, ""
		}
		if reply["error"] != "temporarily unavailable" {
			s.t.Fatalf("join: %v", reply)
		}
		return false, fmt.Sprintf("join: %v", reply)
	})
}

// Conn is the websocket, for a test that writes or reads what the helpers
// above would not (frames past a closed budget, a close).
func (s *Socket) Conn() *websocket.Conn { return s.conn }
