package socketio

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Once draining, a handshake (no sid) is refused with 503 and Retry-After;
// a request of an open session (with its sid) still reaches the engine.
func TestDrainRefusesNewSessions(t *testing.T) {
	s := New(t.Context(), Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.OnConnect(func(*Conn) Session { return discard{} })
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(query string) *http.Response {
		t.Helper()
		res, err := http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling" + query)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	if res := get(""); res.StatusCode != http.StatusOK {
		t.Fatalf("handshake before Drain: %d, want 200", res.StatusCode)
	}
	s.Drain()
	res := get("")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("handshake while draining: %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if res := get("&sid=unknown"); res.StatusCode == http.StatusServiceUnavailable {
		t.Fatalf("request of a session while draining: 503, want it passed to the engine")
	}
}
