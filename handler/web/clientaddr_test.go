package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/zivro/zivro/handler/clientaddr"
)

// The Socket.IO endpoint sees the client's resolved address as the
// request's RemoteAddr: Conn.Addr, and so the blocks and cool-downs keyed
// on it, use the address that the per-address limits count. A platform
// header is believed from anyone when no proxy is named, and only from a
// named proxy when some are.
func TestSocketIOEndpointGetsTheResolvedAddress(t *testing.T) {
	tests := []struct {
		name, proxies, header, peer, xff, realIP, want string
	}{
		{"no trusted proxy", "", "", "192.0.2.1", "203.0.113.9", "198.51.100.4", "192.0.2.1"},
		{"trusted proxy", "192.0.2.0/24", "", "192.0.2.1", "203.0.113.9", "198.51.100.4", "203.0.113.9"},
		{"untrusted peer's forwarded-for", "10.0.0.0/8", "", "192.0.2.1", "203.0.113.9", "198.51.100.4", "192.0.2.1"},
		{"platform header alone", "", "X-Real-IP", "192.0.2.1", "", "198.51.100.4", "198.51.100.4"},
		{"platform header from a trusted proxy", "10.0.0.0/8", "X-Real-IP", "10.1.2.3", "", "198.51.100.4", "198.51.100.4"},
		{"platform header from a trusted address", "192.0.2.1", "X-Real-IP", "192.0.2.1", "", "198.51.100.4", "198.51.100.4"},
		{"platform header from an untrusted peer", "10.0.0.0/8", "X-Real-IP", "192.0.2.1", "", "198.51.100.4", "192.0.2.1"},
		{"untrusted peer with both headers", "10.0.0.0/8", "X-Real-IP", "192.0.2.1", "203.0.113.9", "198.51.100.4", "192.0.2.1"},
		{"platform header from an untrusted IPv6 peer", "10.0.0.0/8", "X-Real-IP", "[2001:db8::7]", "", "198.51.100.4", "2001:db8::7"},
		{"platform header from a trusted IPv6 proxy", "fd00::/8", "X-Real-IP", "[fd00::1]", "", "2001:db8::9", "2001:db8::9"},
		{"platform header without an address", "", "X-Real-IP", "192.0.2.1", "", "not an address", "192.0.2.1"},
		{"platform header missing", "10.0.0.0/8", "X-Real-IP", "10.1.2.3", "", "", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := clientaddr.ParseConfig(tt.proxies, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			endpoint := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr })
			router := New(Config{ClientAddr: cfg, Counts: &fakeCounter{}}, nopPinger{}, endpoint, slog.New(slog.NewTextHandler(io.Discard, nil)))
			req := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil)
			req.RemoteAddr = tt.peer + ":4321"
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.realIP != "" {
				req.Header.Set("X-Real-IP", tt.realIP)
			}
			router.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Fatalf("endpoint saw RemoteAddr %q, want %q", got, tt.want)
			}
		})
	}
}
