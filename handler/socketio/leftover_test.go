package socketio

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
)

// Once a socket is connected, the library holds its handshake request no
// longer: the request is collected while the connection stays open, and
// the Conn still reports the address and the request id it carried.
func TestConnectedSocketsLetTheHandshakeRequestGo(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			s := New(t.Context(), Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			conns := make(chan *Conn, 1)
			s.OnConnect(func(c *Conn) Session {
				conns <- c
				return echoSession{conn: c}
			})
			// A value of the handshake request's context, collected only
			// once nothing holds the request.
			type marker struct{ _ [64]byte }
			type markerKey struct{}
			var collected atomic.Bool
			var marked atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := WithRequestID(r.Context(), "req-1")
				if IsHandshake(r) && marked.CompareAndSwap(false, true) {
					m := &marker{}
					runtime.AddCleanup(m, func(*atomic.Bool) { collected.Store(true) }, &collected)
					ctx = context.WithValue(ctx, markerKey{}, m)
				}
				s.ServeHTTP(w, r.WithContext(ctx))
			}))
			t.Cleanup(func() { srv.Close(); s.Close() })

			if transport == "websocket" {
				rawConnect(t, srv.URL, `40`)
			} else {
				pollConnect(t, srv.URL)
			}
			c := nextConn(t, conns)
			eventually.True(t, 5*time.Second, func() (bool, string) {
				runtime.GC()
				return collected.Load(), "the handshake request was not collected"
			})
			if !strings.HasPrefix(c.Addr(), "127.0.0.1:") || c.RequestID() != "req-1" {
				t.Errorf("Addr %q, RequestID %q; want the handshake's 127.0.0.1:port and req-1", c.Addr(), c.RequestID())
			}
			if hs := c.sock.Handshake(); hs.Headers != nil || hs.Query != nil || hs.Auth != nil {
				t.Errorf("handshake headers %v, query %v, auth %v kept", hs.Headers, hs.Query, hs.Auth)
			}
			if c.sock.Conn().ReadyState() != "open" {
				t.Errorf("connection %s, want open", c.sock.Conn().ReadyState())
			}
		})
	}
}

// pollConnect opens a polling session and sends its namespace connect; it
// returns the session's URL.
func pollConnect(t *testing.T, base string) string {
	t.Helper()
	code, open := get(t, base+"/socket.io/?EIO=4&transport=polling")
	if code != http.StatusOK || !strings.HasPrefix(open, `0{`) {
		t.Fatalf("handshake: %d %q", code, open)
	}
	var hs struct{ Sid string }
	if err := json.Unmarshal([]byte(open[1:]), &hs); err != nil {
		t.Fatalf("open packet %q: %v", open, err)
	}
	url := base + "/socket.io/?EIO=4&transport=polling&sid=" + hs.Sid
	if code, body := post(t, url, "40"); code != http.StatusOK {
		t.Fatalf("connect: %d %q", code, body)
	}
	return url
}
