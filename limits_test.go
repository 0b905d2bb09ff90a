package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/rawsocket"
	"github.com/zivro/zivro/internal/redisproc"
)

// A store that fails every request makes the server log a line per
// request: at most a bounded number of them reach the log, and a later line
// says how many were left out. The store goes down once the server listens
// to it: before that, a join waits for it (queue.Service.waitReady).
func TestRepeatedLogLinesAreBounded(t *testing.T) {
	redisSrv := redisproc.Start(t)
	url, stop, done, logs := startRunLogged(t, map[string]string{
		"REDIS_URL": redisSrv.URL(),
		// One connection sends every join: lift its budget of state
		// changes.
		"COMMANDS_PER_SECOND": "100000",
	})
	defer func() { stop(); <-done }()
	// The log lets 50 lines through at once and 10 a second after; a
	// failing join takes a while (the Redis client's retries), so the
	// joins run side by side: 30 connections with 16 each (the most one
	// connection may have waiting), every one refused within a few
	// seconds on any machine.
	const sockets, perSocket = 30, 16
	var ss []*rawsocket.Socket
	for i := range sockets {
		s, _, err := rawsocket.Dial(t, url, nil)
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		ss = append(ss, s)
	}
	if reply := ss[0].Call("join-queue", `{"name":"x"}`); reply["ok"] != true {
		t.Fatalf("join with the store up: %v", reply)
	}
	if reply := ss[0].Call("leave-queue", ""); reply["ok"] != true {
		t.Fatalf("leave with the store up: %v", reply)
	}
	redisSrv.Stop(t)
	start := time.Now()
	ids := make([][]string, len(ss))
	for i, s := range ss {
		for range perSocket {
			ids[i] = append(ids[i], s.Send("join-queue", `{"name":"x"}`))
		}
	}
	for i, s := range ss {
		for _, id := range ids[i] {
			if reply := s.Await(id); reply["ok"] != false {
				t.Fatalf("socket %d: join while the store is down: %v", i, reply)
			}
		}
	}
	const joins = sockets * perSocket
	t.Logf("%d failed joins in %v", joins, time.Since(start))
	passed, _ := logs.count("request failed", "")
	if passed >= joins {
		t.Fatalf("%d of %d failed requests logged a line each", passed, joins)
	}
	eventually.True(t, 20*time.Second, func() (bool, string) {
		_, suppressed := logs.count("request failed", "suppressed")
		passed, _ = logs.count("request failed", "")
		return passed+int(suppressed) == joins, fmt.Sprintf("%d lines logged, %v reported suppressed: want %d in all", passed, suppressed, joins)
	})
}

// handshakeStatus opens a websocket handshake with header and returns its
// HTTP status (101 when it opened); the socket stays open until the test
// ends or close is called.
func handshakeStatus(t *testing.T, url string, header http.Header) (status int, close func()) {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, res, err := websocket.DefaultDialer.Dial(ws, header)
	if res == nil {
		t.Fatalf("handshake: %v", err)
	}
	if conn == nil {
		return res.StatusCode, func() {}
	}
	t.Cleanup(func() { _ = conn.Close() })
	return res.StatusCode, func() { _ = conn.Close() }
}

func xff(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

func TestConnectionsPerAddressAreCapped(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"MAX_CONNS_PER_IP": "3"})
	defer func() { stop(); <-done }()
	var closers []func()
	for i := range 3 {
		status, closeIt := handshakeStatus(t, url, nil)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("connection %d: status %d", i, status)
		}
		closers = append(closers, closeIt)
	}
	if status, _ := handshakeStatus(t, url, nil); status != http.StatusTooManyRequests {
		t.Fatalf("fourth websocket: status %d, want 429", status)
	}
	res, err := http.Get(url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("polling handshake over the limit: status %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// A connection that ends gives its place back.
	closers[0]()
	eventually.True(t, 20*time.Second, func() (bool, string) {
		status, _ := handshakeStatus(t, url, nil)
		return status == http.StatusSwitchingProtocols, fmt.Sprintf("after a connection closed, a new one still gets %d", status)
	})
}

// Every spelling of "no session id" opens a session, and is counted as
// one: an empty sid once walked around every per-address cap. The
// sessions are handshakes only, never connected to the namespace: a
// session counts from its handshake.
func TestEverySpellingOfAHandshakeIsCapped(t *testing.T) {
	for _, query := range []string{"", "&sid", "&sid=", "&sid=&sid=x"} {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(transport+query, func(t *testing.T) {
				url, stop, done := startRun(t, map[string]string{"MAX_CONNS_PER_IP": "3"})
				defer func() { stop(); <-done }()
				target := "/socket.io/?EIO=4&transport=" + transport + query
				for i := range 3 {
					if status := openSession(t, url, target); status != http.StatusOK {
						t.Fatalf("session %d: status %d, want an open packet", i, status)
					}
				}
				if status := openSession(t, url, target); status != http.StatusTooManyRequests {
					t.Fatalf("fourth session: status %d, want 429", status)
				}
			})
		}
	}
}

