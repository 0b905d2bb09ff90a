package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// scripted is a one-connection Engine.IO v4 peer that checks what the client
// sends, frame by frame.
func scripted(t *testing.T, script func(conn *websocket.Conn)) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/socket.io/" || r.URL.Query().Get("EIO") != "4" || r.URL.Query().Get("transport") != "websocket" {
			t.Errorf("request %s", r.URL)
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		script(conn)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func send(t *testing.T, conn *websocket.Conn, s string) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Errorf("write %q: %v", s, err)
	}
}

func expect(t *testing.T, conn *websocket.Conn, want string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := conn.ReadMessage()
	if err != nil {
		t.Errorf("read, want %q: %v", want, err)
		return
	}
	if string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestClientProtocol(t *testing.T) {
	finished := make(chan struct{})
	url := scripted(t, func(conn *websocket.Conn) {
		defer close(finished)
		send(t, conn, `0{"sid":"eng1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`)
		expect(t, conn, "40")
		send(t, conn, `40{"sid":"sock1"}`)
		send(t, conn, `2`)
		expect(t, conn, "3")
		send(t, conn, `42["matched",{"roomId":"r1","partnerId":"sock2","partnerName":"Bo","isInitiator":true}]`)
		expect(t, conn, `42["join-queue",{"name":"Al","gender":"male","region":"asia"}]`)
		expect(t, conn, `421["next"]`)
		send(t, conn, `431[{"ok":false,"error":"too many events"}]`)
		send(t, conn, `427["partner-left",{"reason":"next"}]`)
		expect(t, conn, `437[]`)
	})
	events := make(chan Event, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, DialOptions{Handler: func(_ *Client, ev Event) { events <- ev }})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if c.SID != "sock1" || c.EngineSID != "eng1" || c.PingInterval != 300*time.Millisecond {
		t.Errorf("handshake: sid %q engine %q ping %v", c.SID, c.EngineSID, c.PingInterval)
	}
	ev := <-events
	var m matchedMsg
	if err := json.Unmarshal(ev.Data, &m); ev.Name != "matched" || err != nil || m.PartnerID != "sock2" || !m.IsInitiator {
		t.Errorf("event %s %s: %v", ev.Name, ev.Data, err)
	}
	if err := c.Emit("join-queue", profile{Name: "Al", Gender: "male", Region: "asia"}); err != nil {
		t.Fatal(err)
	}
	r, err := c.EmitAck(ctx, "next", nil)
	if err != nil || string(r) != `[{"ok":false,"error":"too many events"}]` {
		t.Errorf("ack %s: %v", r, err)
	}
	if ev := <-events; ev.Name != "partner-left" || string(ev.Data) != `{"reason":"next"}` {
		t.Errorf("event %s %s", ev.Name, ev.Data)
	}
	if c.Pings() != 1 {
		t.Errorf("pings %d", c.Pings())
	}
	select {
	case <-finished:
	case <-ctx.Done():
		t.Error("script did not finish")
	}
}

func TestClientRedialsWithoutConnectReply(t *testing.T) {
	var calls atomic.Int32
	url := scripted(t, func(conn *websocket.Conn) {
		n := calls.Add(1)
		send(t, conn, `0{"sid":"eng","pingInterval":25000,"pingTimeout":20000}`)
		expect(t, conn, "40")
		if n == 1 {
			time.Sleep(500 * time.Millisecond) // the reply never comes
			return
		}
		send(t, conn, `40{"sid":"s2"}`)
		_, _, _ = conn.ReadMessage()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, DialOptions{ConnectWait: 200 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if c.SID != "s2" || c.Redials != 1 {
		t.Errorf("sid %q redials %d", c.SID, c.Redials)
	}
}

func TestClientConnectRefused(t *testing.T) {
	url := scripted(t, func(conn *websocket.Conn) {
		send(t, conn, `0{"sid":"eng","pingInterval":25000,"pingTimeout":20000}`)
		expect(t, conn, "40")
		send(t, conn, `44{"message":"not authorized"}`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, url, DialOptions{}); err == nil {
		t.Fatal("dial succeeded after a connect error")
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		in, name, data string
		bad            bool
	}{
		{in: `["next"]`, name: "next"},
		{in: `["matched",{"roomId":"r]}","partnerId":"a\"b"}]`, name: "matched", data: `{"roomId":"r]}","partnerId":"a\"b"}`},
		{in: `["signal",{"from":"x","data":{"sdp":"v=0\r\n{["}},{"extra":1}]`, name: "signal", data: `{"from":"x","data":{"sdp":"v=0\r\n{["}}`},
		{in: `["chat-message", "hi, there" ]`, name: "chat-message", data: `"hi, there"`},
		{in: `["n",42]`, name: "n", data: `42`},
		{in: `["n",[1,[2]],3]`, name: "n", data: `[1,[2]]`},
		{in: `["we\"ird",true]`, name: `we"ird`, data: `true`},
		{in: `{"a":1}`, bad: true},
		{in: `["n",{"a":1]`, bad: true},
		{in: `["n" {}]`, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			ev, err := parseEvent([]byte(tc.in))
			if tc.bad {
				if err == nil {
					t.Fatalf("parsed %q as %q %s", tc.in, ev.Name, ev.Data)
				}
				return
			}
			if err != nil || ev.Name != tc.name || string(ev.Data) != tc.data {
				t.Fatalf("got %q %q %v, want %q %q", ev.Name, ev.Data, err, tc.name, tc.data)
			}
		})
	}
}

// TestClientResume: a resumable client's connect carries auth {resume:
// true}, it keeps the pid of the reply, takes each event's offset off its
// last argument before the handler sees the event, keeps the last one, and
// its reconnect sends {resume: true, pid, offset}.
func TestClientResume(t *testing.T) {
	var calls atomic.Int32
	finished := make(chan struct{}, 2)
	url := scripted(t, func(conn *websocket.Conn) {
		defer func() { finished <- struct{}{} }()
		send(t, conn, `0{"sid":"eng","pingInterval":25000,"pingTimeout":20000}`)
		if calls.Add(1) == 1 {
			expect(t, conn, `40{"resume":true}`)
			send(t, conn, `40{"sid":"s1","pid":"s1.secret"}`)
			send(t, conn, `42["matched",{"roomId":"r1","partnerId":"s2"},"0"]`)
			send(t, conn, `42["partner-left","1"]`)
			send(t, conn, `42["chat-message" , "a \"quoted\", [string]" , "2" ]`)
			send(t, conn, `427["signal",{"from":"s2","data":["x","y"]},"3"]`)
			expect(t, conn, `437[]`)
			return
		}
		expect(t, conn, `40{"resume":true,"pid":"s1.secret","offset":"3"}`)
		send(t, conn, `40{"sid":"s1","pid":"s1.secret"}`)
		send(t, conn, `42["chat-message",{"message":"missed"},"4"]`)
		_, _, _ = conn.ReadMessage()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	events := make(chan Event, 8)
	h := func(_ *Client, ev Event) { events <- ev }
	c, err := Dial(ctx, url, DialOptions{Resume: true, Handler: h})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if c.SID != "s1" || c.PID != "s1.secret" {
		t.Errorf("sid %q pid %q", c.SID, c.PID)
	}
	want := []Event{
		{Name: "matched", Data: json.RawMessage(`{"roomId":"r1","partnerId":"s2"}`), Offset: "0"},
		{Name: "partner-left", Offset: "1"},
		{Name: "chat-message", Data: json.RawMessage(`"a \"quoted\", [string]"`), Offset: "2"},
		{Name: "signal", Data: json.RawMessage(`{"from":"s2","data":["x","y"]}`), Offset: "3"},
	}
	for _, w := range want {
		select {
		case ev := <-events:
			if ev.Name != w.Name || string(ev.Data) != string(w.Data) || ev.Offset != w.Offset {
				t.Errorf("event %q %s offset %q, want %q %s offset %q", ev.Name, ev.Data, ev.Offset, w.Name, w.Data, w.Offset)
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", w.Name)
		}
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the first connection did not end")
	}
	if c.Offset() != "3" {
		t.Errorf("last offset %q, want 3", c.Offset())
	}
	c2, err := Dial(ctx, url, DialOptions{Resume: true, PID: c.PID, Offset: c.Offset(), Handler: h})
	if err != nil {
		t.Fatalf("redial: %v", err)
	}
	if ev := <-events; ev.Name != "chat-message" || string(ev.Data) != `{"message":"missed"}` || ev.Offset != "4" {
		t.Errorf("replayed event %q %s offset %q", ev.Name, ev.Data, ev.Offset)
	}
	if c2.SID != "s1" || c2.PID != "s1.secret" || c2.Offset() != "4" {
		t.Errorf("resumed: sid %q pid %q offset %q", c2.SID, c2.PID, c2.Offset())
	}
	_ = c2.Close()
	for range 2 {
		select {
		case <-finished:
		case <-ctx.Done():
			t.Fatal("script did not finish")
		}
	}
}

// TestClientNoPIDNoOffsets: without a pid in the connect reply (a client
// that did not opt in, or a server that does not resume), a trailing
// string argument is the event's own.
func TestClientNoPIDNoOffsets(t *testing.T) {
	url := scripted(t, func(conn *websocket.Conn) {
		send(t, conn, `0{"sid":"eng","pingInterval":25000,"pingTimeout":20000}`)
		expect(t, conn, `40{"resume":true}`)
		send(t, conn, `40{"sid":"s1"}`)
		send(t, conn, `42["note","7"]`)
		_, _, _ = conn.ReadMessage()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	events := make(chan Event, 1)
	c, err := Dial(ctx, url, DialOptions{Resume: true, Handler: func(_ *Client, ev Event) { events <- ev }})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if ev := <-events; ev.Name != "note" || string(ev.Data) != `"7"` || ev.Offset != "" || c.Offset() != "" || c.PID != "" {
		t.Errorf("event %q %s offset %q; client offset %q pid %q", ev.Name, ev.Data, ev.Offset, c.Offset(), c.PID)
	}
}

func TestCutLastString(t *testing.T) {
	tests := []struct {
		in, rest, last string
		ok             bool
	}{
		{in: `["next","0"]`, rest: `["next"]`, last: "0", ok: true},
		{in: `["matched",{"roomId":"r]}\"","x":[1,"2"]},"17"]`, rest: `["matched",{"roomId":"r]}\"","x":[1,"2"]}]`, last: "17", ok: true},
		{in: `[ "a" , 1 , "9" ]`, rest: `[ "a" , 1]`, last: "9", ok: true},
		{in: `["a","x\"y"]`, rest: `["a"]`, last: `x"y`, ok: true},
		{in: `["a"]`},
		{in: `["a",{"b":1}]`},
		{in: `["a",5]`},
		{in: `["a","1"`},
		{in: `["a" "1"]`},
		{in: `["a","1"]x`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			rest, last, ok := cutLastString([]byte(tc.in))
			if ok != tc.ok || string(rest) != tc.rest || last != tc.last {
				t.Fatalf("got %q %q %v, want %q %q %v", rest, last, ok, tc.rest, tc.last, tc.ok)
			}
		})
	}
}
