package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/engine"
)

// closeReasons records why each session closed.
type closeReasons struct {
	mu      sync.Mutex
	opened  int
	events  int // events received, by all sessions
	reasons map[string]int
}

func (c *closeReasons) connect(*Conn) Session {
	c.mu.Lock()
	c.opened++
	c.mu.Unlock()
	return reasonSession{c}
}

type reasonSession struct{ c *closeReasons }

func (s reasonSession) Event(Event) {
	s.c.mu.Lock()
	s.c.events++
	s.c.mu.Unlock()
}
func (s reasonSession) Closed(reason string) {
	s.c.mu.Lock()
	s.c.reasons[reason]++
	s.c.mu.Unlock()
}

// count is how many sessions opened, how many closed with reason, and
// how many events they all received.
func (c *closeReasons) count(reason string) (opened, closed, events int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, c.reasons[reason], c.events
}

// widenPingWindow makes the goroutine that writes a ping, for every
// session, pause for d after the write and before the library arms the
// ping's timeout: the window the defect needs (heartbeat.go), which the
// scheduler opens now and then by itself, held open long enough for a
// client on the same machine to answer in it. The library emits "flush"
// and "drain" around a write, under its flush lock.
func widenPingWindow(s *Server, d time.Duration) {
	_ = s.io.Engine().On("connection", func(args ...any) {
		conn := args[0].(engine.Socket)
		var pinged atomic.Bool
		_ = conn.On("flush", func(args ...any) {
			wbuf, _ := args[0].([]*packet.Packet)
			for _, p := range wbuf {
				if p.Type == packet.PING {
					pinged.Store(true)
				}
			}
		})
		_ = conn.On("drain", func(...any) {
			if pinged.Swap(false) {
				time.Sleep(d)
			}
		})
	})
}

// A client that answers every ping at once keeps its session: before the
// fix, a pong handled before the library armed its ping's timeout left
// that timeout to fire, and the session was closed "ping timeout" (every
// session here, the window held open; 9 of 132 without that). Websocket
// sessions have the wall's heartbeat (wsheartbeat.go), which arms the
// timeout before the ping: the window's widening reaches only the
// library's pings, on polling; the websocket case tests the wall's.
func TestAnsweredPingsKeepTheSession(t *testing.T) {
	const (
		// The defect needs an interval longer than the timeout (a ping
		// after a shorter one clears the stray timeout); the timeout is
		// long enough for a pong under -race on a busy machine.
		interval = 600 * time.Millisecond
		timeout  = 400 * time.Millisecond
		sessions = 16
		// Long enough for four pings; every client must answer three.
		lasting  = 3 * time.Second
		minPings = 3
	)
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			s := New(t.Context(), Options{
				PingInterval: interval,
				PingTimeout:  timeout,
				Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			reasons := &closeReasons{reasons: map[string]int{}}
			s.OnConnect(reasons.connect)
			widenPingWindow(s, timeout/4)
			srv := httptest.NewServer(s)
			t.Cleanup(func() { srv.Close(); s.Close() })

			ctx, cancel := context.WithTimeout(t.Context(), lasting)
			defer cancel()
			var wg sync.WaitGroup
			for i := range sessions {
				wg.Go(func() {
					pings, err := answerPings(ctx, srv.URL, transport)
					switch {
					case err != nil:
						t.Errorf("client %d, after %d pings: %v", i, pings, err)
					case pings < minPings:
						t.Errorf("client %d answered %d pings in %v, want at least %d", i, pings, lasting, minPings)
					}
				})
			}
			wg.Wait()
			if opened, timedOut, _ := reasons.count("ping timeout"); opened != sessions || timedOut != 0 {
				t.Errorf("%d of %d sessions closed \"ping timeout\" although they answered every ping (%d opened)", timedOut, sessions, opened)
			}
		})
	}
}

// answerPings opens a session on transport, joins the namespace and
// answers every ping at once until ctx is done; it returns how many pings
// it answered, and an error when the session ended before.
func answerPings(ctx context.Context, url, transport string) (int, error) {
	if transport == "websocket" {
		return answerPingsOverWebsocket(ctx, url)
	}
	return answerPingsOverPolling(ctx, url)
}

func answerPingsOverWebsocket(ctx context.Context, url string) (int, error) {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	if _, _, err := conn.ReadMessage(); err != nil {
		return 0, fmt.Errorf("open packet: %w", err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	pings := 0
	for {
		_, msg, err := conn.ReadMessage()
		if ctx.Err() != nil {
			return pings, nil
		}
		if err != nil {
			return pings, fmt.Errorf("session ended: %w", err)
		}
		if string(msg) == "2" {
			if err := conn.WriteMessage(websocket.TextMessage, []byte("3")); err != nil {
				return pings, fmt.Errorf("pong: %w", err)
			}
			pings++
		}
	}
}

func answerPingsOverPolling(ctx context.Context, url string) (int, error) {
	base := url + "/socket.io/?EIO=4&transport=polling"
	body, err := poll(ctx, http.MethodGet, base, "")
	if err != nil {
		return 0, fmt.Errorf("handshake: %w", err)
	}
	var o struct{ Sid string }
	if len(body) < 2 || json.Unmarshal([]byte(body[1:]), &o) != nil {
		return 0, fmt.Errorf("open packet %q", body)
	}
	base += "&sid=" + o.Sid
	if _, err := poll(ctx, http.MethodPost, base, "40"); err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	pings := 0
	for {
		body, err := poll(ctx, http.MethodGet, base, "")
		if ctx.Err() != nil {
			return pings, nil
		}
		if err != nil {
			return pings, fmt.Errorf("session ended: %w", err)
		}
		for p := range strings.SplitSeq(body, "\x1e") {
			switch p {
			case "1":
				return pings, errors.New("session ended: close packet")
			case "2":
				if _, err := poll(ctx, http.MethodPost, base, "3"); err != nil && ctx.Err() == nil {
					return pings, fmt.Errorf("pong: %w", err)
				}
				pings++
			}
		}
	}
}

// poll sends one polling request and returns the body of its 200 answer.
func poll(ctx context.Context, method, url, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s %s", method, res.Status, b)
	}
	return string(b), nil
}