// openSession sends an Engine.IO handshake to target and returns 200 when
// it opened a session (the socket, for a websocket, stays open until the
// test ends), or the HTTP status of the refusal.
func openSession(t *testing.T, url, target string) int {
	t.Helper()
	if strings.Contains(target, "transport=polling") {
		res, err := http.Get(url + target)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode == http.StatusOK && !strings.HasPrefix(string(body), "0{") {
			t.Fatalf("polling handshake: %q", body)
		}
		return res.StatusCode
	}
	conn, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+target, nil)
	if err != nil {
		if res == nil {
			t.Fatalf("websocket handshake: %v", err)
		}
		return res.StatusCode
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, open, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(open), "0{") {
		t.Fatalf("websocket open packet %q, %v", open, err)
	}
	return http.StatusOK
}

func TestNewConnectionsPerAddressPerMinute(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"NEW_CONNS_PER_IP_PER_MINUTE": "3"})
	defer func() { stop(); <-done }()
	for i := range 3 {
		status, closeIt := handshakeStatus(t, url, nil)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("connection %d: status %d", i, status)
		}
		closeIt()
	}
	if status, _ := handshakeStatus(t, url, nil); status != http.StatusTooManyRequests {
		t.Fatalf("fourth connection within the minute: status %d, want 429", status)
	}
}

// The client's address comes from X-Forwarded-For only when the peer is a
// trusted proxy, or from the platform's header when one is configured.
func TestClientAddressBehindProxies(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		header func(addr string) http.Header
		// apart: two clients with different forwarded addresses count
		// separately.
		apart bool
	}{
		{"no trusted proxy: X-Forwarded-For ignored", map[string]string{}, xff, false},
		{"trusted proxy: X-Forwarded-For believed", map[string]string{"TRUSTED_PROXIES": "127.0.0.0/8"}, xff, true},
		{"trusted proxy: the client's own X-Forwarded-For entries are not", map[string]string{"TRUSTED_PROXIES": "127.0.0.1"},
			func(addr string) http.Header { return xff(addr + ", 198.51.100.7") }, false},
		{"platform header", map[string]string{"CLIENT_IP_HEADER": "X-Real-IP"},
			func(addr string) http.Header { return http.Header{"X-Real-Ip": {addr}} }, true},
		{"platform header from a trusted proxy", map[string]string{"CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "127.0.0.0/8"},
			func(addr string) http.Header { return http.Header{"X-Real-Ip": {addr}} }, true},
		{"platform header from an untrusted peer ignored", map[string]string{"CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "10.0.0.0/8"},
			func(addr string) http.Header { return http.Header{"X-Real-Ip": {addr}} }, false},
		{"IPv6 addresses of one /64 count as one", map[string]string{"TRUSTED_PROXIES": "127.0.0.1"},
			func(addr string) http.Header {
				return xff(map[string]string{"203.0.113.1": "2001:db8::1", "203.0.113.2": "2001:db8::2"}[addr])
			}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["MAX_CONNS_PER_IP"] = "1"
			url, stop, done := startRun(t, tt.env)
			defer func() { stop(); <-done }()
			if status, _ := handshakeStatus(t, url, tt.header("203.0.113.1")); status != http.StatusSwitchingProtocols {
				t.Fatalf("first client: status %d", status)
			}
			status, _ := handshakeStatus(t, url, tt.header("203.0.113.2"))
			if want := map[bool]int{true: http.StatusSwitchingProtocols, false: http.StatusTooManyRequests}[tt.apart]; status != want {
				t.Fatalf("second client: status %d, want %d", status, want)
			}
			if tt.apart {
				if status, _ := handshakeStatus(t, url, tt.header("203.0.113.1")); status != http.StatusTooManyRequests {
					t.Fatalf("first client again: status %d, want 429", status)
				}
			}
		})
	}
}

// A handshake the Socket.IO library refuses takes no place.
func TestRefusedHandshakeTakesNoPlace(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"MAX_CONNS_PER_IP": "1"})
	defer func() { stop(); <-done }()
	for range 3 {
		res, err := http.Get(url + "/socket.io/?EIO=3&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("Engine.IO 3 handshake: status %d, want 400", res.StatusCode)
		}
	}
	if status, _ := handshakeStatus(t, url, nil); status != http.StatusSwitchingProtocols {
		t.Fatalf("after refused handshakes: status %d", status)
	}
}

