package socketio

import (
	"encoding/base64"
	"encoding/binary"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io/v2/utils"
)

// IsHandshake must be the engine's own rule: for every spelling of the
// session id, on both transports, it says "handshake" exactly when the
// engine behind the wall opens a session for the request.
func TestIsHandshakeIsTheEnginesRule(t *testing.T) {
	s := New(t.Context(), Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.OnConnect(func(*Conn) Session { return discard{} })
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()

	tests := []struct {
		name, query string
		handshake   bool
	}{
		{"sid absent", "", true},
		{"sid without a value", "&sid", true},
		{"sid empty", "&sid=", true},
		{"sid empty twice", "&sid=&sid=", true},
		{"empty sid first, then one", "&sid=&sid=abc", true},
		{"sid dropped by the query parser", "&sid=abc;x", true},
		{"sid in capitals is another name", "&SID=abc", true},
		{"sid", "&sid=abc", false},
		{"sid first, then an empty one", "&sid=abc&sid=", false},
		{"sid percent-encoded name", "&%73id=abc", false},
	}
	for _, tt := range tests {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(tt.name+"/"+transport, func(t *testing.T) {
				target := "/socket.io/?EIO=4&transport=" + transport + tt.query
				r := httptest.NewRequest(http.MethodGet, target, nil)
				if transport == "websocket" {
					r.Header.Set("Upgrade", "websocket")
				}
				if got := IsHandshake(r); got != tt.handshake {
					t.Errorf("IsHandshake(%q) = %v, want %v", target, got, tt.handshake)
				}
				if opened := engineOpens(t, srv.URL, target, transport); opened != tt.handshake {
					t.Errorf("the engine opened a session for %q: %v, want %v", target, opened, tt.handshake)
				}
			})
		}
	}
}

// engineOpens reports whether the server answers target with an Engine.IO
// open packet, that is, opens a new session.
func engineOpens(t *testing.T, base, target, transport string) bool {
	t.Helper()
	if transport == "polling" {
		res, err := http.Get(base + target)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "0{") && strings.Contains(string(body), `"sid"`)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+target, nil)
	if err != nil {
		return false // refused before the upgrade
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	return err == nil && strings.HasPrefix(string(msg), "0{") && strings.Contains(string(msg), `"sid"`)
}

// The counter newIDCounter reaches is the one the library's ids end in: a
// reseeded value is the tail of the next id.
func TestIDCounterMatchesTheLibrary(t *testing.T) {
	ids, err := newIDCounter()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		ids.reseed()
		want := ids.n.Load()
		id, err := utils.Base64Id().GenerateId()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 18 {
			t.Fatalf("id %q: %d bytes, %v", id, len(raw), err)
		}
		if got := binary.BigEndian.Uint64(raw[10:]); got != want {
			t.Fatalf("id %q ends in %x, want the reseeded %x", id, got, want)
		}
	}
}
