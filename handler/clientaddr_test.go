package handler

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The Socket.IO endpoint sees the client's resolved address as the
// request's RemoteAddr: Conn.Addr, and so the blocks and cool-downs keyed
// on it, use the address that the per-address limits count.
func TestSocketIOEndpointGetsTheResolvedAddress(t *testing.T) {
	tests := []struct {
		name, proxies, header, xff, want string
	}{
		{"no trusted proxy", "", "", "203.0.113.9", "192.0.2.1"},
		{"trusted proxy", "192.0.2.0/24", "", "203.0.113.9", "203.0.113.9"},
		{"platform header", "", "X-Real-IP", "", "198.51.100.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseClientAddrConfig(tt.proxies, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			endpoint := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr })
			router := NewRouter(HTTPConfig{ClientAddr: cfg, Counts: &fakeCounter{}}, nopPinger{}, endpoint, slog.New(slog.NewTextHandler(io.Discard, nil)))
			req := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil)
			req.RemoteAddr = "192.0.2.1:4321"
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			req.Header.Set("X-Real-IP", "198.51.100.4")
			router.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Fatalf("endpoint saw RemoteAddr %q, want %q", got, tt.want)
			}
		})
	}
}
