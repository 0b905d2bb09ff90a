package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zivro/zivro/internal/redisproc"
)

// rawSocket is one Socket.IO client speaking the frames itself.
type rawSocket struct {
	t    *testing.T
	conn *websocket.Conn
	ack  int
}

// dialSocket opens a websocket to the server at url and connects to the
// default namespace; header is sent with the handshake. It returns the
// handshake's response when the server refuses it.
func dialSocket(t *testing.T, url string, header http.Header) (*rawSocket, *http.Response, error) {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, res, err := websocket.DefaultDialer.Dial(ws, header)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := &rawSocket{t: t, conn: conn}
	if open := s.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	s.write("40")
	if connect := s.read(); !strings.HasPrefix(connect, "40") {
		t.Fatalf("connect packet %q", connect)
	}
	return s, res, nil
}

func (s *rawSocket) write(frame string) {
	s.t.Helper()
	if err := s.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		s.t.Fatalf("write %q: %v", frame, err)
	}
}

// read returns the next frame other than a ping, answering pings.
func (s *rawSocket) read() string {
	s.t.Helper()
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if string(msg) == "2" {
			s.write("3")
			continue
		}
		return string(msg)
	}
}

// call emits an event with an ack and returns the ack's argument, skipping
// other events.
func (s *rawSocket) call(event, payload string) map[string]any {
	s.t.Helper()
	s.ack++
	id := fmt.Sprint(s.ack)
	args := `"` + event + `"`
	if payload != "" {
		args += "," + payload
	}
	s.write("42" + id + "[" + args + "]")
	for {
		frame := s.read()
		if rest, ok := strings.CutPrefix(frame, "43"+id+"["); ok {
			var reply map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &reply); err != nil {
				s.t.Fatalf("ack %q: %v", frame, err)
			}
			return reply
		}
	}
}

// A store that fails every request makes the server log a line per
// request: at most a bounded number of them reach the log, and a later line
// says how many were left out.
func TestRepeatedLogLinesAreBounded(t *testing.T) {
	redisSrv := redisproc.Start(t)
	redisSrv.Stop(t)
	url, stop, done, logs := startRunLogged(t, map[string]string{"REDIS_URL": redisSrv.URL()})
	defer func() { stop(); <-done }()
	const joins = 150
	for i := range joins {
		s, _, err := dialSocket(t, url, nil)
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		if reply := s.call("join-queue", `{"name":"x"}`); reply["ok"] != false {
			t.Fatalf("join while the store is down: %v", reply)
		}
	}
	passed, _ := logs.count("request failed", "")
	if passed >= joins {
		t.Fatalf("%d of %d failed requests logged a line each", passed, joins)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, suppressed := logs.count("request failed", "suppressed")
		if passed, _ = logs.count("request failed", ""); passed+int(suppressed) == joins {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines logged, %v reported suppressed: want %d in all", passed, suppressed, joins)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
