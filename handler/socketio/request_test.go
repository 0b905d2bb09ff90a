package socketio

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSlimRequestKeepsOnlyEngineParameters(t *testing.T) {
	big := strings.Repeat("x", 4096)
	tests := []struct {
		name, target, want string
	}{
		{"handshake", "/socket.io/?EIO=4&transport=websocket", "/socket.io/?EIO=4&transport=websocket"},
		{"cache buster and padding dropped", "/socket.io/?EIO=4&transport=polling&t=Pabc&pad=" + big, "/socket.io/?EIO=4&transport=polling"},
		{"session kept", "/socket.io/?EIO=4&transport=polling&sid=abc", "/socket.io/?EIO=4&sid=abc&transport=polling"},
		{"first value only", "/socket.io/?EIO=4&EIO=" + big + "&transport=polling", "/socket.io/?EIO=4&transport=polling"},
		{"legacy flags", "/socket.io/?EIO=3&transport=polling&b64=1&j=0", "/socket.io/?EIO=3&b64=1&j=0&transport=polling"},
		{"no query", "/socket.io/", "/socket.io/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			h := slimRequest(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }), nil)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tt.target, nil))
			if got.URL.String() != tt.want || got.RequestURI != tt.want {
				t.Errorf("library sees URL %q, RequestURI %q; want %q", got.URL, got.RequestURI, tt.want)
			}
		})
	}
}
