package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io/v2/socket"

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

// Once a socket is connected, each of its connection's event maps holds
// one copy of its entries (the library's maps keep a second, writable copy
// after a key is added until enough lookups miss), and the library's
// adapter no longer holds the room of the socket's own id.
func TestConnectedSocketsKeepOneCopyOfTheirMaps(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			base, conns := echoServer(t)
			if transport == "websocket" {
				rawConnect(t, base, `40`)
			} else {
				pollConnect(t, base)
			}
			c := nextConn(t, conns)
			sock := c.sock
			nsps, ok := fieldOf[*types.Map[string, *socket.Socket]](sock.Client(), "nsps")
			if !ok {
				t.Fatal("the library's client has no nsps map")
			}
			maps := map[string]reflect.Value{
				"socket": emitterMap(t, sock),
				"engine": emitterMap(t, sock.Conn()),
				"client": reflect.ValueOf(*nsps).Elem(),
			}
			if w, ok := sock.Conn().Transport().(*wsTransport); ok {
				// The wall's transport keeps the engine's listeners in
				// a slice (wsevents.go), the library's map stays empty.
				if n := w.Transport.Len(); n != 0 || w.events.ListenerCount("packet") != 1 {
					t.Errorf("the library's map of the transport holds %d events, the wall's %d packet listeners; want 0, 1", n, w.events.ListenerCount("packet"))
				}
			} else {
				maps["transport"] = emitterMap(t, sock.Conn().Transport())
			}
			// The maps are settled once the connect has run to its end,
			// just after the application heard it.
			eventually.True(t, 5*time.Second, func() (bool, string) {
				var doubled []string
				for name, m := range maps {
					if hasWritableCopy(t, m) {
						doubled = append(doubled, name)
					}
				}
				return len(doubled) == 0, fmt.Sprintf("two copies of the maps of %v", doubled)
			})
			adapter := sock.Nsp().Adapter()
			if _, ok := adapter.Rooms().Load(socket.Room(sock.Id())); ok {
				t.Error("the adapter holds the room of the socket's id")
			}
			if _, ok := adapter.Sids().Load(sock.Id()); ok {
				t.Error("the adapter holds the socket's rooms")
			}
			if c.sock.Conn().ReadyState() != "open" {
				t.Errorf("connection %s, want open", c.sock.Conn().ReadyState())
			}
		})
	}
}

// hasWritableCopy reports whether m, one of the library's maps, holds a
// second, writable copy of its entries (read under the map's lock).
func hasWritableCopy(t *testing.T, m reflect.Value) bool {
	t.Helper()
	mu, ok := fieldOf[sync.Mutex](reflect.NewAt(m.Type(), unsafe.Pointer(m.UnsafeAddr())).Interface(), "mu")
	if !ok {
		t.Fatal("the library's map has no mutex named mu")
	}
	mu.Lock()
	defer mu.Unlock()
	return !m.FieldByName("dirty").IsNil()
}

// emitterMap is the listener map of the library's event emitter that v is
// or embeds.
func emitterMap(t *testing.T, v any) reflect.Value {
	t.Helper()
	m, ok := findEmitterMap(reflect.ValueOf(v))
	if !ok {
		t.Fatalf("no event emitter in %T", v)
	}
	return m
}

func findEmitterMap(v reflect.Value) (reflect.Value, bool) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	if m := v.FieldByName("evtListeners"); m.IsValid() {
		return m, true
	}
	for i := range v.NumField() {
		if v.Type().Field(i).Anonymous {
			if m, ok := findEmitterMap(v.Field(i)); ok {
				return m, true
			}
		}
	}
	return reflect.Value{}, false
}