// Joins, Nexts, leaves, reports and blocks have a budget of their own, far
// below the events': beyond it they are refused with an error ack, and
// never reach the store.
func TestStateChangesHaveTheirOwnBudget(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{})
	defer func() { stop(); <-done }()
	s, _, err := rawsocket.Dial(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply := s.Call("join-queue", `{"name":"x"}`); reply["ok"] != true {
		t.Fatalf("join: %v", reply)
	}
	const nexts = 40
	for i := range nexts {
		s.Write(fmt.Sprintf(`42%d["next"]`, 100+i))
	}
	var ok, refused int
	for ok+refused < nexts {
		frame := s.Read()
		if !strings.HasPrefix(frame, "43") {
			continue
		}
		switch {
		case strings.Contains(frame, `"ok":true`):
			ok++
		case strings.Contains(frame, `"error":"too many state changes`):
			refused++
		default:
			t.Fatalf("ack %q", frame)
		}
	}
	if refused == 0 {
		t.Fatalf("%d Nexts in a burst all taken", nexts)
	}
	// Relays are not held back by the spent budget.
	if reply := s.Call("chat-message", `{"message":"hi"}`); reply["error"] != "no partner" {
		t.Fatalf("chat after the burst: %v", reply)
	}
}

// EVENTS_PER_SECOND sets each connection's event budget: at 2 a second (a
// burst of 4), 300 events at once get at most a few acks, and the
// connection is closed for going over more than 100 times. At the default
// budget (a burst of 1,000) all 300 would be answered and the connection
// kept.
func TestEventBudgetIsConfigurable(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"EVENTS_PER_SECOND": "2"})
	defer func() { stop(); <-done }()
	s, _, err := rawsocket.Dial(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	const events = 300
	for i := range events {
		// The server may close the connection before the last ones.
		if err := s.Conn().WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `42%d["chat-message",{"message":"hi"}]`, i)); err != nil {
			break
		}
	}
	acks := 0
	for {
		_ = s.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := s.Conn().ReadMessage()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection still open 10 s after %d events over a budget of 2/s (%d acks)", events, acks)
		}
		if err != nil {
			break // closed
		}
		if strings.HasPrefix(string(msg), "43") {
			acks++
		}
	}
	// The first few were answered, but their acks may be lost: a server
	// that closes with our events still unread resets the connection.
	if acks > 10 {
		t.Fatalf("%d of %d events answered at a budget of 2/s, burst 4", acks, events)
	}
}

// A request's line and headers are accepted up to the README's 16 KB
// (16,384 bytes, line ends included) and refused with 431 beyond, on the
// public port and on the metrics listener: net/http adds 4 KB of its own to
// MaxHeaderBytes.
func TestRequestHeadLimitIsExact(t *testing.T) {
	token := strongSecret // a weak token stops the start (secret.Check)
	url, stop, done, logs := startRunLogged(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0", "METRICS_TOKEN": token})
	defer func() { stop(); <-done }()
	metricsAddr := logs.addr(t, "metrics listening")
	tests := []struct {
		name, addr, path string
		extra            string // headers every request carries
	}{
		{"public port", strings.TrimPrefix(url, "http://"), "/livez", ""},
		{"metrics listener", metricsAddr, "/metrics", "Authorization: Bearer " + token + "\r\n"},
	}
	for _, tt := range tests {
		for _, size := range []int{maxRequestHead - 1, maxRequestHead, maxRequestHead + 1, maxRequestHead + 4096} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, size), func(t *testing.T) {
				want := http.StatusOK
				if size > maxRequestHead {
					want = http.StatusRequestHeaderFieldsTooLarge
				}
				if got := headStatus(t, tt.addr, tt.path, tt.extra, size); got != want {
					t.Fatalf("request head of %d bytes: status %d, want %d", size, got, want)
				}
			})
		}
	}
}

// headStatus sends to addr a GET of path whose request line and headers
// (with their line ends and the blank line) are size bytes, and returns the
// answer's status.
func headStatus(t *testing.T, addr, path, extra string, size int) int {
	t.Helper()
	head := "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + "X-Pad: \r\n\r\n"
	head = strings.Replace(head, "X-Pad: ", "X-Pad: "+strings.Repeat("p", size-len(head)), 1)
	if len(head) != size {
		t.Fatalf("built a head of %d bytes, want %d", len(head), size)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatalf("write: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}
